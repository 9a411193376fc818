/**
 * The recorder both recording paths share (the loopback proxy and
 * `recordingFetch`): it is told about a request, then each response chunk as
 * it passes, then the end — and only then writes the body file and its
 * sidecar. Nothing it does sits between a chunk and the client: the caller
 * forwards first and hands the same chunk over; the recorder keeps a
 * reference and the arrival time, nothing more, until the end.
 */
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestingError } from './errors.js';
import {
  CASSETTE_FORMAT,
  CASSETTE_VERSION,
  META_SUFFIX,
  paramsHash,
  recordingName,
  scanEvents,
  sha256,
  type CassetteMeta,
  type NormaliseOptions,
} from './cassette.js';

export interface RecorderOptions {
  /** Where recordings go (created when missing). Numbering continues after the highest sequence already there. */
  readonly dir: string;
  /**
   * Regular expressions (strings are compiled with the `g` flag) whose matches
   * are replaced by `[REDACTED]` in bodies, params, headers and metadata before
   * anything is written. The request's own API key is always added.
   */
  readonly redact?: readonly (string | RegExp)[];
  /** How the params hash is made (the same options must be given to replay). */
  readonly match?: NormaliseOptions;
  /** Told of every recording written (the CLI prints it). */
  readonly onRecorded?: (meta: CassetteMeta, metaFile: string) => void;
  /** Told of a recording that could not be written; the response was still passed through. */
  readonly onError?: (error: TestingError) => void;
  readonly now?: () => number;
}

/** What the recorder is told about a request. Header names in lower case. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

const KEPT_REQUEST_HEADERS = ['anthropic-version', 'anthropic-beta', 'content-type'];
/** Response headers worth replaying; everything else (cookies, organisation ids, …) is left out. */
const keptResponseHeader = (name: string) =>
  ['content-type', 'request-id', 'retry-after', 'retry-after-ms', 'x-should-retry'].includes(name) || name.startsWith('anthropic-ratelimit-');

const REDACTED = '[REDACTED]';
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function compileRedactions(patterns: readonly (string | RegExp)[] = []): RegExp[] {
  return patterns.map((p) => {
    if (p instanceof RegExp) return new RegExp(p.source, p.flags.includes('g') ? p.flags : `${p.flags}g`);
    try {
      return new RegExp(p, 'g');
    } catch (error) {
      throw new TestingError('invalid_option', `--redact ${JSON.stringify(p)} is not a regular expression: ${(error as Error).message}`, { cause: error });
    }
  });
}

/** The keys a request carries (x-api-key, or a bearer token), so they are scrubbed even from bodies that echo them. */
function keysOf(headers: RecordedRequest['headers']): string[] {
  return [headers['x-api-key'], headers['authorization']?.replace(/^Bearer\s+/i, '')].filter((k): k is string => typeof k === 'string' && k.length >= 4);
}

class Scrubber {
  count = 0;
  constructor(private readonly patterns: readonly RegExp[]) {}
  text(value: string): string {
    let out = value;
    for (const pattern of this.patterns) {
      out = out.replace(pattern, () => {
        this.count += 1;
        return REDACTED;
      });
    }
    return out;
  }
  /** Every string in a JSON value, keys included. */
  deep(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.deep(v));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.text(k), this.deep(v)]));
    return value;
  }
  /** Bytes are re-encoded only when something matched, so an unredacted body stays byte-exact (even if not UTF-8). */
  bytes(body: Uint8Array): Uint8Array {
    if (this.patterns.length === 0) return body;
    const before = this.count;
    const text = this.text(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    return this.count === before ? body : new Uint8Array(Buffer.from(text, 'utf8'));
  }
}

/** One exchange being recorded. */
export interface RecordingSession {
  response(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): void;
  chunk(bytes: Uint8Array): void;
  /** The body ended (`cut` when the connection broke first). Resolves once the files are written; never rejects. */
  end(cut?: string | null): Promise<void>;
}

export class Recorder {
  private next: Promise<number> | null = null;
  private readonly patterns: RegExp[];
  private readonly now: () => number;
  /** Every key seen by this recorder: a body may echo the key of an earlier request. */
  private readonly keys = new Map<string, RegExp>();

