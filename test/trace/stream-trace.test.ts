import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { traceTurn, renderTraceHtml, capValue } from '../../src/trace/index.js';
import { sseFromMessage } from '../../src/testing/index.js';
import { repoRoot } from '../support/corpus.js';

const recording = (name: string) => readFileSync(join(repoRoot, 'recordings', name));
/** The `data:` payloads of a recording and where each starts — read off the file, not the parser. */
function payloads(bytes: Buffer): { type: string; offset: number }[] {
  const out: { type: string; offset: number }[] = [];
  let at = 0;
  for (const line of bytes.toString('latin1').split('\n')) {
    if (line.startsWith('data:')) {
      const skip = line.startsWith('data: ') ? 6 : 5;
      out.push({ type: (JSON.parse(Buffer.from(line.slice(skip), 'latin1').toString('utf8')) as { type: string }).type, offset: at + skip });
    }
    at += line.length + 1;
  }
  return out;
}

describe('traceTurn', () => {
  it('a valid stream: one step per event, with its index, byte offset, and a chain of states', () => {
    const bytes = recording('tool-use-text-says-done.sse');
    const { trace, result } = traceTurn([bytes], { title: 't' });
    expect(result.ok).toBe(true);
    const expected = payloads(bytes);
    expect(trace.steps.map((s) => s.type)).toEqual(expected.map((e) => e.type));
    expect(trace.steps.map((s) => s.eventIndex)).toEqual(expected.map((_, i) => i));
    expect(trace.steps.map((s) => s.byteOffset)).toEqual(expected.map((e) => e.offset));
    for (let k = 1; k < trace.steps.length; k++) expect(trace.steps[k]!.before).toBe(trace.steps[k - 1]!.after);
    expect(trace.steps.at(-1)!.after).toBe('complete');
    // Every step names the transition it took, read off the graph.
    const graph = trace.machines['stream']!;
    for (const step of trace.steps) {
      expect(step.transitions).toHaveLength(1);
      const transition = graph.transitions[step.transitions[0]!]!;
      expect(['*', step.type]).toContain(transition.descriptor);
    }
    expect(trace.verdict).toBe('ok');
    expect(trace.stopReason).toBe('tool_use');
  });

  it('the same trace whatever the chunking', () => {
    const bytes = recording('thinking-signature.sse');
    const whole = traceTurn([bytes], { now: () => 0 }).trace;
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    expect(traceTurn(chunks, { now: () => 0 }).trace).toEqual(whole);
  });

  it('a grammar violation: the last step goes to violated, and the failure says where, what was expected and what came', () => {
    const bytes = recording('broken-text-delta-on-tool-use.sse');
    const { trace } = traceTurn([bytes]);
    const last = trace.steps.at(-1)!;
    // The offending event, found in the file: the first text_delta (the open block is a tool_use).
    const offending = bytes.toString('utf8').split('\n').filter((l) => l.startsWith('data:')).findIndex((l) => l.includes('"text_delta"'));
    expect(last).toMatchObject({ after: 'violated', before: 'inBlock.toolInput', type: 'content_block_delta', eventIndex: offending });
    expect(last.byteOffset).toBe(payloads(bytes)[offending]!.offset);
    expect(trace.failure).toMatchObject({ code: 'delta_type_mismatch', eventIndex: last.eventIndex, byteOffset: last.byteOffset, state: 'inBlock.toolInput', got: 'content_block_delta' });
    expect(trace.failure!.expected).toContain('input_json_delta');
  });

  it('input that fails before the machine (bad JSON) gets an error step at that event', () => {
    const { trace } = traceTurn([recording('broken-invalid-json.sse')]);
    const last = trace.steps.at(-1)!;
    expect(last.kind).toBe('error');
    expect(last.type).toBe('invalid_json');
    expect(last.eventIndex).toBe(trace.failure!.eventIndex);
    expect(last.eventIndex).toBe(trace.steps.length - 1);
  });

  it('the page is self-contained: a CSP forbidding every request, no external reference, data that cannot close its script', async () => {
    const hostile = '</script><script>window.pwned = 1</script><!--';
    const { trace } = traceTurn([sseFromMessage({ content: [{ type: 'text', text: hostile }], stopReason: 'end_turn' })], { title: '<b>x</b>' });
    const html = await renderTraceHtml(trace);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline';"`);
    expect(html).not.toMatch(/\s(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).not.toContain('<script>window.pwned');
    expect(html).toContain('turnstate trace: &lt;b&gt;x&lt;/b&gt;');
    const json = /<script type="application\/json" id="trace-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.stringify(JSON.parse(json))).toContain(JSON.stringify(hostile).slice(1, -1));
    // Every state of the machine is drawn, with the ids the page highlights by.
    for (const [i, state] of trace.machines['stream']!.states.entries()) {
      expect(html).toContain(`id="s${i}"`);
      expect(html).toContain(`>${state.key === 'stream' ? '(any state)' : state.key}<`);
    }
  });
});

describe('capValue', () => {
  it('keeps a deep, wide or cyclic value bounded and JSON-safe, without recursion', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const capped = capValue(deep) as Record<string, unknown>;
    expect(JSON.stringify(capped).length).toBeLessThan(1000);
    const cyclic: Record<string, unknown> = { x: 1 };
    cyclic['self'] = cyclic;
    expect(capValue(cyclic)).toEqual({ x: 1, self: '[circular]' });
    expect(capValue({ s: 'x'.repeat(5000), n: Infinity, b: 10n, u: undefined, f: () => 1 })).toEqual({
      s: `${'x'.repeat(2000)}… (3000 more characters)`,
      n: 'Infinity',
      b: '10n',
      u: null,
      f: '[function]',
    });
    expect((capValue(Array.from({ length: 500 }, (_, i) => i)) as unknown[]).slice(-2)).toEqual([199, '… 300 more']);
  });
});
