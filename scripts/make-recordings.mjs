#!/usr/bin/env node
/**
 * @file Writes the project's own SSE recordings to `recordings/`.
 *
 * Every `recordings/*.sse` file, `recordings/verdicts.json` and
 * `recordings/README.md` is produced by this script; edit the script, not the
 * output. The recordings imitate the wire format of the Claude Messages API as
 * seen in real recorded streams:
 *
 * - `event: <type>\ndata: <json>\n\n` per event, LF line endings, UTF-8, raw
 *   (unescaped) non-ASCII characters in the JSON;
 * - whitespace padding inside most data lines just before the final closing
 *   brace (`..."index":0        }`), random but seeded;
 * - `data: {"type": "ping"}` written with a space, right after the first
 *   `content_block_start`;
 * - `msg_01…`, `toolu_01…`, `srvtoolu_01…`, `req_011C…` ids in base58;
 * - `caller: {"type":"direct"}` on tool_use starts, an empty first
 *   `input_json_delta`, tool input JSON written with `": "` / `", "`
 *   separators, `citations: []` on cited text blocks;
 * - usage in `message_start` (with cache_creation, service_tier, inference_geo)
 *   and a cumulative usage object in `message_delta`, `stop_details` fields.
 *
 * Output is deterministic: each file draws from its own PRNG seeded with its
 * file name, so changing one recording does not reshuffle the others.
 *
 * Usage (Node 20, no build step):
 *
 *     node scripts/make-recordings.mjs          # (re)write recordings/
 *     node scripts/make-recordings.mjs --check  # exit 1 if recordings/ is stale
 *
 * `dropped` in verdicts.json counts content blocks a strict assembler leaves out
 * of the final message (a block still open when `max_tokens` arrives). For a
 * stream that fails, `stopReason` is the stop_reason of the last
 * `message_delta` accepted before the failing event (null if none was) and
 * `dropped` is 0.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'recordings');

// ---------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------

/** @param {string} s @returns {number} 32-bit FNV-1a hash */
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** @param {number} seed @returns {() => number} uniform [0, 1) */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

class Rng {
  /** @param {string} seed */
  constructor(seed) {
    this.next = mulberry32(fnv1a(seed));
  }
  /** Integer in [lo, hi]. */
  int(lo, hi) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p) {
    return this.next() < p;
  }
  base58(n) {
    let s = '';
    for (let i = 0; i < n; i++) s += BASE58[this.int(0, BASE58.length - 1)];
    return s;
  }
  /** `msg_01…`, `toolu_01…`, `srvtoolu_01…`: prefix, `01`, 22 base58 characters. */
  id(prefix) {
    return `${prefix}_01${this.base58(22)}`;
  }
  requestId() {
    return `req_011C${this.base58(20)}`;
  }
  /** Opaque base64 blob (signatures, encrypted_content): starts with `E` like the real ones. */
  blob(bytes) {
    const buf = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) buf[i] = this.int(0, 255);
    return 'E' + buf.toString('base64').slice(1);
  }
}

// ---------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------

/** JSON the way tool input streams it: `{"a": 1, "b": [1, 2]}` (Python json.dumps separators). */
function toolJson(value) {
  if (Array.isArray(value)) return `[${value.map(toolJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${toolJson(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** Splits by code point so no piece ever holds half a surrogate pair. */
function cps(s) {
  return Array.from(s);
}

/**
 * Splits prose into text deltas: runs of 1-6 words, sometimes breaking inside
 * a word, as the real tokeniser-sized deltas do.
 * @param {Rng} rng @param {string} text @returns {string[]}
 */
function splitText(rng, text) {
  const words = text.match(/\s*\S+\s*?(?=\s|$)|\s+$/gu) ?? [text];
  const pieces = [];
  let carry = '';
  let i = 0;
  while (i < words.length) {
    const n = Math.min(rng.int(1, 6), words.length - i);
    let piece = carry + words.slice(i, i + n).join('');
    carry = '';
    i += n;
    const chars = cps(piece);
    if (i < words.length && chars.length > 6 && rng.chance(0.2)) {
      const cut = chars.length - rng.int(1, 3);
      carry = chars.slice(cut).join('');
      piece = chars.slice(0, cut).join('');
    }
    pieces.push(piece);
  }
  if (carry) pieces.push(carry);
  if (pieces.join('') !== text) throw new Error(`splitText lost characters in ${JSON.stringify(text)}`);
  return pieces;
}

/** Splits serialised tool input into arbitrary 2-14 character fragments. */
function splitJson(rng, json) {
  const chars = cps(json);
  const pieces = [];
  let i = 0;
  while (i < chars.length) {
    const n = rng.int(2, 14);
    pieces.push(chars.slice(i, i + n).join(''));
    i += n;
  }
  return pieces;
}

// ---------------------------------------------------------------------------
// Stream builder
// ---------------------------------------------------------------------------

class Stream {
  /**
   * @param {string} file
   * @param {{ model: string, inputTokens: number, cacheRead?: number, cacheCreation?: number,
   *   geo?: string, stopDetails?: boolean, startOutputTokens?: number, id?: string }} opts
   */
  constructor(file, opts) {
    this.rng = new Rng(file);
    this.opts = opts;
    this.parts = [];
    this.nextIndex = 0;
    this.pinged = false;
    this.outChars = 0;
    this.blocks = 0;
    this.id = opts.id ?? this.rng.id('msg');
  }

  /** Spaces before the last `}`: most lines get 1-15, some none. */
  padding() {
    return this.rng.chance(0.88) ? ' '.repeat(this.rng.int(1, 15)) : '';
  }

  /** @param {object} payload @param {{ name?: string, pad?: boolean }} [o] */
  event(payload, o = {}) {
    const json = JSON.stringify(payload);
    const data = o.pad === false ? json : json.slice(0, -1) + this.padding() + '}';
    return this.raw(o.name ?? payload.type, data);
  }

  /** An event with a literal data line (used for broken recordings). */
  raw(name, data) {
    this.parts.push(`event: ${name}\ndata: ${data}\n\n`);
    return this;
  }

  ping() {
    this.pinged = true;
    return this.raw('ping', '{"type": "ping"}');
  }

  messageStart(overrides = {}) {
    const o = this.opts;
    const message = {
      model: o.model,
      id: this.id,
      type: 'message',
      role: 'assistant',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      ...(o.stopDetails === false ? {} : { stop_details: null }),
      usage: {
        input_tokens: o.inputTokens,
        cache_creation_input_tokens: o.cacheCreation ?? 0,
        cache_read_input_tokens: o.cacheRead ?? 0,
        cache_creation: { ephemeral_5m_input_tokens: o.cacheCreation ?? 0, ephemeral_1h_input_tokens: 0 },
        output_tokens: o.startOutputTokens ?? this.rng.int(1, 8),
        service_tier: 'standard',
        inference_geo: o.geo ?? 'not_available',
      },
      ...overrides,
    };
    return this.event({ type: 'message_start', message });
  }

  /** Starts a block at the next index (or `index`); pings after the first start. */
  blockStart(contentBlock, index = this.nextIndex) {
    this.nextIndex = index + 1;
    this.blocks++;
    this.event({ type: 'content_block_start', index, content_block: contentBlock });
    if (!this.pinged) this.ping();
    return index;
  }

  delta(index, delta, o = {}) {
    for (const key of ['text', 'thinking', 'partial_json']) {
      if (typeof delta[key] === 'string') this.outChars += delta[key].length;
    }
    return this.event({ type: 'content_block_delta', index, delta }, o);
  }

  blockStop(index) {
    return this.event({ type: 'content_block_stop', index });
  }

  /**
   * A whole text block.
   * @param {string | string[]} text prose (auto-split) or explicit delta pieces
   * @param {{ citations?: object[], stop?: boolean }} [o] citations are sent as
   *   citations_delta events before the text, on a block started with `citations: []`
   */
  text(text, o = {}) {
    const pieces = Array.isArray(text) ? text : splitText(this.rng, text);
    const cited = o.citations !== undefined;
    const index = this.blockStart(cited ? { citations: [], type: 'text', text: '' } : { type: 'text', text: '' });
    for (const citation of o.citations ?? []) this.delta(index, { type: 'citations_delta', citation });
    for (const piece of pieces) this.delta(index, { type: 'text_delta', text: piece });
    if (o.stop !== false) this.blockStop(index);
    return index;
  }

  /**
   * A whole tool_use / server_tool_use block.
   * @param {string} name @param {object} input
   * @param {{ id?: string, server?: boolean, cutAfter?: number, stop?: boolean, json?: string, split?: (json: string) => string[] }} [o]
   *   cutAfter: stream only this many code points of the input JSON;
   *   json: stream this raw text instead of `input` serialised (it need not be JSON);
   *   split: how to cut it into deltas (default: 2-14 character fragments)
   */
  toolUse(name, input, o = {}) {
    const id = o.id ?? this.rng.id(o.server ? 'srvtoolu' : 'toolu');
    const block = o.server
      ? { type: 'server_tool_use', id, name, input: {} }
      : { type: 'tool_use', id, name, input: {}, caller: { type: 'direct' } };
    const index = this.blockStart(block);
    let json = o.json ?? (input === null ? '' : toolJson(input));
    if (o.cutAfter !== undefined) json = cps(json).slice(0, o.cutAfter).join('');
    this.delta(index, { type: 'input_json_delta', partial_json: '' });
    const pieces = o.split ? o.split(json) : splitJson(this.rng, json);
    if (json) for (const piece of pieces) this.delta(index, { type: 'input_json_delta', partial_json: piece });
    if (o.stop !== false) this.blockStop(index);
    return id;
  }

  /** Thinking deltas, a final empty thinking_delta, then the signature. */
  thinking(text) {
    const index = this.blockStart({ type: 'thinking', thinking: '', signature: '' });
    for (const piece of splitText(this.rng, text)) this.delta(index, { type: 'thinking_delta', thinking: piece });
    this.delta(index, { type: 'thinking_delta', thinking: '' }, { pad: false });
    this.delta(index, { type: 'signature_delta', signature: this.rng.blob(this.rng.int(280, 420)) });
    this.blockStop(index);
    return index;
  }

  /** A plausible output token count for what was streamed. */
  estimatedOutputTokens() {
    return Math.ceil(this.outChars / 3.7) + 3 * this.blocks + this.rng.int(0, 4);
  }

  /**
   * @param {string} stopReason
   * @param {{ stopSequence?: string | null, stopDetails?: object | null, outputTokens?: number,
   *   usage?: object, extra?: object }} [o]
   */
  messageDelta(stopReason, o = {}) {
    const delta = { stop_reason: stopReason, stop_sequence: o.stopSequence ?? null };
    if (this.opts.stopDetails !== false) delta.stop_details = o.stopDetails ?? null;
    const usage = {
      input_tokens: this.opts.inputTokens,
      cache_creation_input_tokens: this.opts.cacheCreation ?? 0,
      cache_read_input_tokens: this.opts.cacheRead ?? 0,
      output_tokens: o.outputTokens ?? this.estimatedOutputTokens(),
      ...o.usage,
    };
    return this.event({ type: 'message_delta', delta, usage, ...o.extra });
  }

  messageStop() {
    return this.event({ type: 'message_stop' });
  }

  toString() {
    return this.parts.join('');
  }
}

// ---------------------------------------------------------------------------
// Recordings
// ---------------------------------------------------------------------------

const HAIKU45 = 'claude-haiku-4-5-20251001';
const SONNET46 = 'claude-sonnet-4-6';

/**
 * @typedef {{ ok: boolean, stopReason: string | null, errorCode: string | null, dropped: number }} Verdict
 * @typedef {{ file: string, what: string, verdict: Verdict, build: () => string }} Recording
 */

/** @type {Recording[]} */
const recordings = [];

/** @param {string} file @param {string} what @param {Verdict} verdict @param {(file: string) => string} build */
function define(file, what, verdict, build) {
  recordings.push({ file, what, verdict, build: () => build(file) });
}

const ok = (stopReason, dropped = 0) => ({ ok: true, stopReason, errorCode: null, dropped });
const fail = (errorCode, stopReason = null) => ({ ok: false, stopReason, errorCode, dropped: 0 });

// --- valid -----------------------------------------------------------------

define('end-turn-text.sse', 'One text block, end_turn. The baseline.', ok('end_turn'), (file) => {
  const s = new Stream(file, { model: SONNET46, inputTokens: 24 });
  s.messageStart();
  s.text(
    'Canberra is the capital of Australia. It was purpose-built as a compromise between Sydney and Melbourne, ' +
      'the two largest cities, and Parliament first sat there in 1927.',
  );
  s.messageDelta('end_turn');
  return s.messageStop().toString();
});

define(
  'tool-use-text-says-done.sse',
  'Text "I\'m done." followed by a tool_use; stop_reason tool_use. Branch on stop_reason, never on the text.',
  ok('tool_use'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 1873, cacheRead: 4096 });
    s.messageStart();
    s.text(["I'm", ' done.']);
    s.toolUse('mark_task_complete', {
      task_id: 'T-142',
      summary: 'Renamed loadConfig to readConfig and updated all 14 imports.',
    });
    s.messageDelta('tool_use');
    return s.messageStop().toString();
  },
);

define('tool-use-single.sse', 'Text, then one tool_use (caller direct, empty first input_json_delta); stop_reason tool_use.', ok('tool_use'), (file) => {
  const s = new Stream(file, { model: SONNET46, inputTokens: 612 });
  s.messageStart();
  s.text("I'll check the current weather in Lisbon for you.");
  s.toolUse('get_weather', { location: 'Lisbon, Portugal', unit: 'celsius' });
  s.messageDelta('tool_use');
  return s.messageStop().toString();
});

define(
  'tool-use-parallel-3.sse',
  'Three tool_use blocks in one turn, no text; the third takes no arguments and receives only `partial_json: ""` (input must be {}).',
  ok('tool_use'),
  (file) => {
    const s = new Stream(file, { model: HAIKU45, inputTokens: 948 });
    s.messageStart();
    s.toolUse('get_weather', { location: 'Paris, France' });
    s.toolUse('get_local_time', { timezone: 'Europe/Paris' });
    s.toolUse('get_user_preferences', null);
    s.messageDelta('tool_use');
    return s.messageStop().toString();
  },
);

define(
  'tool-use-eager-invalid-json.sse',
  'Fine-grained tool streaming (`eager_input_streaming`): a tool_use whose streamed input is not JSON (unescaped quotes inside a string), closed, stop_reason tool_use. Long chunks, as eager streaming sends them. Accepted; the block is reported in `invalidToolInputs` and its input is `{"INVALID_JSON": <raw>}`.',
  ok('tool_use'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 1210 });
    s.messageStart();
    s.text("I'll write the poem to poem.txt.");
    // Eager chunks are long and unbuffered; the model left the inner quotes of "silver" unescaped.
    const pieces = ['{"filename": "poem.txt", "lines_of_text": ["The sea at dusk,', ' a "silver" hush,', ' the gulls gone home"]}'];
    s.toolUse('make_file', null, { json: pieces.join(''), split: () => pieces });
    s.messageDelta('tool_use');
    return s.messageStop().toString();
  },
);

// The pause_turn pair shares the pending search: the resumed stream opens with its result.
const pauseShared = new Rng('pause-turn-shared');
const PENDING_SEARCH_ID = pauseShared.id('srvtoolu');

/** @param {Rng} rng */
function searchResults(rng, results) {
  return results.map(([title, url, pageAge]) => ({
    type: 'web_search_result',
    title,
    url,
    encrypted_content: rng.blob(rng.int(240, 420)),
    page_age: pageAge,
  }));
}

/** @param {Rng} rng */
function webCitation(rng, citedText, url, title) {
  return { type: 'web_search_result_location', cited_text: citedText, url, title, encrypted_index: rng.blob(rng.int(90, 110)) };
}

define(
  'pause-turn-web-search.sse',
  'server_tool_use web_search + web_search_tool_result + cited text (citations_delta), then a second search still pending; stop_reason pause_turn.',
  ok('pause_turn'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 2214 });
    s.messageStart();
    s.text("I'll look up the current official heights of both mountains.");
    const searchId = s.toolUse('web_search', { query: 'Mount Everest official height 2020 survey' }, { server: true });
    const wiki = ['Mount Everest - Wikipedia', 'https://en.wikipedia.org/wiki/Mount_Everest', '2 days ago'];
    const brit = ['Mount Everest | Height, Location, Map, Facts, Climbers, & Deaths | Britannica', 'https://www.britannica.com/place/Mount-Everest', '3 weeks ago'];
    const bbc = ['Mount Everest: China and Nepal agree on new height - BBC News', 'https://www.bbc.com/news/world-asia-55232656', 'December 8, 2020'];
    const i = s.blockStart({ type: 'web_search_tool_result', tool_use_id: searchId, content: searchResults(s.rng, [wiki, brit, bbc]) });
    s.blockStop(i);
    s.text('Based on the search results: ');
    s.text('In December 2020, Nepal and China jointly announced a revised height of 8,848.86 metres (29,031.7 ft) for Mount Everest', {
      citations: [
        webCitation(s.rng, 'China and Nepal have jointly announced a new height for Mount Everest, ending a long-running disagreement. The mountain is 8,848.86m (29,031.7ft), the two countries said.', bbc[1], bbc[0]),
      ],
    });
    s.text('. Now let me look up K2.');
    s.toolUse('web_search', { query: 'K2 mountain height metres' }, { server: true, id: PENDING_SEARCH_ID });
    s.messageDelta('pause_turn', { usage: { server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 } } });
    return s.messageStop().toString();
  },
);

define(
  'pause-turn-resumed.sse',
  'The continuation of pause-turn-web-search.sse: opens with the web_search_tool_result for the pending search at index 0, then cited text; end_turn.',
  ok('end_turn'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 6127 });
    s.messageStart();
    const k2wiki = ['K2 - Wikipedia', 'https://en.wikipedia.org/wiki/K2', '5 days ago'];
    const k2brit = ['K2 | Mountain, Pakistan, China, Map, & Facts | Britannica', 'https://www.britannica.com/place/K2', '1 month ago'];
    const i = s.blockStart({ type: 'web_search_tool_result', tool_use_id: PENDING_SEARCH_ID, content: searchResults(s.rng, [k2wiki, k2brit]) });
    s.blockStop(i);
    s.text('K2 stands at 8,611 metres (28,251 ft) above sea level', {
      citations: [
        webCitation(s.rng, 'K2, at 8,611 metres (28,251 ft) above sea level, is the second-highest mountain on Earth, after Mount Everest at 8,849 metres (29,032 ft).', k2wiki[1], k2wiki[0]),
      ],
    });
    s.text(', which makes it the second-highest mountain on Earth, about 238 metres lower than Everest.');
    s.messageDelta('end_turn', { usage: { server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 } } });
    return s.messageStop().toString();
  },
);

define(
  'max-tokens-mid-tool-use.sse',
  'Text block, then a tool_use whose input JSON is cut off and that never gets content_block_stop; message_delta max_tokens. The open tool_use is dropped.',
  ok('max_tokens', 1),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 1342 });
    s.messageStart();
    s.text("I'll save the meeting notes to a file.");
    const input = {
      path: 'notes/2025-06-12-planning.md',
      content:
        '# Planning meeting, 12 June\n\n## Decisions\n- Ship the CSV importer behind a feature flag\n- Move the public beta to July\n\n' +
        '## Action items\n- Dana: draft the migration guide\n- Luis: benchmark the importer on the 2 GB sample',
    };
    s.toolUse('write_file', input, { cutAfter: 190, stop: false });
    s.messageDelta('max_tokens', { outputTokens: 80 });
    return s.messageStop().toString();
  },
);

define('max-tokens-text.sse', 'Text cut mid-sentence; the block is closed, then stop_reason max_tokens.', ok('max_tokens'), (file) => {
  const s = new Stream(file, { model: HAIKU45, inputTokens: 31 });
  s.messageStart();
  s.text(
    'Photosynthesis is the process by which plants, algae and some bacteria turn light energy into chemical energy. ' +
      'In the light-dependent reactions, chlorophyll absorbs photons and splits water molecules, releasing oxygen and ' +
      'producing ATP and NADPH. These energy carriers then power the Calvin cycle, where the enzyme RuBisCO fixes carbon dioxide into',
  );
  s.messageDelta('max_tokens', { outputTokens: 64 });
  return s.messageStop().toString();
});

define(
  'stop-sequence.sse',
  'Generation stopped by the stop sequence `</answer>` (not included in the text); message_delta carries stop_sequence.',
  ok('stop_sequence'),
  (file) => {
    const s = new Stream(file, { model: HAIKU45, inputTokens: 407 });
    s.messageStart();
    s.text('Checking the timetable you pasted: the 13:40 service is cancelled.\n\n<answer>The next train to Porto leaves at 14:05 from platform 3.');
    s.messageDelta('stop_sequence', { stopSequence: '</answer>' });
    return s.messageStop().toString();
  },
);

define(
  'refusal.sse',
  'Some text, then stop_reason refusal with stop_details {type: refusal, category: cyber, explanation, …}.',
  ok('refusal'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 96 });
    s.messageStart();
    s.text('I can walk through how this class of vulnerability works at a high level, but');
    s.messageDelta('refusal', {
      stopDetails: {
        type: 'refusal',
        category: 'cyber',
        explanation: "This request triggered restrictions on violative cyber content and was blocked under Anthropic's Usage Policy.",
        fallback_credit_token: null,
        fallback_has_prefill_claim: null,
        recommended_model: null,
      },
    });
    return s.messageStop().toString();
  },
);

define(
  'model-context-window-exceeded.sse',
  'Long cached prompt; output stops when input + output reach the 200k context window (stop_reason model_context_window_exceeded), text cut mid-sentence, block closed.',
  ok('model_context_window_exceeded'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 1204, cacheRead: 198660 });
    s.messageStart();
    s.text(
      "Here's a summary of the incident log you shared.\n\n**Timeline**\n- 02:14 UTC: the primary database began rejecting " +
        'connections after the connection pool hit its limit of 500.\n- 02:17 UTC: the on-call engineer was paged and failed ' +
        'traffic over to the read replica, which restored reads but left writes failing.\n- 02:41 UTC: a deploy that had ' +
        'raised the worker count from 40 to 120 was rolled back, and connection usage dropped to',
    );
    s.messageDelta('model_context_window_exceeded', { outputTokens: 200000 - 1204 - 198660 });
    return s.messageStop().toString();
  },
);

define(
  'thinking-signature.sse',
  'thinking block (several thinking_delta, a final empty one, one signature_delta), then text; end_turn.',
  ok('end_turn'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 52 });
    s.messageStart();
    s.thinking(
      'The user asks how many weekdays there are in March 2025. January 1, 2025 was a Wednesday, so February 1 was a ' +
        'Saturday and March 1 is also a Saturday. March has 31 days: four full weeks give 20 weekdays, and the three ' +
        'remaining days are Saturday 29, Sunday 30 and Monday 31, which adds one more. So 21 weekdays.',
    );
    s.text(
      'March 2025 has **21 weekdays** (Monday to Friday). The month starts on a Saturday, so the first four full weeks ' +
        'contain 20 weekdays, and the leftover days (Saturday 29th, Sunday 30th and Monday 31st) add one more.',
    );
    s.messageDelta('end_turn');
    return s.messageStop().toString();
  },
);

define('redacted-thinking.sse', 'redacted_thinking block (opaque data, no deltas), then text; end_turn.', ok('end_turn'), (file) => {
  const s = new Stream(file, { model: SONNET46, inputTokens: 118 });
  s.messageStart();
  const i = s.blockStart({ type: 'redacted_thinking', data: s.rng.blob(s.rng.int(420, 560)) });
  s.blockStop(i);
  s.text(
    'The safest order is: isolate the affected host from the network first, then rotate every credential that was ' +
      'stored on it, and only then restore it from the last backup taken before the intrusion.',
  );
  s.messageDelta('end_turn', { outputTokens: 142 });
  return s.messageStop().toString();
});

const POLICY =
  'Returns are accepted within 30 days of delivery. Items must be unused and in their original packaging. ' +
  'Refunds are issued to the original payment method within 5 business days of inspection.';

/** A char_location citation of one sentence of POLICY. */
function policyCitation(sentence) {
  const start = POLICY.indexOf(sentence);
  if (start < 0) throw new Error(`not in policy: ${sentence}`);
  return {
    type: 'char_location',
    cited_text: sentence,
    document_index: 0,
    document_title: 'Return policy',
    start_char_index: start,
    end_char_index: start + sentence.length,
  };
}

define(
  'citations-document.sse',
  'Answer about a plain-text document: cited text blocks start with `citations: []` and get a char_location citations_delta before their text; end_turn.',
  ok('end_turn'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 655 });
    s.messageStart();
    s.text('You can return an item within 30 days of delivery', { citations: [policyCitation('Returns are accepted within 30 days of delivery. ')] });
    s.text(', as long as ');
    s.text("it's unused and still in its original packaging", { citations: [policyCitation('Items must be unused and in their original packaging. ')] });
    s.text('. Once the return has been inspected, ');
    s.text('the refund goes back to your original payment method within 5 business days', {
      citations: [policyCitation('Refunds are issued to the original payment method within 5 business days of inspection.')],
    });
    s.text('.');
    s.messageDelta('end_turn');
    return s.messageStop().toString();
  },
);

define(
  'compaction.sse',
  'compaction block (content null at start, one compaction_delta with the summary), then text; usage.iterations and context_management in message_delta.',
  ok('end_turn'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 142, cacheRead: 61384, geo: 'global' });
    s.messageStart();
    const i = s.blockStart({ type: 'compaction', content: null });
    s.delta(i, {
      type: 'compaction_delta',
      content:
        'The user is migrating a Django 3.2 project to Django 5.1. Done so far: replaced the deprecated ' +
        '`django.conf.urls.url` calls with `re_path`, updated `DEFAULT_AUTO_FIELD`, and fixed the failing tests in ' +
        '`billing/`. Still open: the custom `JSONField` in `orders/models.py` must move to `models.JSONField`, and the ' +
        'user asked whether a data migration is needed.\n\nNext step: answer the data-migration question.',
    });
    s.blockStop(i);
    s.text(
      'No data migration is needed: `models.JSONField` stores the same JSON column type, so switching the field class ' +
        'only produces a schema-free `AlterField` migration. Run `makemigrations orders` and check that the generated ' +
        'migration contains nothing but that `AlterField`.',
    );
    // outChars only counts text deltas, so the estimate is the text's share (the
    // message iteration); the compaction iteration reports the summary's tokens.
    const summaryTokens = 104;
    const textTokens = s.estimatedOutputTokens();
    const cacheCreation = { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 };
    s.messageDelta('end_turn', {
      outputTokens: textTokens,
      usage: {
        input_tokens: 246,
        cache_read_input_tokens: 0,
        iterations: [
          { input_tokens: 142, output_tokens: summaryTokens, cache_read_input_tokens: 61384, cache_creation_input_tokens: 0, cache_creation: cacheCreation, type: 'compaction' },
          { input_tokens: 246, output_tokens: textTokens, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation: cacheCreation, type: 'message' },
        ],
      },
      extra: { context_management: { applied_edits: [] } },
    });
    return s.messageStop().toString();
  },
);

define(
  'multibyte-utf8.sse',
  'Japanese text with emoji, including 4-byte UTF-8 characters (🍣, 🎉, 👋🏽, 𠮷) inside single deltas; end_turn.',
  ok('end_turn'),
  (file) => {
    const s = new Stream(file, { model: HAIKU45, inputTokens: 38 });
    s.messageStart();
    s.text([
      'こんにちは',
      '！今日の東京は',
      '晴れ☀️で、',
      '最高気温は',
      '24℃の予報です。',
      '\n\nお昼のおすすめ：',
      '🍣お寿司、',
      '🍜ラーメン、',
      'それから𠮷野家の',
      '牛丼も人気です。',
      '良い一日を',
      '🎉👋🏽',
    ]);
    s.messageDelta('end_turn', { outputTokens: 71 });
    return s.messageStop().toString();
  },
);

define(
  'error-event-overloaded.sse',
  'message_start, a text block with a few deltas, then `event: error` (overloaded_error, with request_id) and the connection ends.',
  fail('api_error'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 2318 });
    s.messageStart();
    s.text(["Here's a summary of", ' the three proposals:\n\n1. **', 'Proposal A', '** moves the'], { stop: false });
    s.event({ type: 'error', error: { details: null, type: 'overloaded_error', message: 'Overloaded' }, request_id: s.rng.requestId() });
    return s.toString();
  },
);

define(
  'ptc-prepopulated-tool-use.sse',
  'Programmatic tool calling: code execution calls a client tool. message_start already holds the finished blocks (a code_execution_tool_result, then a tool_use whose caller is the code_execution server tool), stop_reason tool_use, zero usage with server_tool_use, a container; then message_stop directly (no block events, no message_delta, no ping).',
  ok('tool_use'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 0 });
    const codeRun = s.rng.id('srvtoolu');
    const earlier = s.rng.id('srvtoolu');
    const expires = '2026-12-01T09:14:27.318904Z';
    s.messageStart({
      content: [
        {
          type: 'code_execution_tool_result',
          tool_use_id: earlier,
          content: { type: 'code_execution_result', stdout: 'regions: 3\n', stderr: '', return_code: 0, content: [] },
        },
        {
          type: 'tool_use',
          id: s.rng.id('toolu'),
          name: 'query_database',
          input: { sql: "SELECT region, SUM(revenue) FROM sales WHERE region = 'West' GROUP BY region" },
          caller: { type: 'code_execution_20250825', tool_id: codeRun },
        },
      ],
      stop_reason: 'tool_use',
      usage: {
        input_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        output_tokens: 0,
        server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
        service_tier: 'standard',
        inference_geo: 'not_available',
      },
      container: { id: `container_011C${s.rng.base58(20)}`, expires_at: expires },
    });
    return s.messageStop().toString();
  },
);

// --- broken ----------------------------------------------------------------

define(
  'broken-delta-before-block-start.sse',
  'The first content_block_delta for index 0 arrives before its content_block_start.',
  fail('unexpected_event'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 19 });
    s.messageStart();
    s.ping();
    s.delta(0, { type: 'text_delta', text: 'Sure' });
    s.blockStart({ type: 'text', text: '' });
    s.delta(0, { type: 'text_delta', text: ', here is a haiku:\n\nMorning' });
    s.delta(0, { type: 'text_delta', text: ' fog on the bay\nthe ferry' });
    s.delta(0, { type: 'text_delta', text: ' horn arrives\nbefore the ferry' });
    s.blockStop(0);
    s.messageDelta('end_turn');
    return s.messageStop().toString();
  },
);

define('broken-block-index-gap.sse', 'Block 0, then a content_block_start for index 2 (index 1 skipped).', fail('block_index_mismatch'), (file) => {
  const s = new Stream(file, { model: SONNET46, inputTokens: 233 });
  s.messageStart();
  s.text('The function returns early when the list is empty.');
  s.nextIndex = 2; // skip index 1
  s.text(' Otherwise it sorts a copy of the list and returns the middle element.');
  s.messageDelta('end_turn');
  return s.messageStop().toString();
});

define(
  'broken-text-delta-on-tool-use.sse',
  'A text_delta sent to an open tool_use block.',
  fail('delta_type_mismatch'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 540 });
    s.messageStart();
    const index = s.blockStart({ type: 'tool_use', id: s.rng.id('toolu'), name: 'search_orders', input: {}, caller: { type: 'direct' } });
    s.delta(index, { type: 'input_json_delta', partial_json: '' });
    s.delta(index, { type: 'input_json_delta', partial_json: '{"customer_id' });
    s.delta(index, { type: 'text_delta', text: 'Let me look up your orders.' });
    s.delta(index, { type: 'input_json_delta', partial_json: '": "cus_8841"}' });
    s.blockStop(index);
    s.messageDelta('tool_use');
    return s.messageStop().toString();
  },
);

define(
  'broken-missing-message-stop.sse',
  'A complete message up to message_delta (end_turn); the stream ends without message_stop.',
  fail('incomplete_stream', 'end_turn'),
  (file) => {
    const s = new Stream(file, { model: HAIKU45, inputTokens: 27 });
    s.messageStart();
    s.text('A leap year has 366 days; the extra day is February 29.');
    s.messageDelta('end_turn');
    return s.toString();
  },
);

define(
  'broken-truncated-mid-block.sse',
  'The connection ends inside a text block: after a few deltas, no content_block_stop, message_delta or message_stop.',
  fail('incomplete_stream'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 88 });
    s.messageStart();
    s.text(['To rotate the logs daily, add a', ' `daily` directive and a', ' `rotate 7` line to the'], { stop: false });
    return s.toString();
  },
);

define(
  'broken-invalid-json.sse',
  'One content_block_delta data line is not JSON (unescaped quotes inside the text string).',
  fail('invalid_json'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 42 });
    s.messageStart();
    const index = s.blockStart({ type: 'text', text: '' });
    s.delta(index, { type: 'text_delta', text: 'The error message' });
    s.raw('content_block_delta', `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" says "file not found""}${' '.repeat(7)}}`);
    s.delta(index, { type: 'text_delta', text: ', so check the path.' });
    s.blockStop(index);
    s.messageDelta('end_turn');
    return s.messageStop().toString();
  },
);

define(
  'broken-event-name-mismatch.sse',
  'An `event: content_block_stop` line whose data is a content_block_delta payload.',
  fail('event_name_mismatch'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 57 });
    s.messageStart();
    const index = s.blockStart({ type: 'text', text: '' });
    s.delta(index, { type: 'text_delta', text: 'Use `git log --follow`' });
    s.delta(index, { type: 'text_delta', text: ' to see the history' }, { name: 'content_block_stop' });
    s.delta(index, { type: 'text_delta', text: ' of a renamed file.' });
    s.blockStop(index);
    s.messageDelta('end_turn');
    return s.messageStop().toString();
  },
);

define(
  'broken-open-block-at-end-turn.sse',
  'message_delta with stop_reason end_turn while the tool_use block at index 1 is still open (only max_tokens may leave a block open).',
  fail('block_open_at_message_delta'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 701 });
    s.messageStart();
    s.text("I'll create the branch now.");
    s.toolUse('git_create_branch', { name: 'fix/login-redirect', from: 'main' }, { stop: false });
    s.messageDelta('end_turn');
    return s.messageStop().toString();
  },
);

define(
  'broken-event-after-message-stop.sse',
  'A complete message, then a content_block_start after message_stop.',
  fail('event_after_message_stop', 'end_turn'),
  (file) => {
    const s = new Stream(file, { model: HAIKU45, inputTokens: 33 });
    s.messageStart();
    s.text('Water boils at 100 °C at sea level.');
    s.messageDelta('end_turn');
    s.messageStop();
    s.event({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } });
    return s.toString();
  },
);

define(
  'broken-double-message-start.sse',
  'A second message_start (another message id) after the first text block, before any message_delta.',
  fail('unexpected_event'),
  (file) => {
    const s = new Stream(file, { model: SONNET46, inputTokens: 64 });
    s.messageStart();
    s.text('The two approaches differ mainly in');
    s.id = s.rng.id('msg');
    s.messageStart();
    s.nextIndex = 0;
    s.text('The two approaches differ mainly in how they handle retries.');
    s.messageDelta('end_turn');
    return s.messageStop().toString();
  },
);

// ---------------------------------------------------------------------------
// README
// ---------------------------------------------------------------------------

function readme() {
  const row = (r) =>
    `| \`${r.file}\` | ${r.what.replaceAll('|', '\\|')} | ${r.verdict.ok} | ${r.verdict.stopReason ?? '—'} | ${r.verdict.errorCode ? `\`${r.verdict.errorCode}\`` : '—'} | ${r.verdict.dropped} |`;
  return `# recordings/

Server-sent-event streams of the Claude Messages API that this project wrote
itself. **Generated** by \`scripts/make-recordings.mjs\` (deterministic,
seeded); do not edit by hand. Regenerate with \`node scripts/make-recordings.mjs\`
and check for drift with \`node scripts/make-recordings.mjs --check\`.

They imitate the real wire format (see the real-stream corpus, which is kept
outside this repository): \`event:\`/\`data:\` pairs separated by blank lines,
random whitespace padding before the final \`}\` of most data lines,
\`data: {"type": "ping"}\` after the first \`content_block_start\`, realistic
\`msg_01…\`/\`toolu_01…\`/\`srvtoolu_01…\` ids, usage in \`message_start\` and
\`message_delta\`, \`caller\` on tool_use starts, an empty first
\`input_json_delta\`. Every valid recording is accepted by the Anthropic SDK's
beta stream accumulator (see \`test/recordings.test.ts\`).

The verdicts below are also in \`verdicts.json\`
(\`{ "<file>": { "ok", "stopReason", "errorCode", "dropped" } }\`), which the
tests read:

- **ok**: whether a strict parser accepts the stream.
- **stopReason**: the final \`stop_reason\`. For a stream that fails, the
  stop_reason of the last \`message_delta\` accepted before the failing event,
  if any. \`—\` in the tables is \`null\` in verdicts.json.
- **errorCode**: the stable turnstate error code the stream must fail with.
  SSE layer: \`invalid_json\`, \`event_name_mismatch\`, \`malformed_event\`,
  \`invalid_utf8\`, \`line_too_long\`. Stream layer: \`unexpected_event\`,
  \`block_index_mismatch\`, \`delta_type_mismatch\`,
  \`block_open_at_message_delta\`, \`event_after_message_stop\`,
  \`incomplete_stream\`, \`api_error\`.
- **dropped**: content blocks left out of the assembled message (a block still
  open when \`max_tokens\` arrives). 0 for failing streams.

## Valid streams

| file | what it shows | ok | stopReason | error code | dropped |
|---|---|---|---|---|---|
${recordings.filter((r) => !r.file.startsWith('broken-') && r.verdict.ok).map(row).join('\n')}

## Streams that must be rejected

| file | what it shows | ok | stopReason | error code | dropped |
|---|---|---|---|---|---|
${recordings.filter((r) => r.file.startsWith('broken-') || !r.verdict.ok).map(row).join('\n')}

\`pause-turn-web-search.sse\` and \`pause-turn-resumed.sse\` belong together: the
second search of the first stream (still pending at \`pause_turn\`) is the
\`tool_use_id\` of the \`web_search_tool_result\` that opens the second.
\`error-event-overloaded.sse\` is well-formed up to the point where the API
reports an error; the \`broken-*\` files each break exactly one rule.
`;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function outputs() {
  /** @type {Map<string, string>} */
  const files = new Map();
  const verdicts = {};
  for (const r of recordings) {
    files.set(r.file, r.build());
    verdicts[r.file] = r.verdict;
  }
  files.set('verdicts.json', JSON.stringify(verdicts, null, 2) + '\n');
  files.set('README.md', readme());
  return files;
}

const check = process.argv.includes('--check');
const files = outputs();
const stale = [];
if (!check) mkdirSync(OUT_DIR, { recursive: true });
for (const [name, content] of files) {
  const path = join(OUT_DIR, name);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (current === content) continue;
  stale.push(name);
  if (!check) writeFileSync(path, content);
}
const unknown = existsSync(OUT_DIR) ? readdirSync(OUT_DIR).filter((f) => f.endsWith('.sse') && !files.has(f)) : [];
for (const f of unknown) console.warn(`make-recordings: recordings/${f} is not generated by this script`);
if (check) {
  if (stale.length) {
    console.error(`make-recordings: out of date: ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log(`make-recordings: ${files.size} files up to date`);
} else {
  console.log(`make-recordings: wrote ${stale.length} of ${files.size} files to ${OUT_DIR}`);
}
