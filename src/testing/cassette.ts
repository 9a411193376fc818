/**
 * The cassette format: one recorded exchange is a body file — the response
 * bytes exactly as they arrived (`.sse` for an event stream,
 * `.response.json` otherwise) — and a sidecar `.meta.json` beside it with
 * the request, the response status and headers, and the arrival time of every
 * chunk and event.
 *
 * Why a sidecar and not SSE comment lines in the `.sse` file: the body file
 * then *is* what the upstream sent, byte for byte (its sha256 is in the
 * metadata), so byte-exact replay needs no stripping, a recorded comment line
 * of the upstream's own is never confused with ours, chunk boundaries and
 * their times are kept at any offset (a comment can only sit between events),
 * and non-streamed JSON bodies and HTTP errors — where a comment line would
 * make the file invalid — are recorded the same way.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { createParser } from 'eventsource-parser';
import { TestingError } from './errors.js';

export const CASSETTE_FORMAT = 'turnstate.cassette';
export const CASSETTE_VERSION = 1;

/** The sidecar of one recording. Times are milliseconds since the request was sent upstream. */
export interface CassetteMeta {
  readonly format: typeof CASSETTE_FORMAT;
  readonly version: typeof CASSETTE_VERSION;
  /** 1-based, in the order the requests were made. */
  readonly sequence: number;
  readonly recordedAt: string;
  readonly request: {
    readonly method: string;
    readonly path: string;
    /** sha256 of the canonical JSON (RFC 8785) of the normalised params; see {@link normaliseParams}. */
    readonly paramsHash: string;
    readonly model: string | null;
    readonly stream: boolean;
    /** The request body (after redaction); null when it was not JSON. */
    readonly params: unknown;
    /** Only `anthropic-version`, `anthropic-beta`, `content-type`: never a key. */
    readonly headers: Readonly<Record<string, string>>;
  };
  readonly response: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly requestId: string | null;
    /** The body file's name, in the same directory. */
    readonly body: string;
    readonly bytes: number;
    readonly sha256: string;
    readonly stopReason: string | null;
    /** An `event: error`'s `error.type`, or the error body's for an HTTP error. */
    readonly errorType: string | null;
    /** The upstream connection broke before the body ended (`cutReason` says how); replay cuts it there too. */
    readonly cut: boolean;
    readonly cutReason: string | null;
  };
  readonly timing: {
    readonly headersMs: number;
    readonly firstByteMs: number | null;
    readonly endMs: number;
    /** `[byte offset where the chunk starts, ms]` for every chunk as it arrived. */
    readonly chunks: readonly (readonly [number, number])[];
    /** `[event type, ms]`: the arrival of the chunk that completed the event. */
    readonly events: readonly (readonly [string, number])[];
  };
  /** How many matches of `--redact` patterns (and of the request's own key) were scrubbed before writing. */
  readonly redactions: number;
}

/** One recording, loaded: its metadata, body bytes and event boundaries. */
export interface Cassette {
  readonly meta: CassetteMeta;
  /** The `.meta.json` path. */
  readonly file: string;
  readonly body: Uint8Array;
  /** Byte offset just past each event's terminating blank line, in order. */
  readonly eventEnds: readonly number[];
}

/** The params fields a request is matched on by default. */
export const DEFAULT_MATCH_FIELDS = ['model', 'messages', 'tools', 'system'] as const;

export interface NormaliseOptions {
  /** Top-level fields that make up the key (default model, messages, tools, system). */
  readonly fields?: readonly string[];
  /** Dotted paths left out of the key (`temperature`, `messages.0.content`, `system.0.cache_control`). */
  readonly ignore?: readonly string[];
}

const textBlocks = (value: unknown): unknown => (typeof value === 'string' ? [{ type: 'text', text: value }] : value);

/**
 * The part of a request body a recording is matched on: the named fields,
 * with `content: "hi"` and `system: "…"` written as the one text block they
 * mean, minus the ignored paths.
 */
export function normaliseParams(params: unknown, options: NormaliseOptions = {}): Record<string, unknown> {
  const source = params !== null && typeof params === 'object' ? (params as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const field of options.fields ?? DEFAULT_MATCH_FIELDS) {
    if (source[field] === undefined) continue;
    out[field] = structuredClone(source[field]);
  }
  if (out['system'] !== undefined) out['system'] = textBlocks(out['system']);
  if (Array.isArray(out['messages'])) {
    out['messages'] = out['messages'].map((m: unknown) => (m !== null && typeof m === 'object' && 'content' in m ? { ...m, content: textBlocks((m as { content: unknown }).content) } : m));
  }
  for (const path of options.ignore ?? []) removePath(out, path.split('.'));
  return out;
}

function removePath(target: unknown, path: readonly string[]): void {
  if (target === null || typeof target !== 'object' || path.length === 0) return;
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    if (Array.isArray(target)) target[Number(head)] = null;
    else delete (target as Record<string, unknown>)[head];
    return;
  }
  removePath((target as Record<string, unknown>)[head], rest);
}

/**
 * sha256 in hex, with node:crypto loaded on first use, not at import:
 * `turnstate replay` imports this module for every recording and hashes only
 * when a sidecar is there; loading node:crypto costs a CLI process ~5 ms of
 * start-up (issue 12).
 */
const sha256Hex = (data: string | Uint8Array): string => process.getBuiltinModule('node:crypto').createHash('sha256').update(data).digest('hex');

/**
 * The params hash: sha256 of the RFC 8785 canonical JSON of the normalised
 * params. canonicalize (the RFC's reference implementation for JavaScript)
 * fixes key order and number form, so the same request hashes the same in
 * any process and in any language that implements the RFC.
 */
export function paramsHash(params: unknown, options: NormaliseOptions = {}): string {
  const canonical = canonicalize(normaliseParams(params, options)) ?? 'null';
  return `sha256:${sha256Hex(canonical)}`;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

/** One framed event of a body: where it ends, its `event:` name and data. */
export interface ScannedEvent {
  /** Byte offset just past the blank line that ended it. */
  readonly end: number;
  readonly event: string | undefined;
  readonly data: string;
}

/**
 * Where each event ends. Framing is eventsource-parser's: the body is fed to
 * it one line at a time (pieces split after each LF or CR byte, which never
 * fall inside a UTF-8 sequence), and an event that it dispatches ends at the
 * end of the line just fed. Only events with data count, as in every parser.
 */
export function scanEvents(body: Uint8Array): ScannedEvent[] {
  const events: ScannedEvent[] = [];
  let end = 0;
  const parser = createParser({ onEvent: (e) => void events.push({ end, event: e.event, data: e.data }) });
  const decoder = new TextDecoder();
  let start = 0;
  for (let i = 0; i <= body.length; i += 1) {
    if (i < body.length && body[i] !== 0x0a && body[i] !== 0x0d) continue;
    end = Math.min(body.length, i + 1);
    if (end === start) break;
    parser.feed(decoder.decode(body.subarray(start, end), { stream: true }));
    start = end;
  }
  return events;
}

export const eventEnds = (body: Uint8Array): number[] => scanEvents(body).map((e) => e.end);

/** Files in a cassette directory are named so a person can tell them apart: `0003-claude-sonnet-4-5-tool_use.sse`. */
export function recordingName(sequence: number, model: string | null, outcome: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'unknown';
  return `${String(sequence).padStart(4, '0')}-${safe(model ?? 'unknown-model')}-${safe(outcome)}`;
}

export const META_SUFFIX = '.meta.json';

function isMeta(value: unknown): value is CassetteMeta {
  const v = value as Partial<CassetteMeta> | null;
  return v !== null && typeof v === 'object' && v.format === CASSETTE_FORMAT && v.version === CASSETTE_VERSION && typeof v.sequence === 'number'
    && typeof v.request?.paramsHash === 'string' && typeof v.response?.body === 'string' && Array.isArray(v.timing?.chunks);
}

/** Reads one recording from its `.meta.json` path, checking the body against its sha256. */
export async function loadCassette(metaFile: string): Promise<Cassette> {
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(metaFile, 'utf8'));
  } catch (error) {
    throw new TestingError('cassette_invalid', `${metaFile}: not readable JSON: ${(error as Error).message}`, { file: metaFile, cause: error });
  }
  if (!isMeta(meta)) throw new TestingError('cassette_invalid', `${metaFile}: not a ${CASSETTE_FORMAT} v${CASSETTE_VERSION} sidecar`, { file: metaFile });
  const bodyFile = join(metaFile, '..', meta.response.body);
  const body = await readFile(bodyFile).catch((error: unknown) => {
    throw new TestingError('cassette_invalid', `${metaFile}: its body file ${meta.response.body} is missing`, { file: metaFile, cause: error });
  });
  if (sha256(body) !== meta.response.sha256) {
    throw new TestingError('cassette_invalid', `${metaFile}: ${meta.response.body} does not match the recorded sha256 (edited after recording?)`, { file: metaFile });
  }
  const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return { meta, file: metaFile, body: bytes, eventEnds: isEventStream(meta) ? eventEnds(bytes) : [] };
}

export function isEventStream(meta: CassetteMeta): boolean {
  return /text\/event-stream/i.test(meta.response.headers['content-type'] ?? '');
}

/** Every recording in a directory, in sequence order. A missing directory has none. */
export async function loadCassetteDir(dir: string): Promise<Cassette[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const loaded = await Promise.all(names.filter((n) => n.endsWith(META_SUFFIX)).map((n) => loadCassette(join(dir, n))));
  return loaded.sort((a, b) => a.meta.sequence - b.meta.sequence);
}
