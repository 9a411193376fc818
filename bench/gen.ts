/**
 * Deterministic (seeded) generators of large Messages API SSE streams for the
 * benchmark. Everything is produced chunk by chunk, so a caller can either
 * collect all chunks (`collect`) or parse them as they are made without ever
 * holding the whole stream (the memory child does that).
 *
 * Wire format imitated (see recordings/README.md): `event: <type>` +
 * `data: <json>` + blank line, LF endings, raw UTF-8 non-ASCII in the JSON,
 * random space padding before the final `}` of most data lines,
 * `data: {"type": "ping"}` right after the first content_block_start, usage in
 * message_start and message_delta, an empty first input_json_delta.
 */

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

export const MiB = 1024 * 1024;
export const TEXT_CHUNK = 64 * 1024;

/** Words with a realistic sprinkle of non-ASCII (2-, 3- and 4-byte UTF-8, astral emoji), quotes, backslashes. */
const WORDS = [
  'the', 'a', 'of', 'to', 'and', 'in', 'is', 'that', 'for', 'it', 'with', 'as', 'on', 'be', 'this', 'are',
  'stream', 'parser', 'message', 'token', 'event', 'delta', 'function', 'return', 'value', 'state', 'machine',
  'however', 'because', 'therefore', 'implementation', 'configuration', 'performance', 'benchmark',
  'café', 'naïve', 'résumé', 'Zürich', 'façade', 'señor', 'Ångström', 'coöperate', 'straße',
  '日本語', '東京', '数据', 'данные', 'Привет', 'مرحبا', 'שלום', '한국어',
  '—', '–', '…', '“quoted”', '‘single’', '→', '≤', '±', '€5', '£3', '½',
  '🚀', '✅', '🙂', '👍🏽', '𝑥', '🧪',
  '"x"', 'C:\\path\\to', '`code`', 'foo()', '{ok: 1}', '[1, 2]', '<b>', '&amp;', '42', '3.14', '1e9',
];
const PUNCT = ['', '', '', '', '', '', ',', ',', '.', '.', ':', ';', '?', '!', '.\n\n', '\n', '\n- ', '\n\t'];

/** Endless text deltas of 1–30 UTF-16 units each, never splitting a surrogate pair. */
export function* textDeltas(seed: number): Generator<string> {
  const r = rng(seed);
  let buf = '';
  for (;;) {
    while (buf.length < 64) buf += pick(r, WORDS) + pick(r, PUNCT) + ' ';
    let n = int(r, 1, 30);
    const c = buf.charCodeAt(n - 1);
    if (c >= 0xd800 && c <= 0xdbff) n += 1; // keep the pair together
    yield buf.slice(0, n);
    buf = buf.slice(n);
  }
}

/** `…}` + 0–15 spaces: the real API pads most data lines before the final brace. */
function pad(r: () => number): string {
  return r() < 0.15 ? '' : ' '.repeat(int(r, 1, 15));
}

const MODEL = 'claude-sonnet-4-6';

function messageStart(r: () => number, id: string): string {
  return (
    `event: message_start\ndata: {"type":"message_start","message":{"model":"${MODEL}","id":"${id}","type":"message","role":"assistant","content":[],` +
    `"stop_reason":null,"stop_sequence":null,"stop_details":null,"usage":{"input_tokens":612,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,` +
    `"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":6,"service_tier":"standard","inference_geo":"not_available"}}${pad(r)}}\n\n`
  );
}
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const blockStop = (r: () => number, i: number): string => `event: content_block_stop\ndata: {"type":"content_block_stop","index":${i}${pad(r)}}\n\n`;
const messageEnd = (r: () => number, stop: string, outputTokens: number): string =>
  `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"${stop}","stop_sequence":null,"stop_details":null},` +
  `"usage":{"input_tokens":612,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":${outputTokens}}${pad(r)}}\n\n` +
  `event: message_stop\ndata: {"type":"message_stop"${pad(r)}}\n\n`;

/**
 * Packs event strings into fixed-size Uint8Array chunks (fresh buffer per
 * chunk; multibyte characters are split across chunk boundaries as a real
 * transport would).
 */
export function* chunked(events: Iterable<string>, chunkSize: number): Generator<Uint8Array> {
  const encoder = new TextEncoder();
  let out = new Uint8Array(chunkSize);
  let at = 0;
  for (const event of events) {
    const bytes = encoder.encode(event);
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(chunkSize - at, bytes.length - from);
      out.set(bytes.subarray(from, from + n), at);
      at += n;
      from += n;
      if (at === chunkSize) {
        yield out;
        out = new Uint8Array(chunkSize);
        at = 0;
      }
    }
  }
  if (at > 0) yield out.subarray(0, at);
}

