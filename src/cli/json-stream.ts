import { jsonLine } from './json.js';

/** Strings longer than this are written in slices of about this many UTF-16 units. */
export const SLICE = 1 << 18;

/** A part of the line: JSON text, or a long string still to be written, in slices, as a JSON string. */
type Part = string | { readonly long: string };

/**
 * `jsonLine(record, adjust)` as pieces to write one after the other, so a
 * message with a 20 MB text is never one 20 MB string (nor, on its way to
 * stdout, one 20 MB buffer) — issue 12. The concatenation is exactly
 * `jsonLine(record, adjust)`: a test checks it against JSON.stringify.
 *
 * Everything but long strings is serialised (JSON.stringify) before the first
 * piece is handed out; only that can throw (a value nested deeper than the
 * stack), and then the line is `jsonLine`'s own fallback, whole. Long strings
 * are split where the record has the shape of a message — the record's own
 * fields, `message`'s fields, each of `message.content`'s blocks' fields (the
 * text, thinking and signature of a block) — and written slice by slice, at
 * boundaries that never split a surrogate pair (JSON.stringify keeps a pair
 * as it is and escapes a lone surrogate, so a split pair would read back as
 * two escapes).
 */
export function jsonLinePieces(record: Record<string, unknown>, adjust?: (kept: Record<string, unknown>) => void, options: SliceOptions = {}): Iterable<string> {
  const slice = options.slice ?? SLICE;
  const parts: Part[] = [];
  try {
    objectParts(record, parts, 0, slice);
  } catch {
    return [jsonLine(record, adjust)];
  }
  parts.push('\n');
  return pieces(parts, slice, options.boundary ?? pairSafeEnd);
}

/** For tests: a small slice, to split short strings; the boundary rule, to show a wrong one is caught. */
export interface SliceOptions {
  readonly slice?: number;
  readonly boundary?: (text: string, end: number) => number;
}

/** `end`, or one further when it would fall between the two halves of a surrogate pair. */
export function pairSafeEnd(text: string, end: number): number {
  return end < text.length && isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end)) ? end + 1 : end;
}

/** Splits only down to content blocks: depth 0 the record, 1 its `message`, 2 `message.content`, 3 a block. */
function valueParts(value: unknown, key: string, parts: Part[], depth: number, slice: number): boolean {
  if (typeof value === 'string' && value.length > slice) {
    parts.push({ long: value });
    return true;
  }
  if (depth === 0 && key === 'message' && isPlainObject(value)) {
    objectParts(value, parts, 1, slice);
    return true;
  }
  if (depth === 1 && key === 'content' && Array.isArray(value) && !hasToJSON(value)) {
    parts.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(',');
      const item: unknown = value[i];
      if (isPlainObject(item)) objectParts(item, parts, 3, slice);
      else parts.push(JSON.stringify(item) ?? 'null'); // in an array, a hole or what JSON.stringify drops is null
    }
    parts.push(']');
    return true;
  }
  const json = JSON.stringify(value);
  if (json === undefined) return false; // undefined, a function, a symbol: JSON.stringify leaves the key out
  parts.push(json);
  return true;
}

function objectParts(object: Record<string, unknown>, parts: Part[], depth: number, slice: number): void {
  if (hasToJSON(object)) {
    parts.push(JSON.stringify(object) ?? 'null');
    return;
  }
  parts.push('{');
  let first = true;
  for (const key of Object.keys(object)) {
    const at = parts.length;
    parts.push(`${first ? '' : ','}${JSON.stringify(key)}:`);
    if (valueParts(object[key], key, parts, depth, slice)) first = false;
    else parts.length = at;
  }
  parts.push('}');
}

const hasToJSON = (value: object): boolean => typeof (value as { toJSON?: unknown }).toJSON === 'function';
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !hasToJSON(value);

/** Joins short parts up to about SLICE characters, and writes each long string as its quoted slices. */
function* pieces(parts: readonly Part[], slice: number, boundary: (text: string, end: number) => number): Generator<string> {
  let pending = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      pending += part;
      if (pending.length >= slice) {
        yield pending;
        pending = '';
      }
      continue;
    }
    const text = part.long;
    pending += '"';
    for (let start = 0; start < text.length; ) {
      const end = boundary(text, Math.min(start + slice, text.length));
      const quoted = JSON.stringify(text.slice(start, end));
      yield pending + quoted.slice(1, -1);
      pending = '';
      start = end;
    }
    pending += '"';
  }
  if (pending !== '') yield pending;
}

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;
