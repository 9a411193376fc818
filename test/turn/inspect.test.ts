import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { TurnParser } from '../../src/index.js';
import { repoRoot } from '../support/corpus.js';

const bytes = readFileSync(join(repoRoot, 'recordings', 'tool-use-single.sse'));
const deltas = bytes.toString('utf8').split('\n').filter((l) => l.startsWith('event: content_block_delta')).length;

function inspected(actorSteps: 'boundaries' | 'every-event'): string[] {
  const seen: string[] = [];
  const turn = new TurnParser({
    actorSteps,
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.event') seen.push(event.event.type);
    },
  });
  turn.write(bytes);
  expect(turn.end().ok).toBe(true);
  return seen;
}

describe('the XState inspector sees the stream machine', () => {
  it('with every-event, every delta is an actor step the inspector shows', () => {
    expect(inspected('every-event').filter((t) => t === 'content_block_delta')).toHaveLength(deltas);
  });

  it('by default, it shows every boundary event and no delta that fitted its block', () => {
    const seen = inspected('boundaries');
    expect(seen.filter((t) => t === 'content_block_delta')).toHaveLength(0);
    for (const type of ['message_start', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop']) expect(seen).toContain(type);
  });
});
