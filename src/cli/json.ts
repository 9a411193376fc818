import { CliError, errorMessage } from './errors.js';

/**
 * One JSON line for a record whose values come from user data (a parsed
 * stream, a transcript). JSON.stringify recurses, so input nested deeper than
 * the engine's stack (100k `[`) throws RangeError; the line is then still
 * written, with every field that does serialise, the ones that do not set to
 * null, and `error` replaced by an `output_unserializable` CliError naming
 * them (the error it replaces, if any, becomes its `cause`). `adjust` may
 * change the kept record further (e.g. set `ok: false`).
 */
export function jsonLine(record: Record<string, unknown>, adjust?: (kept: Record<string, unknown>) => void): string {
  try {
    return `${JSON.stringify(record)}\n`;
  } catch (first) {
    const kept: Record<string, unknown> = {};
    const fields: string[] = [];
    for (const [key, value] of Object.entries(record)) {
      try {
        JSON.stringify(value);
        kept[key] = value;
      } catch {
        kept[key] = null;
        fields.push(key);
      }
    }
    const error = new CliError('output_unserializable', `cannot write ${fields.join(', ')} as JSON: ${errorMessage(first)}`, { fields });
    const json: Record<string, unknown> = error.toJSON();
    if (kept['error'] !== null && kept['error'] !== undefined) json['cause'] = kept['error'];
    kept['error'] = json;
    adjust?.(kept);
    return `${JSON.stringify(kept)}\n`;
  }
}

type Frame = { readonly close: string; readonly entries: Iterator<readonly [string | null, unknown]>; first: boolean };

/**
 * A JSON-like preview of `value`, at most `max` characters (… when cut), for
 * human output. Walks the value with an explicit stack, not recursion, and
 * stops as soon as it has enough, so a value of any depth or size costs at
 * most O(max) steps beyond building the entry iterators it reaches.
 */
export function preview(value: unknown, max = 80): string {
  let out = '';
  const stack: Frame[] = [];
  const emit = (item: unknown): void => {
    if (Array.isArray(item)) {
      out += '[';
      stack.push({ close: ']', entries: arrayEntries(item), first: true });
    } else if (item !== null && typeof item === 'object') {
      out += '{';
      stack.push({ close: '}', entries: objectEntries(item as Record<string, unknown>), first: true });
    } else if (typeof item === 'string') {
      out += JSON.stringify(item.length > max ? item.slice(0, max) : item);
    } else if (typeof item === 'number' || typeof item === 'boolean' || item === null) {
      out += Number.isFinite(item) || typeof item !== 'number' ? String(item) : 'null';
    } else {
      out += typeof item === 'bigint' ? String(item) : 'null';
    }
  };
  emit(value);
  while (stack.length > 0 && out.length <= max) {
    const frame = stack[stack.length - 1]!;
    const next = frame.entries.next();
    if (next.done) {
      out += frame.close;
      stack.pop();
      continue;
    }
    if (!frame.first) out += ',';
    frame.first = false;
    const [key, item] = next.value;
    if (key !== null) out += `${JSON.stringify(key)}:`;
    emit(item);
  }
  return out.length > max || stack.length > 0 ? `${out.slice(0, max - 1)}…` : out;
}

function* objectEntries(object: Record<string, unknown>): Generator<readonly [string, unknown]> {
  for (const key in object) if (Object.hasOwn(object, key)) yield [key, object[key]] as const;
}

function* arrayEntries(array: readonly unknown[]): Generator<readonly [null, unknown]> {
  for (let i = 0; i < array.length; i++) yield [null, array[i]] as const;
}

/** Text on one line (line breaks shown as ⏎), at most `max` characters. */
export function clipLine(text: string, max = 80): string {
  const head = text.length > max ? text.slice(0, max) : text;
  const line = head.replace(/\r?\n/g, '⏎');
  return text.length > max || line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
