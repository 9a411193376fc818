/**
 * A machine definition as a plain graph: every state node and every
 * transition XState can take, read off the machine itself (never drawn by
 * hand), in the order XState tries them.
 *
 * What XState's own `xstate/graph` leaves out, and this keeps: eventless
 * `always` transitions, invoke `onDone` / `onError`, wildcard (`*`) handlers,
 * targetless transitions, and guard names with their parameters.
 *
 * Order. For one event, XState asks the deepest active state first and walks
 * up to the root; within one state node it tries the exact event's
 * transitions in definition order, then the wildcard ones (longest
 * descriptor first), and takes the first whose guard passes. `order` numbers
 * a node's candidates for one trigger in exactly that sequence, so a diagram
 * can say "1. [isNextBlock] 2. [blockTypeIn(text)] …" as the machine reads.
 */
import type { AnyStateMachine } from 'xstate';

/** XState's state node, reduced to the members read here (they are public, but typed loosely across versions). */
interface NodeLike {
  readonly id: string;
  readonly key: string;
  readonly path: readonly string[];
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly states: Readonly<Record<string, NodeLike>>;
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[] | undefined;
  readonly initial?: { readonly target: readonly NodeLike[] } | undefined;
  readonly invoke: readonly { readonly id: string; readonly src: unknown }[];
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly description?: string | undefined;
}

interface TransitionLike {
  readonly target?: readonly NodeLike[] | undefined;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter?: boolean;
}

export type StateKind = NodeLike['type'];

export interface DiagramState {
  /** XState's id: `stream.inBlock.text` (the machine id, then the path). */
  readonly id: string;
  /** The dotted name the inspector shows: `inBlock.text`; `''` for the root. */
  readonly name: string;
  readonly key: string;
  readonly kind: StateKind;
  /** Parent's id, null for the root. */
  readonly parent: string | null;
  /** The initial child's id (compound states). */
  readonly initial: string | null;
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  /** Invoked actors: their source name (e.g. `requestModel`). */
  readonly invokes: readonly string[];
  readonly description: string | null;
}

/** What fires a transition. */
export type Trigger =
  | { readonly kind: 'event'; readonly event: string }
  /** `*`, or a partial descriptor such as `xstate.done.*`. */
  | { readonly kind: 'wildcard'; readonly event: string }
  /** Eventless: checked after every step while the state is active. */
  | { readonly kind: 'always' }
  /** An invoked actor finished (`onDone`) or failed (`onError`). */
  | { readonly kind: 'done' | 'error'; readonly actor: string }
  /** A compound state's own `onDone` (a final child was reached). */
  | { readonly kind: 'state_done' }
  | { readonly kind: 'after'; readonly event: string };

export interface DiagramTransition {
  /** The id of the state node the transition is defined on. */
  readonly source: string;
  /** Target state ids; empty for a targetless transition (actions only, no exit/entry). */
  readonly targets: readonly string[];
  readonly trigger: Trigger;
  /** XState's event descriptor (`content_block_start`, `xstate.done.actor.0.continuation.requesting.streaming`, `` for always). */
  readonly descriptor: string;
  /** The guard as written: `isNextBlock`, `not(isNextBlock)`, `blockTypeIn(types: text)`; null when unguarded. */
  readonly guard: string | null;
  readonly actions: readonly string[];
  /** 1-based position among the source node's candidates for this trigger (see the module comment). */
  readonly order: number;
  /** How many candidates the source node has for this trigger. */
  readonly of: number;
}

export interface MachineGraph {
  readonly id: string;
  /** Every state node, the root first, then depth-first in definition order. */
  readonly states: readonly DiagramState[];
  /** Every transition, grouped by source in the order of `states`, each group in XState's order. */
  readonly transitions: readonly DiagramTransition[];
}

/** Parameters as `key: value` text; arrays as `a | b`. Compact, deterministic, one line. */
function formatParams(params: unknown): string {
  if (params === undefined || params === null) return '';
  if (typeof params !== 'object') return String(params);
  const format = (value: unknown): string => {
    if (Array.isArray(value)) return value.map(format).join(' | ');
    if (value !== null && typeof value === 'object') return JSON.stringify(value);
    return String(value);
  };
  return Object.entries(params as Record<string, unknown>)
    .map(([key, value]) => `${key}: ${format(value)}`)
    .join(', ');
}

/** A guard as its name, combinators (`not`, `and`, `or`) spelled out. */
export function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const combinator = guard as { name: string; guards?: unknown };
    if (Array.isArray(combinator.guards) && ['not', 'and', 'or'].includes(combinator.name)) {
      return `${combinator.name}(${combinator.guards.map(guardLabel).join(', ')})`;
    }
    return combinator.name || 'inline guard';
  }
  if (guard !== null && typeof guard === 'object' && 'type' in guard) {
    const { type, params } = guard as { type: unknown; params?: unknown };
    const shown = formatParams(params);
    return shown === '' ? guardLabel(type) : `${guardLabel(type)}(${shown})`;
  }
  return 'inline guard';
}

