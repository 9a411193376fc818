/**
 * Events handed in already parsed belong to the caller, who may replay them
 * or feed them to a second parser; the assembler builds the message out of
 * the event objects (message_start's message, each content_block_start's
 * block, message_delta's fields, citations) and grows them in place. So an
 * event is copied before anything keeps it — except a text / JSON / thinking
 * / signature delta, the hot case, whose payload is a string (immutable) and
 * whose object nothing keeps. Bytes need none of this: what the framer
 * parsed is ours.
 */
export function ownEvent(event: unknown): unknown {
  if (typeof event !== 'object' || event === null) return event;
  const record = event as Record<string, unknown>;
  if (record['type'] === 'content_block_delta') {
    const delta = record['delta'];
    const kind = typeof delta === 'object' && delta !== null ? (delta as Record<string, unknown>)['type'] : undefined;
    if (kind === 'text_delta' || kind === 'input_json_delta' || kind === 'thinking_delta' || kind === 'signature_delta') return event;
  }
  return copyJson(event);
}

/**
 * A deep copy of plain objects and arrays, without recursion (a tool input
 * can be nested thousands deep) and keeping shared or cyclic references as
 * such. Anything that is not a plain object or array (a Date, a Map, a class
 * instance) is kept by reference, as JSON would not carry it anyway.
 * structuredClone would do, but it recurses (RangeError on deep input) and
 * throws on functions.
 */
export function copyJson<T>(value: T): T {
  if (!isPlain(value)) return value;
  const seen = new Map<object, object>();
  const root = shell(value);
  seen.set(value, root);
  const work: [Record<string, unknown>, Record<string, unknown>][] = [[value as Record<string, unknown>, root as Record<string, unknown>]];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const [from, to] = item;
    for (const key of Object.keys(from)) {
      const field = from[key];
      let copy: unknown = field;
      if (isPlain(field)) {
        copy = seen.get(field);
        if (copy === undefined) {
          copy = shell(field);
          seen.set(field, copy as object);
          work.push([field as Record<string, unknown>, copy as Record<string, unknown>]);
        }
      }
      // JSON.parse makes "__proto__" an own key; assignment would set the prototype instead.
      if (key === '__proto__') Object.defineProperty(to, key, { value: copy, enumerable: true, writable: true, configurable: true });
      else to[key] = copy;
    }
  }
  return root as T;
}

function isPlain(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function shell(value: object): object {
  return Array.isArray(value) ? [] : {};
}
