// Loaded only by vitest.mutation.config.ts (Stryker's narrowed runs): once a property fails, the mutant is killed,
// so fast-check need not shrink the counterexample — shrinking was most of the time a killed mutant took. Pass or
// fail is the same either way.
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });
