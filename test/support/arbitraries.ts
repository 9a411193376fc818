/**
 * fast-check arbitraries for whole, valid Messages API streams — and the
 * message each one must assemble to.
 *
 * The expected message is built from the generator's own model (the text that
 * was split into deltas, the tool input that was stringified and split, …),
 * never by running turnstate or the SDK: a property that compares turnstate's
 * message with it compares two independent derivations.
 *
 * Layers:
 * - {@link validStreamArb}: a plan of blocks, stop reason, usage, pings →
 *   `{ events, expected }` (events are plain objects, as the API sends them).
 * - {@link serialize} + {@link sseFormatArb}: events → SSE bytes, with the real
 *   API's whitespace padding inside the JSON, `{"type": "ping"}`, LF / CRLF / CR,
 *   an optional BOM, an optional missing final blank line, and the byte offset
 *   of every `data` payload (computed while writing, independently of the framer).
 * - {@link chunk} + {@link chunkingArb}: random byte chunking, which splits
 *   multibyte UTF-8 characters (the text arbitraries are full of CJK and emoji).
 * - {@link mutationArb} + {@link applyMutations}: swap / drop / duplicate /
 *   re-index / inject / truncate, for invalid (or accidentally valid) streams.
 */
import fc from 'fast-check';

export type Obj = Record<string, unknown>;

export const STOP_REASONS = [
  'end_turn',
  'max_tokens',
  'stop_sequence',
  'tool_use',
  'pause_turn',
  'compaction',
  'refusal',
  'model_context_window_exceeded',
] as const;
export type GenStopReason = (typeof STOP_REASONS)[number];
/** The stop reasons that may leave a block open (written down here, not imported from the machine). */
export const TRUNCATING: ReadonlySet<string> = new Set(['max_tokens', 'model_context_window_exceeded']);

export type BlockKind =
  | 'text'
  | 'tool_use'
  | 'server_tool_use'
  | 'mcp_tool_use'
  | 'thinking'
  | 'redacted_thinking'
  | 'web_search_tool_result'
  | 'compaction'
  | 'future';

/** One content block as the generator planned it. */
export interface BlockPlan {
  readonly kind: BlockKind;
  /** `content_block_start.content_block`. */
  readonly start: Obj;
  /** The `delta` objects of its `content_block_delta` events, in order. */
  readonly deltas: readonly Obj[];
  /** The block once every delta arrived and it closed (from the model, not by applying deltas). */
  readonly final: Obj;
}

export interface ExpectedDrop {
  readonly index: number;
  readonly type: string;
  readonly reason: 'unclosed' | 'invalid_input' | 'missing_signature';
  readonly partial: string;
}

export interface ValidStream {
  /** The events, pings included, as plain JSON objects. */
  readonly events: readonly Obj[];
  readonly expected: {
    readonly message: Obj;
    readonly stopReason: GenStopReason;
    readonly dropped: readonly ExpectedDrop[];
  };
  /** Number of content blocks started. */
  readonly blockCount: number;
  /** Whether the last block is left open by a truncating stop reason. */
  readonly openTail: boolean;
}

// ---------------------------------------------------------------------------
// Strings

const cjk = fc.constantFrom('日本語', '中文字', '한국어', 'テキスト', '漢', 'ｶﾀｶﾅ');
const emoji = fc.constantFrom('👋', '🎉', '👨‍👩‍👧', '🇯🇵', '😀', '𝔘𝔫𝔦', '🧑🏽‍💻');
const accented = fc.constantFrom('é', 'ñ', 'ü', 'Ω', '€', '—', '…', 'ß', 'ﬁ');
/** Characters that stress the JSON escaping and the SSE framing. */
const tricky = fc.constantFrom('\n', '\r\n', '\t', '"', '\\', '}', '{', ' ', '  ', 'data: x', 'event: ping', '\u2028', '\u0000', '\u007f', ':', '\\u00e9');

/** Non-empty-ish well-formed text (no lone surrogates), heavy on multibyte characters. */
export const textArb: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 }), cjk, emoji, accented, tricky), { maxLength: 8 })
  .map((parts) => parts.join(''));

const idChars = fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789'.split(''));
const idArb = (prefix: string): fc.Arbitrary<string> => fc.string({ unit: idChars, minLength: 6, maxLength: 24 }).map((s) => `${prefix}${s}`);
const base64Arb: fc.Arbitrary<string> = fc.base64String({ minLength: 4, maxLength: 80 });

/** Object keys, never `__proto__` (JSON.parse would make it an own key, an object literal would not). */
const keyArb: fc.Arbitrary<string> = fc
  .oneof(fc.string({ maxLength: 6 }), fc.constantFrom('query', 'path', 'lines_of_text', '日本', 'emoji👋', ''))
  .filter((k) => k !== '__proto__');

const jsonLeafArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  textArb,
);

const { json: jsonValueArb } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    jsonLeafArb,
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(keyArb, tie('json'), { maxKeys: 3, noNullPrototype: true }),
  ),
}));

/** A tool input: a JSON object, normalised through JSON (so -0 is 0, etc.). */
export const toolInputArb: fc.Arbitrary<Obj> = fc
  .dictionary(keyArb, jsonValueArb, { maxKeys: 4, noNullPrototype: true })
  .map((value) => JSON.parse(JSON.stringify(value)) as Obj);

export { jsonValueArb };

// ---------------------------------------------------------------------------
// Splitting

/** Cut points; taken modulo the length, duplicates allowed (they make empty pieces). */
export const cutsArb: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 6 });

/** Splits at code-point boundaries (a delta never holds half a surrogate pair). */
export function splitCodePoints(text: string, cuts: readonly number[]): string[] {
  const points = Array.from(text);
  const at = cuts.map((c) => c % (points.length + 1)).sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of at) {
    out.push(points.slice(prev, p).join(''));
    prev = p;
  }
  out.push(points.slice(prev).join(''));
  return out;
}

// ---------------------------------------------------------------------------
// Blocks

const citationArb: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({
    type: fc.constant('web_search_result_location'),
    url: fc.webUrl(),
    title: textArb,
    encrypted_index: base64Arb,
    cited_text: textArb,
  }),
  fc.record({
    type: fc.constant('char_location'),
    cited_text: textArb,
    document_index: fc.nat(5),
    document_title: fc.option(textArb, { nil: null }),
    start_char_index: fc.nat(1000),
    end_char_index: fc.nat(1000),
  }),
);

const textBlockArb: fc.Arbitrary<BlockPlan> = fc
  .record({
    text: textArb,
    cuts: cutsArb,
    citations: fc.array(fc.tuple(fc.nat(), citationArb), { maxLength: 3 }),
    startCitations: fc.constantFrom('absent', 'empty', 'null'),
  })
  .map(({ text, cuts, citations, startCitations }) => {
    const pieces = splitCodePoints(text, cuts);
    const deltas: Obj[] = pieces.map((piece) => ({ type: 'text_delta', text: piece }));
    // Citations go in at random places among the text deltas.
    const sorted = [...citations].sort((a, b) => a[0] - b[0]);
    let inserted = 0;
    for (const [slot, citation] of sorted) {
      const at = Math.min(slot % (pieces.length + 1) + inserted, deltas.length);
      deltas.splice(at, 0, { type: 'citations_delta', citation });
      inserted += 1;
    }
    const start: Obj = { type: 'text', text: '' };
    if (startCitations === 'empty') start['citations'] = [];
    if (startCitations === 'null') start['citations'] = null;
    const final: Obj = { ...start, text };
    // The citations in stream order, as they were interleaved.
    const inOrder = deltas.filter((d) => d['type'] === 'citations_delta').map((d) => d['citation']);
    if (inOrder.length > 0) final['citations'] = inOrder;
    return { kind: 'text' as const, start, deltas, final };
  });

