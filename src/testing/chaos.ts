/**
 * Faults injected into a replayed response, so a backend's failure paths run
 * against real streams: a cut after event N or byte B, a stall at event N,
 * an `event: error` at event N, an HTTP 429/529 with `retry-after`, a slow drip.
 * This module only plans what to send; serve.ts sends it.
 */
import type { Cassette } from './cassette.js';
import { TestingError } from './errors.js';

export interface ChaosRule {
  /** Which responses (1-based, in the order the server answers them) the rule breaks; default every one. */
  readonly request?: number | readonly number[];
  /** Close the socket right after the Nth event (1-based) has been sent. */
  readonly cutAfterEvent?: number;
  /** Close the socket after this many bytes of the body. */
  readonly cutAfterByte?: number;
  /** After the Nth event, send nothing for `stallMs`, then go on. */
  readonly stallAtEvent?: number;
  readonly stallMs?: number;
  /** After the Nth event, send `event: error` of this type and end the response, as the API does. */
  readonly errorAtEvent?: number;
  readonly errorType?: string;
  /** Answer with this HTTP status (e.g. 429, 529) and an API error body instead of the recording. */
  readonly status?: number;
  /** With `status`: the `retry-after` header, in seconds. */
  readonly retryAfter?: number;
  /** Send the body `bytes` at a time, `intervalMs` apart (instead of the recorded chunks). */
  readonly drip?: { readonly bytes: number; readonly intervalMs: number };
}

/** One write: `at` ms after the headers went out. */
export interface Piece {
  readonly bytes: Uint8Array;
  readonly at: number;
}

export interface Plan {
  readonly pieces: readonly Piece[];
  /** `destroy`: the socket is closed without ending the body (a dropped connection). */
  readonly finish: 'end' | 'destroy';
}

const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Checks rules up front, so a typo fails at start and not as a puzzling test result. */
export function validateChaos(rules: readonly ChaosRule[]): void {
  for (const [i, rule] of rules.entries()) {
    const bad = (what: string) => new TestingError('invalid_option', `chaos rule ${i + 1}: ${what}`);
    const requests = rule.request === undefined ? [] : typeof rule.request === 'number' ? [rule.request] : rule.request;
    if (!requests.every((r) => whole(r) && r >= 1)) throw bad('request must be a 1-based response number or a list of them');
    for (const key of ['cutAfterEvent', 'cutAfterByte', 'stallAtEvent', 'stallMs', 'errorAtEvent', 'retryAfter'] as const) {
      if (rule[key] !== undefined && !whole(rule[key])) throw bad(`${key} must be a whole number ≥ 0, got ${JSON.stringify(rule[key])}`);
    }
    if ((rule.stallAtEvent === undefined) !== (rule.stallMs === undefined)) throw bad('stallAtEvent and stallMs go together');
    if (rule.status !== undefined && (!whole(rule.status) || rule.status < 400 || rule.status > 599)) throw bad(`status must be an HTTP error status, got ${JSON.stringify(rule.status)}`);
    if (rule.drip !== undefined && (!whole(rule.drip.bytes) || rule.drip.bytes < 1 || !whole(rule.drip.intervalMs))) throw bad('drip needs { bytes ≥ 1, intervalMs ≥ 0 }');
    if (rule.cutAfterEvent !== undefined && rule.cutAfterByte !== undefined) throw bad('cutAfterEvent or cutAfterByte, not both');
    // A modifier without what it modifies would be silently ignored: a test that thinks it breaks something and breaks nothing.
    if (rule.errorType !== undefined && (rule.errorAtEvent === undefined || typeof rule.errorType !== 'string' || rule.errorType === '')) throw bad('errorType goes with errorAtEvent, and is an error type such as overloaded_error');
    if (rule.retryAfter !== undefined && rule.status === undefined) throw bad('retryAfter goes with status');
  }
}

