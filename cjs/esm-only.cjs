// turnstate is published as ES modules only; this file is what `require()` resolves to,
// so CommonJS callers get a message that says what to do instead of ERR_PACKAGE_PATH_NOT_EXPORTED.
const error = new Error(
  "turnstate is ESM-only and cannot be loaded with require(). Use `import { parseTurn } from 'turnstate'` " +
    "in an ES module (\"type\": \"module\" or a .mjs file), or `const { parseTurn } = await import('turnstate')` from CommonJS.",
);
error.code = 'ERR_TURNSTATE_ESM_ONLY';
throw error;
