import fc from 'fast-check';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import { describe, expect, it } from 'vitest';
import { outputResult, thrownResult } from '../../src/controller/tool-result.js';
import type { ToolResult } from '../../src/controller/types.js';

/** What main did before: arrays pass as they are, String() of whatever was thrown. */
const brokenOutput = (output: unknown): ToolResult => ({
  content: (typeof output === 'string' || Array.isArray(output) ? output : output === undefined || output === null ? '' : JSON.stringify(output)) as ToolResult['content'],
  is_error: false,
});
const brokenThrown = (error: unknown): ToolResult => ({ content: `Error: ${error instanceof Error ? error.message : String(error)}`, is_error: true });
/** A validator that guesses: any object with a string `type` is a block. */
const guessingOutput = (output: unknown): ToolResult =>
  Array.isArray(output) && output.every((b) => typeof b === 'object' && b !== null && typeof (b as { type?: unknown }).type === 'string')
    ? { content: output as ToolResult['content'], is_error: false }
    : outputResult(output);

const hostile = (): unknown[] => {
  const toStringThrows = { toString: () => { throw new Error('toString!'); } };
  const getterThrows = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('getter!'); } });
  const proxy = new Proxy({}, { get: () => { throw new Error('trap!'); }, ownKeys: () => { throw new Error('trap!'); }, getPrototypeOf: () => { throw new Error('trap!'); } });
  const badMessage = Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('message!'); } });
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const toJsonThrows = { toJSON: () => { throw new Error('toJSON!'); } };
  const toJsonSymbol = { toJSON: () => Symbol('s') };
  return [Object.create(null), toStringThrows, getterThrows, proxy, badMessage, cyclic, toJsonThrows, toJsonSymbol, Symbol('sym'), undefined, null, 10n, () => 1, NaN];
};

/** Content is wire-safe: JSON round-trips it exactly, and an array holds only the SDK's block types. */
function wireSafe(result: ToolResult): void {
  expect(typeof result.is_error).toBe('boolean');
  expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  if (typeof result.content !== 'string') {
    expect(Array.isArray(result.content)).toBe(true);
    for (const block of result.content) expect(['text', 'image', 'search_result', 'document', 'tool_reference', 'browser_state']).toContain(block.type);
  }
}

const thrownArbitrary = fc.oneof(
  fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true, withBoxedValues: true }).map((v) => ({ v })),
  fc.nat({ max: hostile().length - 1 }).map((i) => ({ hostile: i })),
  fc.string().map((m) => ({ error: m })),
);

/** Any thrown value: an is_error result with string content that says something, never a throw. */
function thrownProperty(impl: (value: unknown) => ToolResult) {
  return fc.property(thrownArbitrary, (c) => {
    const value = 'hostile' in c ? hostile()[c.hostile] : 'error' in c ? new Error(c.error) : c.v;
    const result = impl(value);
    expect(result.is_error).toBe(true);
    expect(typeof result.content).toBe('string');
    expect((result.content as string).startsWith('Error: ')).toBe(true);
    wireSafe(result);
  });
}

const text = fc.string({ minLength: 1 });
const cacheControl = fc.option(fc.record({ type: fc.constant('ephemeral' as const), ttl: fc.constantFrom('5m' as const, '1h' as const) }, { requiredKeys: ['type'] }), { nil: null });
const textBlock = fc.record({ type: fc.constant('text' as const), text, cache_control: cacheControl }, { requiredKeys: ['type', 'text'] });
const validBlock = fc.oneof(
  textBlock,
  fc.record({ type: fc.constant('image' as const), source: fc.oneof(
    fc.record({ type: fc.constant('base64' as const), media_type: fc.constantFrom('image/png', 'image/jpeg', 'image/gif', 'image/webp'), data: fc.base64String() }),
    fc.record({ type: fc.constant('url' as const), url: fc.webUrl() }),
    fc.record({ type: fc.constant('file' as const), file_id: text }),
  ) }),
  fc.record({ type: fc.constant('tool_reference' as const), tool_name: text }),
  fc.record({ type: fc.constant('search_result' as const), source: fc.webUrl(), title: text, content: fc.array(textBlock, { maxLength: 3 }) }),
  fc.record({ type: fc.constant('document' as const), source: fc.record({ type: fc.constant('text' as const), media_type: fc.constant('text/plain' as const), data: text }), title: fc.option(text, { nil: null }) }, { requiredKeys: ['type', 'source'] }),
);
/** A valid block made invalid: a required field removed, a field of the wrong type, or an unknown field added. */
const invalidBlock = fc.tuple(validBlock, fc.nat(), fc.constantFrom('drop', 'retype', 'extra')).map(([block, n, how]) => {
  const copy: Record<string, unknown> = { ...block };
  const required = Object.keys(copy).filter((key) => key !== 'type' && !['cache_control', 'title'].includes(key));
  const key = required[n % required.length]!;
  if (how === 'drop') delete copy[key];
  else if (how === 'retype') copy[key] = 12345;
  else copy['unexpected_field'] = true;
  return copy;
});

/**
 * Any return value, by an oracle that does not use the code under test: strings and valid block
 * arrays pass unchanged, undefined is '', values JSON.stringify can write go as that text, the rest
 * (and arrays that are not content) are is_error. Cases are tagged, and hostile values go by index,
 * so fast-check can print a counterexample without touching a throwing Proxy.
 */