  constructor(private readonly options: RecorderOptions) {
    this.patterns = compileRedactions(options.redact);
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * The next sequence number: after the highest already in the directory.
   * Chained synchronously, so requests that begin together never share one.
   */
  private sequence(): Promise<number> {
    const previous = this.next ?? (async () => {
      await mkdir(this.options.dir, { recursive: true });
      const names = await readdir(this.options.dir);
      return names.reduce((max, n) => Math.max(max, Number(/^(\d+)-/.exec(n)?.[1] ?? 0)), 0);
    })();
    const mine = previous.then((n) => n + 1);
    this.next = mine;
    return mine;
  }

  begin(request: RecordedRequest): RecordingSession {
    const startedAt = this.now();
    const sequence = this.sequence();
    // Awaited only when the response ends; a failure (no such dir, no room) is reported then, not as an unhandled rejection now.
    sequence.catch(() => {});
    for (const key of keysOf(request.headers)) if (!this.keys.has(key)) this.keys.set(key, new RegExp(escapeRegExp(key), 'g'));
    // Longest first, so a key that contains another is scrubbed whole.
    const keys = [...this.keys].sort((a, b) => b[0].length - a[0].length).map(([, pattern]) => pattern);
    const scrub = new Scrubber([...keys, ...this.patterns]);
    let status = 0;
    let headers: Record<string, string> = {};
    let headersMs = 0;
    const chunks: Uint8Array[] = [];
    const times: (readonly [number, number])[] = [];
    let size = 0;
    let ended = false;

    const write = async (cut: string | null) => {
      let params: unknown = null;
      try {
        params = JSON.parse(request.body);
      } catch {
        // not JSON: recorded as null params
      }
      const endMs = this.now() - startedAt;
      const raw = new Uint8Array(Buffer.concat(chunks, size));
      const body = scrub.bytes(raw);
      const stream = /text\/event-stream/i.test(headers['content-type'] ?? '');
      const { stopReason, errorType, events } = stream ? readStream(raw, times) : readJson(raw);
      const model = typeof (params as { model?: unknown } | null)?.model === 'string' ? (params as { model: string }).model : null;
      const outcome = status >= 400 ? `http-${status}` : errorType ? `error-${errorType}` : stopReason ?? (cut ? 'cut' : stream ? 'incomplete' : 'ok');
      const seq = await sequence;
      const base = recordingName(seq, model === null ? null : scrub.text(model), scrub.text(outcome));
      const bodyName = `${base}${stream ? '.sse' : '.response.json'}`;
      const meta: CassetteMeta = {
        format: CASSETTE_FORMAT,
        version: CASSETTE_VERSION,
        sequence: seq,
        recordedAt: new Date().toISOString(),
        request: {
          method: request.method,
          path: request.path,
          // Of the params as sent, so the very same request matches on replay; never of a scrubbed copy.
          paramsHash: paramsHash(params, this.options.match),
          model,
          stream: (params as { stream?: unknown } | null)?.stream === true,
          params,
          headers: Object.fromEntries(KEPT_REQUEST_HEADERS.flatMap((h) => (request.headers[h] === undefined ? [] : [[h, request.headers[h]!]]))),
        },
        response: {
          status,
          headers,
          requestId: headers['request-id'] ?? null,
          body: bodyName,
          bytes: body.length,
          sha256: sha256(body),
          stopReason,
          errorType,
          cut: cut !== null,
          cutReason: cut,
        },
        timing: { headersMs: round(headersMs), firstByteMs: times[0] ? times[0][1] : null, endMs: round(endMs), chunks: times, events },
        redactions: 0,
      };
      const scrubbed = scrub.deep(meta) as CassetteMeta;
      // One line per chunk and per event pair: the same JSON value, readable.
      const final = `${JSON.stringify({ ...scrubbed, redactions: scrub.count }, null, 1).replace(PAIR, '[$1, $2]')}\n`;
      await replaceFile(join(this.options.dir, bodyName), body);
      await replaceFile(join(this.options.dir, `${base}${META_SUFFIX}`), final);
      this.options.onRecorded?.(JSON.parse(final) as CassetteMeta, join(this.options.dir, `${base}${META_SUFFIX}`));
    };

    return {
      response: (s, h) => {
        status = s;
        headersMs = this.now() - startedAt;
        headers = {};
        for (const [name, value] of Object.entries(h)) {
          const lower = name.toLowerCase();
          if (value !== undefined && keptResponseHeader(lower)) headers[lower] = Array.isArray(value) ? value.join(', ') : value;
        }
      },
      chunk: (bytes) => {
        if (ended || bytes.length === 0) return;
        times.push([size, round(this.now() - startedAt)]);
        chunks.push(bytes);
        size += bytes.length;
      },
      end: async (cut = null) => {
        if (ended) return;
        ended = true;
        try {
          await write(cut);
        } catch (error) {
          const wrapped = error instanceof TestingError ? error : new TestingError('write_failed', `could not write a recording to ${this.options.dir}: ${(error as Error).message}`, { cause: error });
          this.options.onError?.(wrapped);
        }
      },
    };
  }
}

const PAIR = /\[\s+("(?:[^"\\]|\\.)*"|-?[\d.e+-]+),\s+(-?[\d.e+-]+)\s+\]/g;
const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Stop reason, error type and per-event times, read off the raw stream without judging it (broken streams are recorded too). */
function readStream(raw: Uint8Array, times: readonly (readonly [number, number])[]) {
  let stopReason: string | null = null;
  let errorType: string | null = null;
  const events: [string, number][] = [];
  let c = 0;
  for (const scanned of scanEvents(raw)) {
    let type = scanned.event ?? '?';
    try {
      const event = JSON.parse(scanned.data) as { type?: string; delta?: { stop_reason?: string }; error?: { type?: string } };
      if (event.type === 'message_delta' && typeof event.delta?.stop_reason === 'string') stopReason = event.delta.stop_reason;
      if (event.type === 'error' && typeof event.error?.type === 'string') errorType = event.error.type;
      if (typeof event.type === 'string') type = event.type;
    } catch {
      // not JSON: kept under its event name
    }
    while (c + 1 < times.length && times[c + 1]![0] < scanned.end) c += 1;
    events.push([type, times[c]?.[1] ?? 0]);
  }
  return { stopReason, errorType, events };
}

function readJson(raw: Uint8Array) {
  try {
    const body = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as { stop_reason?: unknown; error?: { type?: unknown } };
    return {
      stopReason: typeof body.stop_reason === 'string' ? body.stop_reason : null,
      errorType: typeof body.error?.type === 'string' ? body.error.type : null,
      events: [] as [string, number][],
    };
  } catch {
    return { stopReason: null, errorType: null, events: [] as [string, number][] };
  }
}

/**
 * Writes `path` whole or not at all: a reader (a replaying test) never sees
 * half a recording. fs.writeFile loops over short writes itself, unlike
 * write-file-atomic 7, which is why that package is gone. No fsync: a
 * recording lost to a power cut is recorded again, not a broken promise.
 */
async function replaceFile(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
