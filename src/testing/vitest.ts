/**
 * `turnstate/testing/vitest`: the cassette helper for vitest suites. A
 * subpath of its own because it imports vitest (beforeAll / afterAll), and
 * `turnstate/testing` must load in any test runner — or none.
 */
export { useCassette, cassetteMode, type CassetteHandle, type CassetteMode, type UseCassetteOptions } from './cassette-vitest.js';
