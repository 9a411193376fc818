import { expect, it } from 'vitest';
import { parseTurn, parseTurnSync, SseError, StreamError } from '../../src/index.js';
import { corpusFiles, describeCorpus } from '../support/corpus.js';
import { sdkFinalMessage } from '../support/sdk-oracle.js';

const files = corpusFiles();
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describeCorpus('the shared corpus of real recorded streams', () => {
  it('holds the 34 recordings INDEX.md describes', () => {
    expect(files).toHaveLength(34);
  });

  for (const file of files.filter((f) => !f.name.startsWith('34-'))) {
    it(`${file.name}: valid, and equal to the SDK's beta accumulator`, async () => {
      const result = parseTurnSync(file.bytes);
      expect(result.error).toBeNull();
      expect(result.ok).toBe(true);
      const oracle = await sdkFinalMessage(file.bytes);
      if (!oracle.ok) throw new Error(`the SDK rejected ${file.name}: ${String(oracle.error)}`);
      const expected = oracle.message;
      // The one sanctioned difference: blocks max_tokens left unusable are dropped (and reported).
      const droppedIndexes = new Set(result.dropped.map((d) => d.index));
      expected.content = expected.content.filter((_, i) => !droppedIndexes.has(i));
      expect(plain(result.message)).toEqual(expected);
    });
  }

  it('07: the tool_use cut by max_tokens is dropped and reported with its raw partial JSON; the text stays', () => {
    const file = files.find((f) => f.name.startsWith('07-'));
    const result = parseTurnSync(file!.bytes);
    expect(result.ok).toBe(true);
    expect(result.stopReason).toBe('max_tokens');
    expect(result.message?.content.map((b) => b.type)).toEqual(['text']);
    expect(result.dropped).toHaveLength(1);
    const [dropped] = result.dropped;
    expect(dropped).toMatchObject({ index: 1, type: 'tool_use', reason: 'unclosed' });
    // The raw partial JSON is every input_json_delta of block 1, concatenated.
    const raw = file!.bytes
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('data:') && line.includes('input_json_delta'))
      .map((line) => (JSON.parse(line.slice(5)) as { delta: { partial_json: string } }).delta.partial_json)
      .join('');
    expect(dropped!.partial).toBe(raw);
    expect(() => JSON.parse(raw)).toThrow();
  });

  it('34: a tail fragment with an error event is rejected with a typed error, not a crash', async () => {
    const file = files.find((f) => f.name.startsWith('34-'));
    const result = await parseTurn(file!.bytes);
    expect(result.ok).toBe(false);
    expect(result.error).toBeInstanceOf(StreamError);
    expect(result.error).toMatchObject({ code: 'unexpected_event', eventIndex: 0, state: 'awaitingMessageStart', got: 'content_block_delta' });
    expect(result.error?.byteOffset).toBe(file!.bytes.indexOf('{"type":"content_block_delta"'));
  });

  it('every file also parses when fed one byte at a time', () => {
    for (const file of files.filter((f) => f.name.startsWith('05-') || f.name.startsWith('19-'))) {
      const whole = parseTurnSync(file.bytes);
      const bytewise = parseTurnSync((function* () {
        for (let i = 0; i < file.bytes.length; i++) yield file.bytes.subarray(i, i + 1);
      })());
      expect(plain(bytewise.message)).toEqual(plain(whole.message));
      expect(bytewise.ok).toBe(true);
    }
  });

  it('errors are typed: SseError and StreamError both extend the layer base', () => {
    const bad = parseTurnSync('event: message_start\ndata: {not json}\n\n');
    expect(bad.error).toBeInstanceOf(SseError);
    expect(bad.error).toMatchObject({ code: 'invalid_json', eventIndex: 0, byteOffset: 27 });
  });
});
