/**
 * Property: every generated valid stream — any block types, any delta splits,
 * pings anywhere, every stop reason, padded JSON, LF / CRLF / CR, BOM, a missing
 * final blank line, random byte chunks that split UTF-8 characters — is
 * accepted, and assembles to exactly the message the generator's own model
 * predicts; and (on a sample) to what the SDK's beta accumulator assembles from
 * the same bytes, minus the blocks turnstate drops on truncation.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TurnParser, type TurnResult } from '../../src/index.js';
import { sdkFinalMessage } from '../support/sdk-oracle.js';
import { validBytesArb, withFinalBlankLine, type Obj } from '../support/arbitraries.js';
import { plain } from './reference.js';
import { matchesExpected } from './properties.js';

type ActorSteps = 'boundaries' | 'every-event';

function parseChunks(chunks: readonly Uint8Array[], actorSteps: ActorSteps): TurnResult {
  const turn = new TurnParser({ actorSteps });
  for (const c of chunks) turn.write(c);
  return turn.end();
}

describe.each<ActorSteps>(['boundaries', 'every-event'])('valid streams, actorSteps: %s', (actorSteps) => {
  it('are accepted and assemble to the generator’s message', () => {
    fc.assert(
      fc.property(validBytesArb(), ({ stream, chunks }) => {
        const result = parseChunks(chunks, actorSteps);
        matchesExpected(result, stream);
        expect(result.error).toBeNull();
        expect(result.eventCount).toBe(stream.events.length);
        expect(result.trace.at(-1)).toBe('complete');
        expect(result.diagnostics).toEqual([]);
      }),
      { numRuns: actorSteps === 'boundaries' ? 250 : 120 },
    );
  });

  it('assemble to what the SDK’s beta accumulator assembles from the same bytes (minus dropped blocks)', async () => {
    await fc.assert(
      fc.asyncProperty(validBytesArb(), async ({ stream, format, serialized, chunks }) => {
        const result = parseChunks(chunks, actorSteps);
        if (!result.ok) throw result.error;
        // The SDK drops a final event that lacks its blank line; give it the same bytes with the line restored.
        const bytes = format.ending === 'full' ? serialized.bytes : withFinalBlankLine(stream.events, format);
        const oracle = await sdkFinalMessage(bytes);
        if (!oracle.ok) throw oracle.error;
        const droppedAt = new Set(result.dropped.map((d) => d.index));
        const sdk = { ...oracle.message, content: oracle.message.content.filter((_, i) => !droppedAt.has(i)) };
        expect(plain(result.message)).toEqual(sdk);
        expect(plain(stream.expected.message as Obj)).toEqual(sdk);
      }),
      { numRuns: 50 },
    );
  });
});
