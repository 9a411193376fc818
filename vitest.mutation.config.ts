import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// Used by stryker.config.mjs when STRYKER_TESTS is set (a glob, e.g. test/assemble/partial-json.test.ts): the suite
// narrowed for a one-file run. Instrumented code runs several times slower, hence the longer test timeout.
const tests = process.env['STRYKER_TESTS'];
export default tests === undefined ? base : mergeConfig(base, defineConfig({ test: { include: [tests], testTimeout: 300_000 } }));
