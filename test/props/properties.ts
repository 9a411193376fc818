/**
 * The properties, written once against an abstract parser so they can run
 * both against turnstate (with `fc.assert`) and against deliberately broken
 * parsers (with `fc.check`, expecting failure — see
 * broken-parser-is-caught.test.ts).
 */
import { expect } from 'vitest';
import fc from 'fast-check';
import { StreamError, TurnParser, TurnstateError, type TurnOptions } from '../../src/index.js';
import {
  chunk,
  chunkingArb,
  mutatedStreamArb,
  serialize,
  sseFormatArb,
  validBytesArb,
  validStreamArb,
  type Obj,
  type ValidStream,
} from '../support/arbitraries.js';
import { STREAM_ERROR_CODES, dropSummary, referenceParse, type RefResult } from './reference.js';

/** What the properties need to see of a parse. */
export interface Outcome {
  readonly ok: boolean;
  readonly message: unknown;
  readonly stopReason: unknown;
  readonly dropped: readonly { index: number; type: string; reason: string; partial: string }[];
  readonly error: TurnstateError | null;
}

/** A parser of SSE bytes delivered in chunks. */
export type BytesParser = (chunks: readonly Uint8Array[]) => Outcome;

/** turnstate's TurnParser, fed chunk by chunk. */
export function turnstate(options: TurnOptions = {}): BytesParser {
  return (chunks) => {
    const turn = new TurnParser(options);
    try {
      for (const c of chunks) turn.write(c);
    } catch (error) {
      // write throws the typed error; end() reports the same one.
      if (!(error instanceof TurnstateError)) throw error;
    }
    return turn.end();
  };
}

/** Property: valid streams are accepted and assemble to the generator's message. */
export function validStreamsProperty(parse: BytesParser): fc.IProperty<[ValidBytes]> {
  return fc.property(validBytesArb(), ({ stream, chunks }) => {
    matchesExpected(parse(chunks), stream);
  });
}

type ValidBytes = ReturnType<typeof validBytesArb> extends fc.Arbitrary<infer T> ? T : never;

/** The parse accepted the stream and assembled the generator's message, stop reason and dropped blocks. */
export function matchesExpected(result: Outcome, stream: ValidStream): void {
  if (!result.ok) throw result.error ?? new Error('rejected without an error');
  expect(result.message).toEqual(stream.expected.message);
  expect(result.stopReason).toBe(stream.expected.stopReason);
  expect(result.dropped.map(dropSummary)).toEqual(stream.expected.dropped);
}

/** turnstate (or a pretender) agrees with the reference grammar on one sequence. */
export function agreesWithReference(result: Outcome, ref: RefResult): void {
  if (ref.ok) {
    if (!result.ok) throw new Error(`reference accepts, parser rejects: ${String(result.error)}`);
    expect(result.message).toEqual(ref.message);
    expect(result.stopReason).toBe(ref.stopReason);
    expect(result.dropped.map(dropSummary)).toEqual(ref.dropped);
    return;
  }
  if (result.ok) throw new Error(`reference rejects (${ref.code} at event ${ref.eventIndex}), parser accepts`);
  const error = result.error;
  expect(error).toBeInstanceOf(StreamError);
  expect(STREAM_ERROR_CODES).toContain(error?.code);
  expect({ code: error?.code, eventIndex: error?.eventIndex }).toEqual({ code: ref.code, eventIndex: ref.eventIndex });
}

/** Property: on mutated sequences (as bytes, random format and chunks) the parser agrees with the reference grammar. */
export function mutationsProperty(parse: BytesParser): fc.IProperty<[{ events: Obj[] }, Parameters<typeof serialize>[1] & object, Parameters<typeof chunk>[1]]> {
  return fc.property(mutatedStreamArb(), sseFormatArb, chunkingArb, ({ events }, format, chunking) => {
    agreesWithReference(parse(chunk(serialize(events, format).bytes, chunking)), referenceParse(events));
  });
}

/** One framed event as a framer reports it. */
export interface Framed {
  readonly name: string | undefined;
  readonly data: string;
  readonly offset: number | null;
}

/** An SSE framer: bytes in chunks → events with the byte offset of their data payload. */
export type Framer = (chunks: readonly Uint8Array[]) => Framed[];

/**
 * Property: every event comes out with its exact name and payload, and the
 * byte offset of its payload equals the one computed while writing the bytes
 * (BOM bytes included, multibyte characters counted in bytes), whatever the
 * line endings and however the bytes are chunked.
 */
export function framerProperty(frame: Framer): fc.IProperty<[ReturnType<typeof validStreamArb> extends fc.Arbitrary<infer T> ? T : never, Parameters<typeof serialize>[1] & object, Parameters<typeof chunk>[1]]> {
  return fc.property(validStreamArb(), sseFormatArb, chunkingArb, (stream, format, chunking) => {
    const serialized = serialize(stream.events, format);
    const framed = frame(chunk(serialized.bytes, chunking));
    expect(framed.map((f) => f.data)).toEqual(serialized.payloads);
    expect(framed.map((f) => f.name)).toEqual(stream.events.map((e) => e['type']));
    expect(framed.map((f) => f.offset)).toEqual(serialized.dataOffsets);
  });
}