export function ruleFor(rules: readonly ChaosRule[], response: number): ChaosRule | null {
  return rules.find((r) => r.request === undefined || (typeof r.request === 'number' ? r.request === response : r.request.includes(response))) ?? null;
}

const ERROR_TYPES: Record<number, string> = { 429: 'rate_limit_error', 529: 'overloaded_error', 500: 'api_error', 503: 'api_error' };

/** The API's error body for an injected HTTP status. */
export function statusBody(status: number): string {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return JSON.stringify({ type: 'error', error: { type, message: `injected by turnstate serve: HTTP ${status}` }, request_id: 'req_turnstate_chaos' });
}

export function errorEventBytes(type: string): Uint8Array {
  const message = type === 'overloaded_error' ? 'Overloaded' : 'Internal server error';
  return new TextEncoder().encode(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { details: null, type, message }, request_id: 'req_turnstate_chaos' })}\n\n`);
}

/**
 * What to send for one recording under one rule (or none) at `speed`
 * (0: as fast as possible; 1: the recorded pace). The recorded chunking is
 * kept; a recording that was itself cut is cut at the same byte.
 */
export function planResponse(cassette: Cassette, rule: ChaosRule | null, speed: number): Plan {
  const { body, eventEnds, meta } = cassette;
  const eventEnd = (n: number, what: string) => {
    if (n === 0) return 0;
    const end = eventEnds[n - 1];
    if (end === undefined) throw new TestingError('invalid_option', `chaos ${what} ${n}: ${meta.response.body} has only ${eventEnds.length} events`, { file: cassette.file });
    return end;
  };
  let pieces: { start: number; end: number; at: number }[] = [];
  if (rule?.drip) {
    for (let start = 0, k = 0; start < body.length; start += rule.drip.bytes, k += 1) pieces.push({ start, end: Math.min(body.length, start + rule.drip.bytes), at: k * rule.drip.intervalMs });
  } else {
    const chunks = meta.timing.chunks.length > 0 ? meta.timing.chunks : [[0, meta.timing.headersMs] as const];
    chunks.forEach(([start, ms], i) => {
      const end = i + 1 < chunks.length ? chunks[i + 1]![0] : body.length;
      if (end > start) pieces.push({ start, end, at: speed > 0 ? Math.max(0, ms - meta.timing.headersMs) / speed : 0 });
    });
  }
  const splitAt = (offset: number) => {
    const i = pieces.findIndex((p) => p.start < offset && offset < p.end);
    if (i === -1) return;
    const p = pieces[i]!;
    pieces.splice(i, 1, { start: p.start, end: offset, at: p.at }, { start: offset, end: p.end, at: p.at });
  };
  let finish: Plan['finish'] = meta.response.cut ? 'destroy' : 'end';
  let tail: Uint8Array | null = null;
  let limit = body.length;
  if (rule?.cutAfterEvent !== undefined || rule?.cutAfterByte !== undefined) {
    limit = rule.cutAfterByte !== undefined ? Math.min(body.length, rule.cutAfterByte) : eventEnd(rule.cutAfterEvent!, 'cutAfterEvent');
    finish = 'destroy';
  }
  if (rule?.errorAtEvent !== undefined) {
    limit = Math.min(limit, eventEnd(rule.errorAtEvent, 'errorAtEvent'));
    tail = errorEventBytes(rule.errorType ?? 'overloaded_error');
    finish = 'end';
  }
  splitAt(limit);
  pieces = pieces.filter((p) => p.end <= limit);
  if (rule?.stallAtEvent !== undefined) {
    const offset = eventEnd(rule.stallAtEvent, 'stallAtEvent');
    splitAt(offset);
    pieces = pieces.map((p) => (p.start >= offset ? { ...p, at: p.at + rule.stallMs! } : p));
  }
  const out: Piece[] = pieces.map((p) => ({ bytes: body.subarray(p.start, p.end), at: p.at }));
  if (tail) out.push({ bytes: tail, at: out.at(-1)?.at ?? 0 });
  return { pieces: out, finish };
}