const toolBlockArb: fc.Arbitrary<BlockPlan> = fc
  .record({
    kind: fc.constantFrom('tool_use' as const, 'server_tool_use' as const, 'mcp_tool_use' as const),
    id: fc.nat(),
    name: fc.constantFrom('get_weather', 'web_search', 'make_file', 'calc', 'ツール'),
    input: toolInputArb,
    pretty: fc.boolean(),
    emptyFirst: fc.boolean(),
    /** For an empty input: stream only `""` (as real no-argument tools do), or nothing at all. */
    emptyStyle: fc.constantFrom('json', 'only-empty-delta', 'no-deltas'),
    caller: fc.boolean(),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
  })
  .map(({ kind, id, name, input, pretty, emptyFirst, emptyStyle, caller, cuts }) => {
    const prefix = kind === 'tool_use' ? 'toolu_' : kind === 'server_tool_use' ? 'srvtoolu_' : 'mcptoolu_';
    const start: Obj = { type: kind, id: `${prefix}${id.toString(36)}`, name, input: {} };
    if (kind === 'mcp_tool_use') start['server_name'] = 'mcp-server';
    if (kind === 'tool_use' && caller) start['caller'] = { type: 'direct' };
    const isEmpty = Object.keys(input).length === 0;
    let deltas: Obj[];
    if (isEmpty && emptyStyle === 'only-empty-delta') deltas = [{ type: 'input_json_delta', partial_json: '' }];
    else if (isEmpty && emptyStyle === 'no-deltas') deltas = [];
    else {
      const json = pretty ? JSON.stringify(input, null, 2) : JSON.stringify(input);
      deltas = splitCodePoints(json, cuts).map((piece) => ({ type: 'input_json_delta', partial_json: piece }));
      if (emptyFirst) deltas.unshift({ type: 'input_json_delta', partial_json: '' });
    }
    return { kind, start, deltas, final: { ...start, input } };
  });

const thinkingBlockArb: fc.Arbitrary<BlockPlan> = fc
  .record({
    thinking: textArb,
    cuts: cutsArb,
    trailingEmpty: fc.boolean(),
    signature: base64Arb,
    signatureOnly: fc.boolean(),
  })
  .map(({ thinking, cuts, trailingEmpty, signature, signatureOnly }) => {
    const text = signatureOnly ? '' : thinking;
    const deltas: Obj[] = signatureOnly ? [] : splitCodePoints(text, cuts).map((piece) => ({ type: 'thinking_delta', thinking: piece }));
    if (trailingEmpty && !signatureOnly) deltas.push({ type: 'thinking_delta', thinking: '' });
    deltas.push({ type: 'signature_delta', signature });
    const start: Obj = { type: 'thinking', thinking: '', signature: '' };
    return { kind: 'thinking' as const, start, deltas, final: { type: 'thinking', thinking: text, signature } };
  });

const redactedBlockArb: fc.Arbitrary<BlockPlan> = base64Arb.map((data) => {
  const start: Obj = { type: 'redacted_thinking', data };
  return { kind: 'redacted_thinking' as const, start, deltas: [], final: { ...start } };
});

