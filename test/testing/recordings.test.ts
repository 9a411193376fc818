import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTurnSync } from '../../src/turn/parse.js';
import { loadRecording, loadRecordingBytes, recordingNames, TestingError } from '../../src/testing/index.js';

const dir = new URL('../../recordings/', import.meta.url);

describe('loadRecording', () => {
  it('lists every shipped .sse file, the demo ones included', () => {
    const top = readdirSync(dir).filter((f) => f.endsWith('.sse')).map((f) => f.slice(0, -4));
    const demo = readdirSync(new URL('demo/', dir)).filter((f) => f.endsWith('.sse')).map((f) => `demo/${f.slice(0, -4)}`);
    expect(recordingNames()).toEqual([...top, ...demo].sort());
    expect(recordingNames()).toContain('refusal');
  });

  it('returns the file as it is on disk, as text or bytes, with or without .sse', () => {
    const onDisk = readFileSync(new URL('refusal.sse', dir));
    expect(loadRecording('refusal')).toBe(onDisk.toString('utf8'));
    expect(loadRecording('refusal.sse')).toBe(onDisk.toString('utf8'));
    expect(loadRecordingBytes('multibyte-utf8')).toEqual(new Uint8Array(readFileSync(new URL('multibyte-utf8.sse', dir))));
    expect(loadRecording('demo/01-tool-use')).toBe(readFileSync(new URL('demo/01-tool-use.sse', dir), 'utf8'));
    expect(parseTurnSync(loadRecording('refusal'))).toMatchObject({ ok: true, stopReason: 'refusal' });
  });

  it('an unknown name is a typed error listing the names that exist; paths outside the folder are unknown too', () => {
    for (const name of ['no-such-recording', '../package.json', 'verdicts.json', '']) {
      let caught: unknown;
      try {
        loadRecording(name);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TestingError);
      expect(caught).toMatchObject({ code: 'unknown_recording', available: recordingNames() });
      expect((caught as Error).message).toContain('refusal');
    }
  });
});