type OutputCase = ['plain', unknown] | ['hostile', number] | ['valid', unknown[]] | ['invalid', unknown[]];
function outputProperty(impl: (value: unknown) => ToolResult) {
  const cases: fc.Arbitrary<OutputCase> = fc.oneof(
    fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true }).filter((v) => !Array.isArray(v)).map((v): OutputCase => ['plain', v]),
    fc.nat({ max: hostile().length - 1 }).map((i): OutputCase => ['hostile', i]),
    fc.array(validBlock, { minLength: 1, maxLength: 4 }).map((blocks): OutputCase => ['valid', blocks]),
    fc.tuple(fc.array(validBlock, { maxLength: 2 }), invalidBlock).map(([blocks, bad]): OutputCase => ['invalid', [...blocks, bad]]),
    fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer())), { minLength: 1 }).map((items): OutputCase => ['invalid', items]),
  );
  return fc.property(cases, ([kind, generated]) => {
    const value = kind === 'hostile' ? hostile()[generated as number] : generated;
    const result = impl(value);
    if (kind === 'valid') expect(result).toEqual({ content: value, is_error: false });
    else if (kind === 'invalid') {
      expect(result.is_error).toBe(true);
      expect(result.content).toMatch(/^Error: the tool returned an array that is not tool_result content/);
    } else if (typeof value === 'string') expect(result).toEqual({ content: value, is_error: false });
    else if (value === undefined) expect(result).toEqual({ content: '', is_error: false });
    else {
      let json: string | undefined;
      try {
        json = JSON.stringify(value);
      } catch {
        json = undefined;
      }
      if (json === undefined) expect(result.is_error).toBe(true);
      else expect(result).toEqual({ content: json, is_error: false });
    }
    wireSafe(result);
  });
}

describe('tool results', () => {
  it('any thrown value becomes an is_error result with a safe description (property)', () => {
    fc.assert(thrownProperty(thrownResult), { numRuns: 500 });
  });

  it('the thrown-value property catches main’s String(error)', () => {
    expect(fc.check(thrownProperty(brokenThrown), { numRuns: 500 }).failed).toBe(true);
  });

  it('describes hostile thrown values without calling into them', () => {
    expect(thrownResult(Object.create(null))).toEqual({ content: 'Error: the tool threw a non-Error value: {}', is_error: true });
    expect(thrownResult(Symbol('boom'))).toEqual({ content: 'Error: the tool threw a Symbol (boom)', is_error: true });
    expect(thrownResult(undefined)).toEqual({ content: 'Error: the tool threw undefined', is_error: true });
    expect(thrownResult({ toString: () => { throw new Error('no'); } })).toEqual({ content: 'Error: the tool threw a non-Error value: {}', is_error: true });
    expect(thrownResult(new Error('disk full'))).toEqual({ content: 'Error: disk full', is_error: true });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(thrownResult(cyclic)).toEqual({ content: 'Error: the tool threw a non-Error object (a cyclic value)', is_error: true });
  });

  it("the SDK's ToolError sends its content — checked like a return value", () => {
    expect(thrownResult(new ToolError([{ type: 'text', text: 'quota exceeded' }]))).toEqual({ content: [{ type: 'text', text: 'quota exceeded' }], is_error: true });
    const bad = thrownResult(new ToolError([1, 2] as never));
    expect(bad.is_error).toBe(true);
    expect(bad.content).toMatch(/not tool_result content/);
  });

  it('any return value becomes content the API accepts, or an is_error result saying what it was (property)', () => {
    fc.assert(outputProperty(outputResult), { numRuns: 500 });
  });

  it('the return-value property catches main’s pass-through and a validator that only looks at `type`', () => {
    expect(fc.check(outputProperty(brokenOutput), { numRuns: 500 }).failed).toBe(true);
    expect(fc.check(outputProperty(guessingOutput), { numRuns: 500 }).failed).toBe(true);
  });

  it('names what the tool returned', () => {
    expect(outputResult(Symbol('s'))).toEqual({ content: 'Error: the tool returned a Symbol, which cannot be sent as a tool result', is_error: true });
    expect(outputResult(() => 1).content).toMatch(/returned a function/);
    expect(outputResult(10n).content).toMatch(/returned a BigInt/);
    expect(outputResult({ n: 10n }).content).toMatch(/returned a value containing a BigInt/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(outputResult(cyclic).content).toMatch(/returned a cyclic value/);
    expect(outputResult([1, 2, 3])).toEqual({ content: 'Error: the tool returned an array that is not tool_result content (item 0: Invalid input: expected object, received number)', is_error: true });
    expect(outputResult([{ type: 'text' }]).content).toMatch(/item 0\.text/);
    expect(outputResult({ temp: 21 })).toEqual({ content: '{"temp":21}', is_error: false });
    expect(outputResult(null)).toEqual({ content: 'null', is_error: false });
    expect(outputResult(undefined)).toEqual({ content: '', is_error: false });
    expect(outputResult([])).toEqual({ content: [], is_error: false });
  });

  it('keeps the blocks in their JSON form (undefined fields dropped, as on the wire)', () => {
    expect(outputResult([{ type: 'text', text: 'hi', cache_control: undefined }])).toEqual({ content: [{ type: 'text', text: 'hi' }], is_error: false });
  });
});