const webSearchResultArb: fc.Arbitrary<BlockPlan> = fc
  .record({
    id: fc.nat(),
    results: fc.array(
      fc.record({
        type: fc.constant('web_search_result'),
        title: textArb,
        url: fc.webUrl(),
        encrypted_content: base64Arb,
        page_age: fc.option(fc.constantFrom('3 days ago', 'March 1, 2025'), { nil: null }),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ id, results }) => {
    const start: Obj = { type: 'web_search_tool_result', tool_use_id: `srvtoolu_${id.toString(36)}`, content: results };
    return { kind: 'web_search_tool_result' as const, start, deltas: [], final: structuredClone(start) };
  });

const compactionBlockArb: fc.Arbitrary<BlockPlan> = fc
  .array(
    fc.record(
      { content: fc.option(textArb, { nil: null }), encrypted_content: base64Arb },
      { requiredKeys: ['content'] },
    ),
    { maxLength: 2 },
  )
  .map((updates) => {
    const start: Obj = { type: 'compaction', content: null };
    const deltas: Obj[] = updates.map((u) => ({ type: 'compaction_delta', ...u }));
    // The block's final value is the last update (compaction deltas assign, they do not append).
    const final: Obj = { ...start };
    for (const u of updates) {
      final['content'] = u.content;
      if ('encrypted_content' in u) final['encrypted_content'] = u.encrypted_content;
    }
    return { kind: 'compaction' as const, start, deltas, final };
  });

/** A block type this library does not know yet: it arrives whole. */
const futureBlockArb: fc.Arbitrary<BlockPlan> = fc
  .record({
    suffix: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'.split('')), minLength: 1, maxLength: 10 }),
    payload: jsonValueArb,
  })
  .map(({ suffix, payload }) => {
    const start: Obj = JSON.parse(JSON.stringify({ type: `x_future_${suffix}`, payload, note: 'arrives whole' })) as Obj;
    return { kind: 'future' as const, start, deltas: [], final: structuredClone(start) };
  });

export const blockArbs: Readonly<Record<BlockKind | 'tool', fc.Arbitrary<BlockPlan>>> = {
  text: textBlockArb,
  tool: toolBlockArb,
  tool_use: toolBlockArb,
  server_tool_use: toolBlockArb,
  mcp_tool_use: toolBlockArb,
  thinking: thinkingBlockArb,
  redacted_thinking: redactedBlockArb,
  web_search_tool_result: webSearchResultArb,
  compaction: compactionBlockArb,
  future: futureBlockArb,
};

export const blockArb: fc.Arbitrary<BlockPlan> = fc.oneof(
  { arbitrary: textBlockArb, weight: 4 },
  { arbitrary: toolBlockArb, weight: 3 },
  { arbitrary: thinkingBlockArb, weight: 2 },
  { arbitrary: redactedBlockArb, weight: 1 },
  { arbitrary: webSearchResultArb, weight: 1 },
  { arbitrary: compactionBlockArb, weight: 1 },
  { arbitrary: futureBlockArb, weight: 1 },
);

const isTool = (kind: BlockKind): boolean => kind === 'tool_use' || kind === 'server_tool_use' || kind === 'mcp_tool_use';

/**
 * What a block left open after its first `k` deltas becomes when a truncating
 * stop reason arrives: tool blocks are dropped (`unclosed`, partial = the raw
 * JSON so far), thinking without its signature is dropped (`missing_signature`),
 * everything else stays with what did arrive.
 */
function openOutcome(plan: BlockPlan, k: number, index: number): { kept: Obj } | { dropped: ExpectedDrop } {
  const got = plan.deltas.slice(0, k);
  const join = (field: string): string => got.map((d) => String(d[field] ?? '')).join('');
  if (isTool(plan.kind)) {
    return { dropped: { index, type: plan.kind, reason: 'unclosed', partial: join('partial_json') } };
  }
  switch (plan.kind) {
    case 'thinking': {
      const signature = got.find((d) => d['type'] === 'signature_delta');
      if (signature === undefined) return { dropped: { index, type: 'thinking', reason: 'missing_signature', partial: join('thinking') } };
      return { kept: { type: 'thinking', thinking: join('thinking'), signature: signature['signature'] } };
    }
    case 'text': {
      const kept: Obj = { ...plan.start, text: join('text') };
      const citations = got.filter((d) => d['type'] === 'citations_delta').map((d) => d['citation']);
      if (citations.length > 0) kept['citations'] = citations;
      return { kept };
    }
    case 'compaction': {
      const kept: Obj = { ...plan.start };
      for (const d of got) {
        kept['content'] = d['content'];
        if ('encrypted_content' in d) kept['encrypted_content'] = d['encrypted_content'];
      }
      return { kept };
    }
    default:
      return { kept: structuredClone(plan.final) };
  }
}

// ---------------------------------------------------------------------------
// Message

const usageStartArb = fc.record(
  {
    input_tokens: fc.nat(100_000),
    output_tokens: fc.nat(10),
    cache_creation_input_tokens: fc.option(fc.nat(100_000), { nil: null }),
    cache_read_input_tokens: fc.option(fc.nat(100_000), { nil: null }),
    cache_creation: fc.record({ ephemeral_5m_input_tokens: fc.nat(100), ephemeral_1h_input_tokens: fc.nat(100) }),
    service_tier: fc.constantFrom('standard', 'priority'),
  },
  { requiredKeys: ['input_tokens', 'output_tokens'] },
);

const usageDeltaArb = fc.record(
  {
    output_tokens: fc.nat(100_000),
    input_tokens: fc.option(fc.nat(100_000), { nil: null }),
    cache_creation_input_tokens: fc.option(fc.nat(100_000), { nil: null }),
    cache_read_input_tokens: fc.option(fc.nat(100_000), { nil: null }),
    server_tool_use: fc.option(fc.record({ web_search_requests: fc.nat(5) }), { nil: null }),
    iterations: fc.array(fc.record({ type: fc.constantFrom('compaction', 'message'), input_tokens: fc.nat(1000), output_tokens: fc.nat(1000) }), {
      minLength: 1,
      maxLength: 2,
    }),
    // Not one of the cumulative counters: both the SDK and turnstate leave it alone.
    cache_creation: fc.record({ ephemeral_5m_input_tokens: fc.nat(100), ephemeral_1h_input_tokens: fc.nat(100) }),
  },
  { requiredKeys: ['output_tokens'] },
);

/** The usage counters message_delta overwrites when present and non-null (the documented merge). */
export const MERGED_USAGE_FIELDS = ['output_tokens', 'input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'server_tool_use', 'iterations'] as const;

const stopDeltaArb = (stop: GenStopReason): fc.Arbitrary<Obj> =>
  fc
    .record({
      sequence: fc.constantFrom('```', '\n\nHuman:', 'END', '終'),
      details: fc.constantFrom('absent', 'null', 'object'),
      category: fc.constantFrom('cyber', 'bio'),
    })
    .map(({ sequence, details, category }) => {
      const delta: Obj = { stop_reason: stop, stop_sequence: stop === 'stop_sequence' ? sequence : null };
      if (stop === 'refusal' && details === 'object') delta['stop_details'] = { type: 'refusal', category, explanation: 'Declined.' };
      else if (details !== 'absent') delta['stop_details'] = null;
      return delta;
    });

const pingsArb = fc.array(fc.nat(), { maxLength: 4 });

export interface ValidStreamOptions {
  /** Most blocks in one message (default 5). */
  readonly maxBlocks?: number;
  /** Restrict the stop reasons. */
  readonly stopReasons?: readonly GenStopReason[];
  /** Restrict the block arbitrary. */
  readonly block?: fc.Arbitrary<BlockPlan>;
  /** `false`: never leave the last block open (default: randomly, when the stop reason truncates). */
  readonly openTail?: boolean;
}

/** A whole, valid stream and the message it must assemble to. */
export function validStreamArb(options: ValidStreamOptions = {}): fc.Arbitrary<ValidStream> {
  const block = options.block ?? blockArb;
  return fc
    .record({
      id: idArb('msg_01'),
      model: fc.constantFrom('claude-sonnet-4-6', 'claude-haiku-4-5-20251001', 'claude-opus-4-7'),
      startStopDetails: fc.boolean(),
      usage: usageStartArb,
      blocks: fc.array(block, { maxLength: options.maxBlocks ?? 5 }),
      tail: fc.option(fc.oneof({ arbitrary: toolBlockArb, weight: 3 }, { arbitrary: block, weight: 2 }), { freq: 2 }),
      leaveOpen: options.openTail === false ? fc.constant(false) : fc.boolean(),
      openCut: fc.nat(),
      stop: fc.constantFrom(...(options.stopReasons ?? STOP_REASONS)),
      usageDelta: usageDeltaArb,
      contextManagement: fc.boolean(),
      pings: pingsArb,
    })
    .chain((plan) => stopDeltaArb(plan.stop).map((stopDelta) => ({ ...plan, stopDelta })))
    .map((plan) => {
      const message: Obj = {
        id: plan.id,
        type: 'message',
        role: 'assistant',
        model: plan.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        ...(plan.startStopDetails ? { stop_details: null } : {}),
        usage: plan.usage,
      };
      const events: Obj[] = [{ type: 'message_start', message: structuredClone(message) }];
      const content: Obj[] = [];
      const dropped: ExpectedDrop[] = [];
      const blocks = plan.tail === null ? plan.blocks : [...plan.blocks, plan.tail];
      const truncates = TRUNCATING.has(plan.stop);
      const openLast = truncates && plan.leaveOpen && blocks.length > 0;
      blocks.forEach((b, index) => {
        events.push({ type: 'content_block_start', index, content_block: structuredClone(b.start) });
        const isOpen = openLast && index === blocks.length - 1;
        const k = isOpen ? plan.openCut % (b.deltas.length + 1) : b.deltas.length;
        for (const delta of b.deltas.slice(0, k)) events.push({ type: 'content_block_delta', index, delta: structuredClone(delta) });
        if (!isOpen) {
          events.push({ type: 'content_block_stop', index });
          content.push(structuredClone(b.final));
          return;
        }
        const outcome = openOutcome(b, k, index);
        if ('kept' in outcome) content.push(outcome.kept);
        else dropped.push(outcome.dropped);
      });
      const messageDelta: Obj = { type: 'message_delta', delta: plan.stopDelta, usage: plan.usageDelta };
      if (plan.contextManagement) messageDelta['context_management'] = { applied_edits: [] };
      events.push(messageDelta, { type: 'message_stop' });

      // The expected message: message_start's message, its content, the stop fields, the merged usage.
      const usage: Obj = structuredClone(plan.usage);
      for (const field of MERGED_USAGE_FIELDS) {
        const value = (plan.usageDelta as Obj)[field];
        if (value !== undefined && value !== null) usage[field] = structuredClone(value);
      }
      const expected: Obj = {
        ...structuredClone(message),
        content,
        stop_reason: plan.stop,
        stop_sequence: plan.stopDelta['stop_sequence'],
        // Absent in message_delta → absent (undefined) in the message, whatever message_start said.
        stop_details: plan.stopDelta['stop_details'],
        usage,
      };
      if (plan.contextManagement) expected['context_management'] = { applied_edits: [] };

      // Pings anywhere: before message_start, between any two events, after message_stop.
      const positions = [...plan.pings].map((p) => p % (events.length + 1)).sort((a, b) => b - a);
      for (const at of positions) events.splice(at, 0, { type: 'ping' });

      return {
        events,
        expected: { message: expected, stopReason: plan.stop, dropped },
        blockCount: blocks.length,
        openTail: openLast,
      };
    });
}

// ---------------------------------------------------------------------------
// SSE serialisation

export type LineEnding = '\n' | '\r\n' | '\r';

export interface SseFormat {
  readonly eol: LineEnding;
  readonly bom: boolean;
  /** How the last event ends: its blank line (`full`), only its line end (`line`), or nothing (`none`). */
  readonly ending: 'full' | 'line' | 'none';
  /** Spaces/tabs before closing braces, used cyclically: outermost brace of each event. */
  readonly outerPads: readonly number[];
  /** Padding before inner closing braces too (the API only pads the outer one; JSON allows both). */
  readonly innerPads: readonly number[];
  readonly padChar: ' ' | '\t';
  /** `{"type": "ping"}` with a space, as the real API writes it. */
  readonly spacedPing: boolean;
  /** `data: x` (true) or `data:x`. */
  readonly dataSpace: boolean;
  /** Write `event:` lines (the API always does). */
  readonly eventLines: boolean;
}

export const sseFormatArb: fc.Arbitrary<SseFormat> = fc.record({
  eol: fc.constantFrom<LineEnding>('\n', '\r\n', '\r'),
  bom: fc.boolean(),
  ending: fc.constantFrom('full' as const, 'line' as const, 'none' as const),
  outerPads: fc.array(fc.nat(16), { minLength: 1, maxLength: 8 }),
  innerPads: fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }),
  padChar: fc.constantFrom(' ' as const, '\t' as const),
  spacedPing: fc.boolean(),
  dataSpace: fc.boolean(),
  eventLines: fc.constant(true),
});

/** The format of most real streams: LF, padded, spaced ping, final blank line. */
export const PLAIN_FORMAT: SseFormat = {
  eol: '\n',
  bom: false,
  ending: 'full',
  outerPads: [0],
  innerPads: [0],
  padChar: ' ',
  spacedPing: true,
  dataSpace: true,
  eventLines: true,
};

export interface Serialized {
  readonly text: string;
  readonly bytes: Uint8Array;
  /** Per event: the byte offset (BOM included) where its `data` payload starts. */
  readonly dataOffsets: readonly number[];
  /** Per event: the exact `data` payload written. */
  readonly payloads: readonly string[];
}

const utf8 = new TextEncoder();
const byteLength = (text: string): number => utf8.encode(text).length;

/** JSON with padding before closing braces; keys in insertion order; undefined values skipped, like JSON.stringify. */
function paddedJson(value: unknown, outer: string, inner: () => string, depth = 0): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : paddedJson(v, outer, inner, depth + 1))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const body = Object.entries(value as Obj)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${paddedJson(v, outer, inner, depth + 1)}`)
      .join(',');
    return `{${body}${depth === 0 ? outer : inner()}}`;
  }
  return JSON.stringify(value);
}

/** Events → SSE text and bytes, and where each data payload starts. */
export function serialize(events: readonly Obj[], format: SseFormat = PLAIN_FORMAT): Serialized {
  const { eol } = format;
  let text = format.bom ? '\ufeff' : '';
  let bytes = format.bom ? 3 : 0;
  const dataOffsets: number[] = [];
  const payloads: string[] = [];
  let innerAt = 0;
  const inner = (): string => format.padChar.repeat(format.innerPads[innerAt++ % format.innerPads.length] ?? 0);
  events.forEach((event, i) => {
    const outer = format.padChar.repeat(format.outerPads[i % format.outerPads.length] ?? 0);
    const payload =
      event['type'] === 'ping' && Object.keys(event).length === 1
        ? format.spacedPing
          ? '{"type": "ping"}'
          : '{"type":"ping"}'
        : paddedJson(event, outer, inner);
    const head = `${format.eventLines ? `event: ${String(event['type'])}${eol}` : ''}data:${format.dataSpace ? ' ' : ''}`;
    const last = i === events.length - 1;
    const tail = !last || format.ending === 'full' ? `${eol}${eol}` : format.ending === 'line' ? eol : '';
    const piece = head + payload + tail;
    dataOffsets.push(bytes + byteLength(head));
    payloads.push(payload);
    text += piece;
    bytes += byteLength(piece);
  });
  const encoded = utf8.encode(text);
  if (encoded.length !== bytes) throw new Error('serialize: byte accounting is off');
  return { text, bytes: encoded, dataOffsets, payloads };
}

/** The same bytes with the final blank line restored (the SDK drops a last event that lacks it). */
export function withFinalBlankLine(events: readonly Obj[], format: SseFormat): Uint8Array {
  return serialize(events, { ...format, ending: 'full' }).bytes;
}

// ---------------------------------------------------------------------------
// Chunking

export type Chunking = { readonly kind: 'cuts'; readonly cuts: readonly number[] } | { readonly kind: 'sizes'; readonly sizes: readonly number[] };

export const chunkingArb: fc.Arbitrary<Chunking> = fc.oneof(
  fc.record({ kind: fc.constant('cuts' as const), cuts: fc.array(fc.nat(), { maxLength: 24 }) }),
  fc.record({ kind: fc.constant('sizes' as const), sizes: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }) }),
);

/** Cuts `bytes` into chunks (empty chunks included when cuts repeat); never copies more than needed. */
export function chunk(bytes: Uint8Array, chunking: Chunking): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (chunking.kind === 'sizes') {
    let at = 0;
    let i = 0;
    while (at < bytes.length) {
      const size = chunking.sizes[i++ % chunking.sizes.length] ?? 1;
      out.push(bytes.subarray(at, at + size));
      at += size;
    }
    return out;
  }
  const points = chunking.cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** A valid stream, its SSE bytes in one format, and a chunking. */
export function validBytesArb(options: ValidStreamOptions = {}): fc.Arbitrary<{ stream: ValidStream; format: SseFormat; serialized: Serialized; chunks: Uint8Array[] }> {
  return fc.tuple(validStreamArb(options), sseFormatArb, chunkingArb).map(([stream, format, chunking]) => {
    const serialized = serialize(stream.events, format);
    return { stream, format, serialized, chunks: chunk(serialized.bytes, chunking) };
  });
}

// ---------------------------------------------------------------------------
// Mutations

export type Mutation =
  | { readonly kind: 'swap'; readonly i: number; readonly j: number }
  | { readonly kind: 'drop'; readonly i: number }
  | { readonly kind: 'duplicate'; readonly i: number }
  | { readonly kind: 'reindex'; readonly i: number; readonly index: number }
  /** The start right after a `*_tool_result` block repeats that block's index (the shape issue 7 A2 repairs). */
  | { readonly kind: 'repeat_after_result'; readonly i: number }
  | { readonly kind: 'inject_after_stop'; readonly what: InjectKind; readonly i: number }
  | { readonly kind: 'insert'; readonly at: number; readonly what: InjectKind; readonly i: number }
  | { readonly kind: 'truncate'; readonly n: number };

/** What an injected event is: a copy of event `i`, or one of a few fixed kinds (block-related ones aimed at block `i`). */
export type InjectKind = 'copy' | 'ping' | 'error' | 'unknown_event' | 'unknown_delta' | 'wrong_delta' | 'block_start';

const injectKindArb = fc.constantFrom<InjectKind>('copy', 'ping', 'error', 'unknown_event', 'unknown_delta', 'wrong_delta', 'block_start');

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), i: fc.nat() }),
  fc.record({ kind: fc.constant('reindex' as const), i: fc.nat(), index: fc.nat(6) }),
  fc.record({ kind: fc.constant('repeat_after_result' as const), i: fc.nat() }),
  fc.record({ kind: fc.constant('inject_after_stop' as const), what: injectKindArb, i: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), what: injectKindArb, i: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), n: fc.nat() }),
);

function injected(events: readonly Obj[], what: InjectKind, i: number): Obj {
  const blocks = events.filter((e) => e['type'] === 'content_block_start').length;
  const index = blocks === 0 ? 0 : i % blocks;
  switch (what) {
    case 'copy':
      return structuredClone(events[i % Math.max(1, events.length)] ?? { type: 'ping' });
    case 'ping':
      return { type: 'ping' };
    case 'error':
      return { type: 'error', error: { details: null, type: i % 2 === 0 ? 'overloaded_error' : 'api_error', message: 'Overloaded' }, request_id: `req_${i}` };
    case 'unknown_event':
      return { type: 'x_future_event', index, detail: { i } };
    case 'unknown_delta':
      return { type: 'content_block_delta', index, delta: { type: 'x_future_delta', value: i } };
    case 'wrong_delta':
      return { type: 'content_block_delta', index, delta: [
        { type: 'text_delta', text: 'wrong' },
        { type: 'input_json_delta', partial_json: '{' },
        { type: 'thinking_delta', thinking: 'hm' },
        { type: 'signature_delta', signature: 'c2ln' },
        { type: 'compaction_delta', content: 'c' },
      ][i % 5] };
    case 'block_start':
      return { type: 'content_block_start', index: i % 2 === 0 ? blocks : index, content_block: { type: 'text', text: '' } };
  }
}

/** Applies mutations in order; indices are taken modulo the current length. */
export function applyMutations(events: readonly Obj[], mutations: readonly Mutation[]): Obj[] {
  let out = events.map((e) => structuredClone(e));
  for (const m of mutations) {
    const n = out.length;
    if (n === 0) break;
    switch (m.kind) {
      case 'swap': {
        const i = m.i % n;
        const j = m.j % n;
        const a = out[i] as Obj;
        out[i] = out[j] as Obj;
        out[j] = a;
        break;
      }
      case 'drop':
        out.splice(m.i % n, 1);
        break;
      case 'duplicate': {
        const i = m.i % n;
        out.splice(i, 0, structuredClone(out[i] as Obj));
        break;
      }
      case 'reindex': {
        const blockEvents = out.map((e, at) => [e, at] as const).filter(([e]) => typeof e['index'] === 'number');
        const pick = blockEvents[m.i % Math.max(1, blockEvents.length)];
        if (pick !== undefined) out[pick[1]] = { ...pick[0], index: m.index };
        break;
      }
      case 'repeat_after_result': {
        const starts = out.map((e, at) => [e, at] as const).filter(([e]) => e['type'] === 'content_block_start');
        const after = starts.flatMap((start, k) => {
          const previous = starts[k - 1]?.[0];
          return previous !== undefined && String((previous['content_block'] as Obj)['type']).endsWith('_tool_result') ? [[start, previous['index']] as const] : [];
        });
        const pick = after[m.i % Math.max(1, after.length)];
        if (pick !== undefined) out[pick[0][1]] = { ...pick[0][0], index: pick[1] };
        break;
      }
      case 'inject_after_stop': {
        const stop = out.findIndex((e) => e['type'] === 'message_stop');
        const at = stop === -1 ? n : stop + 1;
        out.splice(at, 0, injected(out, m.what, m.i));
        break;
      }
      case 'insert':
        out.splice(m.at % (n + 1), 0, injected(out, m.what, m.i));
        break;
      case 'truncate':
        out = out.slice(0, m.n % n);
        break;
    }
  }
  return out;
}

/** A valid stream with 1–3 mutations applied (which may or may not leave it valid). */
export function mutatedStreamArb(options: ValidStreamOptions = {}): fc.Arbitrary<{ original: ValidStream; mutations: Mutation[]; events: Obj[] }> {
  return fc
    .tuple(validStreamArb({ maxBlocks: 3, ...options }), fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
    .map(([original, mutations]) => ({ original, mutations, events: applyMutations(original.events, mutations) }));
}