export interface TextStreamSpec {
  /** Stop adding deltas once the stream reaches this many bytes. */
  readonly minBytes: number;
  readonly seed?: number;
}

/** (a) One long text block of small deltas: the event strings. */
export function* textStreamEvents(spec: TextStreamSpec): Generator<string> {
  const r = rng((spec.seed ?? 1) * 7919);
  let bytes = 0;
  const emit = (s: string): string => {
    bytes += Buffer.byteLength(s);
    return s;
  };
  yield emit(messageStart(r, 'msg_01BenchTextStream0000001'));
  yield emit(`event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}${pad(r)}}\n\n`);
  yield emit(PING);
  let deltas = 0;
  for (const text of textDeltas(spec.seed ?? 1)) {
    if (bytes >= spec.minBytes) break;
    deltas++;
    yield emit(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(text)}}${pad(r)}}\n\n`);
  }
  yield emit(blockStop(r, 0));
  yield emit(messageEnd(r, 'end_turn', deltas));
}

/**
 * (b) A tool input: a JSON object with a long string (escapes, non-ASCII),
 * nested arrays of numbers/strings/objects and a small nested object, about
 * `bytes` UTF-16 units of JSON text (≈ UTF-8 bytes: the non-ASCII share is small).
 */
export function toolInputJson(bytes: number, seed = 3): string {
  const r = rng(seed * 104729);
  // ~60% of the size in one long string value, ~40% in nested arrays.
  const stringTarget = Math.floor(bytes * 0.6);
  const words = textDeltas(seed);
  let content = '';
  while (content.length < stringTarget) content += words.next().value as string;
  const rows: unknown[] = [];
  const head = `{"path": "/srv/app/src/generated/big-file.ts", "mode": "overwrite", "content": ${JSON.stringify(content)}, "rows": [`;
  let size = head.length;
  const parts: string[] = [head];
  let first = true;
  while (size < bytes - 200) {
    const row: unknown[] = [int(r, -1e6, 1e6), r() * 1000, r() < 0.5, null, pick(r, ['alpha', 'beta', 'gamma', 'δέλτα', 'ε']), [int(r, 0, 99), [int(r, 0, 9), { k: int(r, 0, 999), v: 'x'.repeat(int(r, 0, 12)) }]]];
    const text = (first ? '' : ', ') + JSON.stringify(row);
    first = false;
    parts.push(text);
    size += text.length;
    rows.push(row);
  }
  parts.push(`], "meta": {"nested": [[1, 2, [3, [4, [5]]]], {"deep": {"deeper": [true, false, null]}}], "count": ${rows.length}}}`);
  return parts.join('');
}

/** Splits JSON text into pieces of `size` UTF-16 units, never splitting a surrogate pair. */
export function* pieces(json: string, size: number): Generator<string> {
  let at = 0;
  while (at < json.length) {
    let end = Math.min(at + size, json.length);
    const c = json.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff && end < json.length) end += 1;
    yield json.slice(at, end);
    at = end;
  }
}

/** (b) A short text block, then one tool_use whose input streams in `pieceSize`-unit input_json_deltas. */
export function* toolStreamEvents(json: string, pieceSize = 16, seed = 5): Generator<string> {
  const r = rng(seed * 31337);
  yield messageStart(r, 'msg_01BenchToolStream0000001');
  yield `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}${pad(r)}}\n\n`;
  yield PING;
  yield `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll write the file now."}${pad(r)}}\n\n`;
  yield blockStop(r, 0);
  yield `event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01BenchToolUse0000000001","name":"write_file","input":{},"caller":{"type":"direct"}}${pad(r)}}\n\n`;
  yield `event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}${pad(r)}}\n\n`;
  let n = 0;
  for (const piece of pieces(json, pieceSize)) {
    n++;
    yield `event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(piece)}}${pad(r)}}\n\n`;
  }
  yield blockStop(r, 1);
  yield messageEnd(r, 'tool_use', n + 8);
}

export interface Stream {
  readonly name: string;
  readonly chunks: readonly Uint8Array[];
  readonly bytes: number;
  readonly events: number;
}

/** Collects a generated stream into memory (for the timing runs). */
export function collect(name: string, events: Iterable<string>, chunkSize: number): Stream {
  let count = 0;
  const counted = (function* () {
    for (const e of events) {
      count++;
      yield e;
    }
  })();
  const chunks = [...chunked(counted, chunkSize)];
  return { name, chunks, bytes: chunks.reduce((n, c) => n + c.length, 0), events: count };
}
