import { describe, expect, it } from 'vitest';
import { assign, createActor, fromPromise, not, setup, type AnyStateMachine } from 'xstate';
import { graphToMermaid, machineGraph, toDot, toMermaid, transitionLabel } from '../../src/diagram/index.js';
import { streamMachine } from '../../machines/stream.machine.js';
import { continuationMachine } from '../../machines/continuation.machine.js';

/** A small machine with one of everything a diagram must show. */
const everything = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'go' } | { type: 'other' } | { type: 'poke' } },
  actors: { work: fromPromise(async () => 1) },
  guards: { isBig: ({ context }) => context.n > 1, isWhat: (_, params: { what: string }) => params.what === 'x' },
  actions: { bump: assign({ n: ({ context }) => context.n + 1 }), note: () => {} },
}).createMachine({
  id: 'everything',
  context: { n: 0 },
  initial: 'idle',
  on: { '*': { target: '.broken' }, poke: { actions: 'note' } },
  states: {
    idle: {
      on: { go: [{ guard: not('isBig'), target: 'busy', actions: 'bump' }, { guard: { type: 'isWhat', params: { what: 'x' } }, target: 'routing' }] },
    },
    busy: {
      initial: 'working',
      states: {
        working: { invoke: { src: 'work', onDone: { target: '#everything.routing' }, onError: { target: '#everything.broken' } } },
      },
    },
    routing: { always: [{ guard: 'isBig', target: 'done' }, { target: 'idle' }] },
    done: { type: 'final' },
    broken: { type: 'final' },
  },
});

describe('machineGraph', () => {
  it('draws a small machine exactly (expected text written by hand)', () => {
    expect(toMermaid(everything)).toBe(`stateDiagram-v2
  direction TB
  [*] --> idle
  state "(any state)" as any_state
  state "idle" as idle
  state "busy" as busy {
    [*] --> busy_working
    state "working" as busy_working
    busy_working : invokes work
  }
  state "routing" as routing
  state "done" as done
  state "broken" as broken
  any_state --> any_state : poke / note (stays)
  any_state --> broken : *
  idle --> busy : 1/2 go [not(isBig)] / bump
  idle --> routing : 2/2 go [isWhat(what: x)]
  busy_working --> routing : done: work
  busy_working --> broken : error: work
  routing --> done : 1/2 always [isBig]
  routing --> idle : 2/2 always
  done --> [*]
  broken --> [*]
`);
  });

  it('puts a state node’s exact-event transitions before its wildcard ones, as XState tries them', () => {
    // The root declares '*' before 'poke'; the graph lists poke first. XState agrees: poke stays, other breaks.
    const root = machineGraph(everything).transitions.filter((t) => t.source === 'everything');
    expect(root.map((t) => t.descriptor)).toEqual(['poke', '*']);
    const actor = createActor(everything).start();
    actor.send({ type: 'poke' });
    expect(actor.getSnapshot().value).toBe('idle');
    actor.send({ type: 'other' });
    expect(actor.getSnapshot().value).toBe('broken');
  });

  /** Every state key and transition count, read from the raw config — a second, independent walk. */
  function fromConfig(machine: AnyStateMachine) {
    const names: string[] = [];
    let transitions = 0;
    const walk = (config: Record<string, unknown>, path: string[]): void => {
      const on = (config['on'] ?? {}) as Record<string, unknown>;
      for (const value of Object.values(on)) transitions += Array.isArray(value) ? value.length : 1;
      const always = config['always'];
      if (always !== undefined) transitions += Array.isArray(always) ? always.length : 1;
      const invokes = config['invoke'] === undefined ? [] : Array.isArray(config['invoke']) ? config['invoke'] : [config['invoke']];
      for (const invoke of invokes as Record<string, unknown>[]) {
        for (const key of ['onDone', 'onError']) {
          const value = invoke[key];
          if (value !== undefined) transitions += Array.isArray(value) ? value.length : 1;
        }
      }
      for (const [key, child] of Object.entries((config['states'] ?? {}) as Record<string, Record<string, unknown>>)) {
        names.push([...path, key].join('.'));
        walk(child, [...path, key]);
      }
    };
    walk(machine.config as unknown as Record<string, unknown>, []);
    return { names, transitions };
  }

  for (const [name, machine] of [
    ['stream', streamMachine],
    ['continuation', continuationMachine],
  ] as const) {
    it(`${name}: every state and every transition of the definition is in the graph, the Mermaid and the DOT`, () => {
      const expected = fromConfig(machine);
      const graph = machineGraph(machine);
      expect(graph.states.slice(1).map((s) => s.name)).toEqual(expected.names);
      expect(graph.transitions).toHaveLength(expected.transitions);
      const mermaid = toMermaid(machine);
      const dot = toDot(machine);
      for (const transition of graph.transitions) {
        const label = transitionLabel(transition);
        expect(mermaid).toContain(label);
        expect(dot).toContain(JSON.stringify(transition.targets.length === 0 ? `${label} (stays)` : label));
      }
    });
  }

  it('continuation: the eventless routing xstate/graph leaves out has its edges, with guard names, in order', () => {
    const mermaid = toMermaid(continuationMachine, { actions: false });
    for (const state of ['starting', 'preparingRequest', 'routingStopReason', 'checkingToolCalls']) {
      expect(mermaid).toMatch(new RegExp(`^  ${state} --> \\w+ : `, 'm'));
    }
    expect(mermaid).toContain('routingStopReason --> completed : 1/11 always [stoppedOnEndTurn]');
    expect(mermaid).toContain('routingStopReason --> failed : 11/11 always\n');
    expect(mermaid).toContain('requesting_streaming --> requesting_backingOff : 2/4 error: requestModel [retryableWithAttemptsLeft]');
    expect(mermaid).toContain('runningTools --> awaitingApproval : 1/2 done: runTools [batchHasDeferredCalls]');
    expect(mermaid).toContain('runningTools --> preparingRequest : 2/2 done: runTools');
    expect(mermaid).toContain('checkingToolCalls --> approvingToolCalls : 4/5 always [batchAwaitsApproval]');
  });

  it('stream: guard parameters are on the labels (the delta types each block takes)', () => {
    const mermaid = toMermaid(streamMachine);
    expect(mermaid).toContain('inBlock_text --> inBlock_text : content_block_delta [fitsOpenBlock(deltaTypes: text_delta | citations_delta)] / applyDelta (stays)');
    expect(mermaid).toContain('betweenBlocks --> violated : 2/7 content_block_start [not(isNextBlock)] / recordViolation(code: block_index_mismatch)');
    expect(mermaid).toContain('betweenBlocks --> betweenBlocks : 1/7 content_block_start [repeatsIndexAfterToolResult] / reportRepairedIndex, takeAsDueBlock (stays)');
    expect(mermaid).toContain('inBlock --> violated : content_block_start / recordViolation(code: unexpected_event)');
    expect(mermaid).toContain('any_state --> violated : * / recordViolation(code: unexpected_event)');
  });

  it('Mermaid labels never carry the characters Mermaid reads as syntax', () => {
    const graph = machineGraph(everything);
    const hostile = { ...graph, transitions: graph.transitions.map((t) => ({ ...t, guard: 'a#b;c\nd' })) };
    for (const line of graphToMermaid(hostile).split('\n').filter((l) => l.includes(' : '))) expect(line.split(' : ')[1]).not.toMatch(/[#;]/);
  });
});
