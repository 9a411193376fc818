import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// Used by stryker.config.mjs when STRYKER_TESTS is set (a glob, e.g. test/assemble/partial-json.test.ts, or
// test/controller/{budgets,steps}.test.ts): the suite narrowed for a one-file run. Instrumented code runs several
// times slower, hence the longer test timeout. `include` is replaced, not merged: mergeConfig concatenates arrays,
// which kept the whole suite's glob and made every "narrowed" run a whole-suite run.
const tests = process.env['STRYKER_TESTS'];
// test/support/mutation-setup.ts stops fast-check at the first failing run (no shrinking): a killed mutant is killed either way.
const narrowed = tests === undefined ? base : mergeConfig(base, defineConfig({ test: { testTimeout: 300_000, setupFiles: ['test/support/mutation-setup.ts'] } }));
if (tests !== undefined) narrowed.test = { ...narrowed.test, include: [tests] };
export default narrowed;
