import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// Used by stryker.config.mjs when STRYKER_TEST_DIR is set: the suite narrowed to one test folder.
const dir = process.env['STRYKER_TEST_DIR'];
export default dir === undefined ? base : mergeConfig(base, defineConfig({ test: { include: [`${dir.replace(/\/$/, '')}/**/*.test.ts`] } }));
