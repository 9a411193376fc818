/**
 * The things the benchmark times, each fed the same chunks:
 *
 * - turnstate: `new TurnParser()`, `write(chunk)` per chunk, `end()`;
 * - floor: streaming TextDecoder + eventsource-parser + JSON.parse per event,
 *   nothing else (what any correct SSE+JSON consumer must at least do);
 * - the SDK's MessageStream / BetaMessageStream accumulators, as a user runs
 *   them: `new Anthropic({ fetch })` whose fetch serves the chunks as a
 *   Response body, then `client.messages.stream(...).finalMessage()`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { TurnParser } from '../src/index.js';
import { ownEvent } from '../src/sse/own-event.js';
import type { TurnOptions } from '../src/index.js';

export type Chunks = readonly Uint8Array[];

/**
 * The floors get their own COPIES of eventsource-parser. Sharing turnstate's
 * would make the parser's callback call sites polymorphic and slow both down,
 * which no real app sees (there, one consumer owns it): measured, turnstate
 * ran ~25 ms slower on the 20 MiB stream. Importing the same file under a
 * `?instance=…` query did NOT separate them (a copy at another path did), so
 * each copy is the same source, tagged with a first-line comment, imported
 * from a data: URL.
 */
const espSource = readFileSync(fileURLToPath(import.meta.resolve('eventsource-parser')), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
type Esp = typeof import('eventsource-parser');
const espCopy = async (tag: string): Promise<Esp> =>
  (await import(`data:text/javascript;charset=utf-8,${encodeURIComponent(`// eventsource-parser, private copy for the bench's ${tag}\n${espSource}`)}`)) as Esp;
const { createParser } = await espCopy('floor');
const { createParser: createAssembleParser } = await espCopy('floor+assemble');

/** What a run produced, to check that every contender assembled the same thing. */
export interface Outcome {
  readonly events: number;
  /**
   * Length of the first text block, or of the tool input's JSON text; an equality check. A getter,
   * computed when a check reads it, after the timed run: serialising a 2 MiB tool input is no part of
   * parsing it, and timed it made turnstate and the SDK look ~7 % slower against the floor, which never paid it.
   */
  readonly size: number;
}

/** An outcome whose size is computed only when read (outside the timing). */
const outcome = (events: number, content: readonly unknown[]): Outcome => ({
  events,
  get size() {
    return sizeOf(content);
  },
});

export function runTurnstate(chunks: Chunks, options?: TurnOptions): Outcome {
  const turn = new TurnParser(options);
  for (const chunk of chunks) turn.write(chunk);
  const result = turn.end();
  if (!result.ok) throw result.error;
  return outcome(result.eventCount, result.message.content);
}

export function runFloor(chunks: Chunks): Outcome {
  const decoder = new TextDecoder();
  let events = 0;
  let sink = 0;
  const parser = createParser({
    onEvent(message) {
      const value = JSON.parse(message.data) as { type: string };
      events++;
      sink += value.type.length;
    },
  });
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  parser.feed('\n\n');
  return { events, size: sink > 0 ? -1 : 0 };
}

/**
 * The floor plus the least assembly any consumer needs (informational): join
 * each block's text / partial_json and JSON.parse a tool input once at its
 * content_block_stop — what turnstate must do on top of the floor.
 */
export function runFloorAssemble(chunks: Chunks): Outcome {
  const decoder = new TextDecoder();
  let events = 0;
  let size = 0;
  let parts: string[] = [];
  let tool = false;
  const parser = createAssembleParser({
    onEvent(message) {
      const value = JSON.parse(message.data) as { type: string; content_block?: { type: string }; delta?: { text?: string; partial_json?: string } };
      events++;
      if (value.type === 'content_block_delta') parts.push(value.delta?.text ?? value.delta?.partial_json ?? '');
      else if (value.type === 'content_block_start') tool = value.content_block?.type === 'tool_use';
      else if (value.type === 'content_block_stop') {
        const joined = parts.join('');
        size += tool ? JSON.stringify(JSON.parse(joined || '{}')).length : joined.length;
        parts = [];
      }
    },
  });
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  parser.feed('\n\n');
  return { events, size };
}

const REQUEST = {
  // Not in the SDK's deprecation list, so it prints no warning per request.
  model: 'claude-opus-4-7',
  max_tokens: 64000,
  messages: [{ role: 'user' as const, content: 'bench' }],
};

/** A client whose fetch answers with `chunks` as a text/event-stream body, one chunk per read. */
export function sdkClient(chunks: Chunks): Anthropic {
  return new Anthropic({
    apiKey: 'bench',
    baseURL: 'http://bench.invalid',
    maxRetries: 0,
    logLevel: 'off',
    fetch: async () => {
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks[i++];
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    },
  });
}

export type InputJsonListener = (partialJson: string, snapshot: unknown) => void;

export async function runSdk(chunks: Chunks, beta: boolean, onInputJson?: InputJsonListener): Promise<Outcome> {
  const client = sdkClient(chunks);
  // No listeners but the optional inputJson one: finalMessage() is what a user awaits.
  if (beta) {
    const stream = client.beta.messages.stream(REQUEST);
    if (onInputJson) stream.on('inputJson', onInputJson);
    const message = await stream.finalMessage();
    return outcome(-1, message.content);
  }
  const stream = client.messages.stream(REQUEST);
  if (onInputJson) stream.on('inputJson', onInputJson);
  const message = await stream.finalMessage();
  return outcome(-1, message.content);
}

function sizeOf(content: readonly unknown[]): number {
  let size = 0;
  for (const block of content) {
    const b = block as { type: string; text?: string; input?: unknown };
    if (b.type === 'text') size += b.text?.length ?? 0;
    else if ('input' in b) size += JSON.stringify(b.input).length;
  }
  return size;
}

/** The stream's events parsed once (outside any timing), for the events-in path. */
export function parsedEvents(chunks: Chunks): unknown[] {
  const events: unknown[] = [];
  const decoder = new TextDecoder();
  const parser = createParser({ onEvent: (message) => void events.push(JSON.parse(message.data)) });
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(`${decoder.decode()}\n\n`);
  return events;
}

/** turnstate fed already-parsed events (`writeEvent`), the same objects every round: they are never changed. */
export function runTurnstateEvents(events: readonly unknown[]): Outcome {
  const turn = new TurnParser();
  for (const event of events) turn.writeEvent(event);
  const result = turn.end();
  if (!result.ok) throw result.error;
  return outcome(result.eventCount, result.message.content);
}

/** Only the copying writeEvent does so that inputs stay the caller's (src/sse/own-event.ts). */
export function runCopyOnly(events: readonly unknown[]): Outcome {
  let kept = 0;
  for (const event of events) if (ownEvent(event) !== event) kept++;
  return { events: events.length, size: kept };
}