/** An action as its name (named actions), with parameters; built-ins by their XState type. */
export function actionLabel(action: unknown): string {
  if (typeof action === 'string') return action;
  if (action !== null && typeof action === 'object' && 'type' in action) {
    const { type, params } = action as { type: unknown; params?: unknown };
    const name = typeof type === 'string' ? type : actionLabel(type);
    const shown = typeof params === 'function' ? '' : formatParams(params);
    return shown === '' ? name : `${name}(${shown})`;
  }
  if (typeof action === 'function') {
    const named = action as { type?: unknown; name: string };
    return typeof named.type === 'string' ? named.type : named.name || 'inline action';
  }
  return 'inline action';
}

function triggerOf(node: NodeLike, descriptor: string): Trigger {
  for (const invoke of node.invoke) {
    const src = typeof invoke.src === 'string' ? invoke.src : invoke.id;
    if (descriptor === `xstate.done.actor.${invoke.id}`) return { kind: 'done', actor: src };
    if (descriptor === `xstate.error.actor.${invoke.id}`) return { kind: 'error', actor: src };
  }
  if (descriptor === `xstate.done.state.${node.id}`) return { kind: 'state_done' };
  if (descriptor.startsWith('xstate.after.')) return { kind: 'after', event: descriptor };
  if (descriptor === '*' || descriptor.endsWith('.*')) return { kind: 'wildcard', event: descriptor };
  return { kind: 'event', event: descriptor };
}

/** The machine definition as a graph; works for any XState v5 machine. */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  return walk(machine).graph;
}

/**
 * Finds a transition XState took (an inspection `@xstate.microstep` event's
 * `_transitions` entries) in the machine's graph: its index in
 * `graph.transitions`, or null for a transition of another machine.
 */
export function transitionIndexer(machine: AnyStateMachine): (definition: unknown) => number | null {
  const { definitions } = walk(machine);
  const index = new Map<unknown, number>(definitions.map((d, i) => [d, i]));
  return (definition) => index.get(definition) ?? null;
}

function walk(machine: AnyStateMachine): { graph: MachineGraph; definitions: TransitionLike[] } {
  const root = machine.root as unknown as NodeLike;
  const states: DiagramState[] = [];
  const transitions: DiagramTransition[] = [];
  const definitions: TransitionLike[] = [];
  // An explicit stack, not recursion: machine depth is small, but nothing here should depend on that.
  const stack: { node: NodeLike; parent: string | null }[] = [{ node: root, parent: null }];
  while (stack.length > 0) {
    const { node, parent } = stack.pop()!;
    states.push({
      id: node.id,
      name: node.path.join('.'),
      key: node.key,
      kind: node.type,
      parent,
      initial: node.type === 'compound' ? (node.initial?.target[0]?.id ?? null) : null,
      entry: node.entry.map(actionLabel),
      exit: node.exit.map(actionLabel),
      invokes: node.invoke.map((invoke) => (typeof invoke.src === 'string' ? invoke.src : invoke.id)),
      description: node.description ?? null,
    });
    const add = (descriptor: string, group: readonly TransitionLike[], trigger: Trigger): void => {
      group.forEach((transition, i) => {
        definitions.push(transition);
        transitions.push({
          source: node.id,
          targets: (transition.target ?? []).map((target) => target.id),
          trigger,
          descriptor,
          guard: transition.guard === undefined ? null : guardLabel(transition.guard),
          actions: transition.actions.map(actionLabel),
          order: i + 1,
          of: group.length,
        });
      });
    };
    // Exact descriptors in definition order, then wildcards longest first: XState's candidate order.
    const descriptors = [...node.transitions.keys()];
    const exact = descriptors.filter((d) => triggerOf(node, d).kind !== 'wildcard');
    const wild = descriptors.filter((d) => triggerOf(node, d).kind === 'wildcard').sort((a, b) => b.length - a.length);
    for (const descriptor of [...exact, ...wild]) add(descriptor, node.transitions.get(descriptor) ?? [], triggerOf(node, descriptor));
    if (node.always !== undefined && node.always.length > 0) add('', node.always, { kind: 'always' });
    const children = Object.values(node.states);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, parent: node.id });
  }
  return { graph: { id: machine.id, states, transitions }, definitions };
}

/** A trigger as a person reads it: the event name, `always`, `done: requestModel`, `error: requestModel`. */
export function triggerLabel(trigger: Trigger): string {
  switch (trigger.kind) {
    case 'event':
    case 'wildcard':
    case 'after':
      return trigger.event;
    case 'always':
      return 'always';
    case 'done':
      return `done: ${trigger.actor}`;
    case 'error':
      return `error: ${trigger.actor}`;
    case 'state_done':
      return 'done';
  }
}

/** One transition's label: `1/3 content_block_start [not(isNextBlock)] / recordViolation(code: block_index_mismatch)`. */
export function transitionLabel(transition: DiagramTransition, options: { actions?: boolean } = {}): string {
  const parts = [transition.of > 1 ? `${transition.order}/${transition.of} ${triggerLabel(transition.trigger)}` : triggerLabel(transition.trigger)];
  if (transition.guard !== null) parts.push(`[${transition.guard}]`);
  if ((options.actions ?? true) && transition.actions.length > 0) parts.push(`/ ${transition.actions.join(', ')}`);
  return parts.join(' ');
}
