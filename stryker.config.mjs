// Mutation testing of the core (issue 13): `npm run test:mutation`. Not part of `npm test` or CI: even with
// ignoreStatic a full run takes far longer than a test run on a small machine. Measure one file with
// `STRYKER_TESTS=test/assemble/partial-json.test.ts nice -n 19 npx stryker run --mutate src/assemble/partial-json.ts --concurrency 1`
// (STRYKER_TESTS is one glob; braces list several files); the incremental file makes a re-run after a change
// re-test only the mutants whose code or covering tests changed.
// Mutants judged equivalent (no observable change) are listed in stryker.equivalent-mutants.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  // STRYKER_TESTS=test/assemble/partial-json.test.ts (a glob) narrows the tests so that a one-file run fits on a loaded
  // machine; a mutant only a test elsewhere would kill then counts as survived, so such a score is a lower bound.
  vitest: process.env.STRYKER_TESTS ? { configFile: 'vitest.mutation.config.ts', related: false } : { configFile: 'vitest.config.ts' },
  // The whole suite with per-test coverage takes far more than the default 5 minutes here.
  dryRunTimeoutMinutes: 45,
  mutate: [
    'machines/stream.machine.ts',
    'src/assemble/assembler.ts',
    'src/assemble/partial-json.ts',
    'src/sse/framer.ts',
    'src/sse/utf8-stream.ts',
    'src/sse/payload-offsets.ts',
    'src/controller/steps.ts',
    'src/controller/budget.ts',
    // The journal: the delta (what a record holds, how load rebuilds the state), the writer (numbering, coalescing,
    // fail-once), the file store (append, truncate-back, compaction, the reader) and the lease (one owner).
    // Not schema.ts (a zod declaration: module-level, so static mutants, and its checks are zod's), fs.ts (thin
    // wrappers over node:fs, faulted by injection) or store.ts (the in-memory store tests use).
    'src/controller/journal/delta.ts',
    'src/controller/journal/writer.ts',
    'src/controller/journal/file-store.ts',
    'src/controller/journal/lease.ts',
  ],
  // Static mutants (module-level constants) re-run the whole suite per mutant: a full run took ~110 min here with them.
  ignoreStatic: true,
  coverageAnalysis: 'perTest',
  concurrency: 2,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  timeoutMS: 60_000,
};
