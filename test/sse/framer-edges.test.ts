/**
 * SseFramer's own contract, apart from offsets (payload-offsets.test.ts, framer-utf8-offsets.test.ts) and the
 * generated streams of framer.test.ts: the maxEventSize boundary and where line_too_long says it happened, the
 * first failure kept for every later call, notices for legal-but-odd SSE, the counters (eventCount, bytesSeen)
 * and endedInsideEvent. Expected values are counted from the literal streams below.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_EVENT_SIZE, SseFramer } from '../../src/sse/framer.js';
import { SseError } from '../../src/index.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const PING = 'event: ping\ndata: {"type":"ping"}\n\n'; // 35 bytes; its payload starts at byte 18

function caught(f: () => void): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  return undefined;
}

function collect(options: ConstructorParameters<typeof SseFramer>[1] = {}) {
  const events: { name: string | undefined; data: string; index: number }[] = [];
  const framer = new SseFramer((name, data, index) => events.push({ name, data, index }), options);
  return { framer, events };
}

describe('maxEventSize', () => {
  const data = (n: number): string => `{"t":"${'x'.repeat(n - 8)}"}`; // n characters of data

  it('an event of exactly maxEventSize characters passes; one more is line_too_long, in one chunk', () => {
    const ok = collect({ maxEventSize: 40 });
    ok.framer.pushText(`data: ${data(40)}\n\n`);
    expect(ok.events.map((e) => e.data.length)).toEqual([40]);

    const { framer, events } = collect({ maxEventSize: 40 });
    const error = caught(() => framer.pushBytes(enc(`${PING}event: a\ndata: ${data(41)}\n\n`)));
    expect(error).toBeInstanceOf(SseError);
    // The ping before it was delivered; the error names the long event (index 1) and its payload (35 + 9 + 6 bytes in).
    expect(events.map((e) => e.index)).toEqual([0]);
    expect(error).toMatchObject({ code: 'line_too_long', eventIndex: 1, byteOffset: 50, message: 'event 1: its data exceeds 40 characters' });
  });

  it('a long line arriving over chunks: line_too_long at the chunk where it grew too long, at the byte where that chunk’s text starts', () => {
    const bytes = enc(`${PING}event: a\ndata: {"t":"${'日'.repeat(60)}"}\n\n`);
    for (const size of [1, 7, 10]) {
      const { framer, events } = collect({ maxEventSize: 32 });
      let fed = 0;
      const error = caught(() => {
        for (let i = 0; i < bytes.length; i += size) {
          const c = bytes.slice(i, i + size);
          framer.pushBytes(c);
          fed += c.length;
        }
      });
      // Bytes fed before the chunk that threw, less those of a character it finishes (they were not text yet).
      let before = fed;
      while ((bytes[before]! & 0xc0) === 0x80) before--;
      expect(events.map((e) => e.index), `${size}-byte chunks`).toEqual([0]);
      expect(error, `${size}-byte chunks`).toMatchObject({ code: 'line_too_long', eventIndex: 1, byteOffset: before, message: 'a line or event exceeded 32 characters' });
      expect(fed).toBeGreaterThan(35 + 9);
      expect(fed).toBeLessThan(bytes.length);
    }
  });

  it(`the default is ${DEFAULT_MAX_EVENT_SIZE} characters: an event one longer is rejected, one that long is not`, () => {
    const big = 'x'.repeat(DEFAULT_MAX_EVENT_SIZE - 2);
    const ok = collect();
    ok.framer.pushText(`data: "${big}"\n\n`);
    expect(ok.events[0]!.data.length).toBe(DEFAULT_MAX_EVENT_SIZE);
    const { framer } = collect();
    expect(caught(() => framer.pushText(`data: "${big}x"\n\n`))).toMatchObject({ code: 'line_too_long', eventIndex: 0 });
  });
});

describe('the first failure is kept', () => {
  it('after line_too_long, pushBytes, pushText and end() throw that same error and deliver nothing more', () => {
    const { framer, events } = collect({ maxEventSize: 20 });
    const first = caught(() => framer.pushText(`data: {"t":"${'x'.repeat(30)}"}\n\n`));
    expect(first).toMatchObject({ code: 'line_too_long' });
    expect(caught(() => framer.pushBytes(enc(PING)))).toBe(first);
    expect(caught(() => framer.pushText(PING))).toBe(first);
    expect(caught(() => framer.pushBytes(Uint8Array.of(0xff)))).toBe(first);
    expect(caught(() => framer.end())).toBe(first);
    expect(events).toEqual([]);
  });

  it('a line_too_long chunk that ends inside a character: end() throws that error and does not call it a cut', () => {
    const { framer } = collect({ maxEventSize: 20 });
    const first = caught(() => framer.pushBytes(Uint8Array.of(...enc(`data: {"t":"${'x'.repeat(30)}`), 0xe6)));
    expect(first).toMatchObject({ code: 'line_too_long', eventIndex: 0 });
    expect(caught(() => framer.end())).toBe(first);
    expect(framer.endedInsideEvent).toBe(false);
  });

  it('after invalid_utf8, a later line_too_long does not replace it', () => {
    const { framer } = collect({ maxEventSize: 20 });
    const first = caught(() => framer.pushBytes(Uint8Array.of(...enc('data: {"t":"'), 0xff)));
    expect(first).toMatchObject({ code: 'invalid_utf8', eventIndex: 0, byteOffset: 12 }); // the bad byte, after 'data: {"t":"'
    expect(caught(() => framer.pushText(`data: {"t":"${'x'.repeat(30)}"}\n\n`))).toBe(first);
    expect(caught(() => framer.end())).toBe(first);
  });
});

describe('notices', () => {
  it('an unknown field and a bad retry are reported with the index of the event they belong to; events still flow', () => {
    const notices: unknown[] = [];
    const { framer, events } = collect({ onNotice: (code, message, eventIndex) => notices.push({ code, message, eventIndex }) });
    framer.pushText(`${PING}foo: bar\nretry: soon\ndata: {}\n\nretry: 10\n`);
    framer.end();
    expect(notices).toEqual([
      { code: 'unknown_sse_field', message: 'Unknown field "foo"', eventIndex: 1 },
      { code: 'invalid_sse_retry', message: 'Invalid `retry` value: "soon"', eventIndex: 1 },
    ]);
    expect(events.map((e) => e.data)).toEqual(['{"type":"ping"}', '{}']);
  });

  it('without onNotice the same input frames silently', () => {
    const { framer, events } = collect();
    framer.pushText('foo: bar\nretry: soon\ndata: {}\n\n');
    framer.end();
    expect(events.map((e) => e.data)).toEqual(['{}']);
  });
});

describe('counters and endedInsideEvent', () => {
  it('eventCount counts every event, pings included; bytesSeen counts bytes fed (a BOM too), and end() adds none', () => {
    const { framer } = collect();
    expect([framer.eventCount, framer.bytesSeen]).toEqual([0, 0]);
    framer.pushBytes(enc(`\ufeff${PING}`));
    expect([framer.eventCount, framer.bytesSeen]).toEqual([1, 38]);
    framer.pushBytes(enc('event: ping\ndata: {"type":"pi'));
    expect([framer.eventCount, framer.bytesSeen]).toEqual([1, 38 + 29]);
    framer.pushBytes(enc('ng"}\n\n'));
    expect([framer.eventCount, framer.bytesSeen]).toEqual([2, 38 + 35]);
    framer.end();
    expect([framer.eventCount, framer.bytesSeen, framer.endedInsideEvent]).toEqual([2, 73, false]);
  });

  it('endedInsideEvent: only when end() had to finish the last event, in bytes and in text', () => {
    for (const ending of ['', '\n', '\r\n']) {
      for (const push of ['bytes', 'text'] as const) {
        const { framer, events } = collect();
        const text = `${PING}data: {"last":true}${ending}`;
        if (push === 'bytes') framer.pushBytes(enc(text));
        else framer.pushText(text);
        expect(framer.endedInsideEvent).toBe(false);
        framer.end();
        expect(framer.endedInsideEvent, `${push}, ending ${JSON.stringify(ending)}`).toBe(true);
        expect(events.map((e) => e.data)).toEqual(['{"type":"ping"}', '{"last":true}']);
      }
    }
  });

  it('endedInsideEvent: input that ends inside a character is a cut too (invalid_utf8 from end(), where the character starts)', () => {
    const { framer } = collect();
    framer.pushBytes(Uint8Array.of(...enc(`${PING}data: {"t":"`), 0xf0, 0x9f));
    expect(framer.endedInsideEvent).toBe(false);
    expect(caught(() => framer.end())).toMatchObject({ code: 'invalid_utf8', message: 'input ends inside a UTF-8 character', eventIndex: 1, byteOffset: 35 + 12 });
    expect(framer.endedInsideEvent).toBe(true);
  });

  it('text input: a leading BOM is dropped (also after empty text), a later U+FEFF is kept', () => {
    const { framer, events } = collect();
    framer.pushText('');
    framer.pushText(`\ufeffdata: {}\n\ndata: "\ufeff"\n\n`);
    framer.end();
    expect(events.map((e) => e.data)).toEqual(['{}', '"\ufeff"']);
  });
});
