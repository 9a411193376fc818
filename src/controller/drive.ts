/**
 * Runs the continuation machine without an actor per step.
 *
 * The machine (machines/continuation.machine.ts) stays the one description of
 * the loop: its states, the order of its transitions, its guards and named
 * actions are read off the definition here, once per machine, and nothing of
 * it is written twice. What this file replaces is XState's interpreter for the
 * subset that machine uses — eventless (`always`) routing, one invoked
 * promise per resting state with `onDone`/`onError`, entry actions, nested
 * compound states, top-level finals — because for a loop that takes no
 * outside events and whose effects are already injected (`context.env`), an
 * Actor per run, an invoked Actor (with its AbortController) per await, the
 * mailbox and the snapshot cloning of every microstep cost more than all the
 * rest of a turn (profiled: about half of the controller's own time).
 *
 * Same semantics, step for step: guards are tried in definition order (the
 * first that passes wins; an `always` of the active leaf before its
 * ancestors'), a microstep runs the transition's actions and then the entry
 * actions of the states it enters (outer first), every `assign` sees the
 * context the previous action left, custom actions run as they come, and an
 * invoked promise starts once its state is at rest (the macrostep is over).
 * Its settlement comes back as XState's own `xstate.done.actor.<id>` /
 * `xstate.error.actor.<id>` event. A guard or action that throws ends the
 * run as an actor error would.
 *
 * A machine that uses anything else (parallel or history states, delays,
 * outside events, exit actions, built-in actions other than `assign`, an
 * invoked logic that is not the machine's own promise) gets no table, and the
 * controller runs it in an XState actor, as it does whenever XState
 * inspection is asked for. test/controller/drive.test.ts checks, by property,
 * that this driver and XState's actor take the same steps on the same runs,
 * and that it catches a driver that does not.
 */
import type { AnyStateMachine } from 'xstate';
import { continuationMachine, type ContinuationContext, type ContinuationInput } from '../../machines/continuation.machine.js';

/** A state node as XState builds it (the parts read here). */
interface Node {
  readonly key: string;
  readonly id: string;
  readonly type: string;
  readonly path: readonly string[];
  readonly parent: Node | undefined;
  readonly states: Readonly<Record<string, Node>>;
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly always: readonly Transition[] | undefined;
  readonly transitions: ReadonlyMap<string, readonly Transition[]>;
  readonly invoke: readonly { readonly src: string; readonly id: string; readonly input?: unknown }[];
  readonly initial: { readonly target: readonly Node[] } | undefined;
  readonly config: { readonly after?: unknown; readonly history?: unknown };
}

interface Transition {
  readonly target: readonly Node[] | undefined;
  readonly guard: unknown;
  readonly actions: readonly unknown[];
  readonly reenter: boolean;
  readonly source: Node;
}

/** A named action or guard reference with its params, as the definition gives it. */
export interface Ref {
  readonly type: string;
  readonly params: unknown;
}

export interface StepTransition {
  readonly guard: Ref | null;
  readonly actions: readonly Ref[];
  /** The states left (innermost first) and entered (outermost first, down to the resting leaf). */
  readonly exit: readonly StepState[];
  readonly enter: readonly StepState[];
}

export interface StepState {
  /** Dotted name, as the inspector shows it (`requesting.streaming`). */
  readonly name: string;
  readonly final: boolean;
  readonly entry: readonly Ref[];
  readonly always: readonly StepTransition[];
  readonly invoke: {
    readonly id: string;
    readonly creator: (args: { input: unknown; signal: AbortSignal }) => unknown;
    readonly input: (args: { context: ContinuationContext; event: unknown }) => unknown;
    readonly onDone: readonly StepTransition[];
    readonly onError: readonly StepTransition[];
  } | null;
}

/** The machine's states and transitions, resolved once. `guards` and `actions` are the machine's implementations. */
export interface ContinuationTable {
  readonly initial: StepTransition;
  readonly guards: Readonly<Record<string, unknown>>;
  readonly actions: Readonly<Record<string, unknown>>;
  readonly context: (args: { input: ContinuationInput }) => ContinuationContext;
}

const tables = new WeakMap<AnyStateMachine, ContinuationTable | null>();

/** The table for `machine`, or null when it uses something this driver does not run (the controller then uses an actor). */
export function continuationTable(machine: AnyStateMachine): ContinuationTable | null {
  let table = tables.get(machine);
  if (table === undefined) {
    table = compile(machine);
    tables.set(machine, table);
  }
  return table;
}

class Unsupported extends Error {}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function compile(machine: AnyStateMachine): ContinuationTable | null {
  try {
    return compileOrThrow(machine);
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

function compileOrThrow(machine: AnyStateMachine): ContinuationTable {
  const implementations = machine.implementations as { guards: Record<string, unknown>; actions: Record<string, unknown>; actors: Record<string, unknown> };
  const own = continuationMachine.implementations.actors as Record<string, unknown>;
  const root = machine.root as unknown as Node;
  const states = new Map<Node, Mutable<StepState>>();

  const ref = (value: unknown): Ref => {
    if (typeof value === 'string') return { type: value, params: undefined };
    if (value !== null && typeof value === 'object' && typeof (value as Ref).type === 'string' && typeof (value as { params?: unknown }).params !== 'function') {
      return { type: (value as Ref).type, params: (value as { params?: unknown }).params };
    }
    throw new Unsupported('an inline or computed guard/action');
  };
  const action = (value: unknown): Ref => {
    const r = ref(value);
    const impl = implementations.actions[r.type] as ((...args: unknown[]) => unknown) & { type?: unknown; resolve?: unknown; assignment?: unknown };
    if (typeof impl !== 'function') throw new Unsupported(`action ${r.type}`);
    if ('resolve' in impl && !(impl.type === 'xstate.assign' && typeof impl.assignment === 'function')) throw new Unsupported(`built-in action ${r.type}`);
    return r;
  };
  const guard = (value: unknown): Ref | null => {
    if (value === undefined) return null;
    const r = ref(value);
    const impl = implementations.guards[r.type];
    if (typeof impl !== 'function' || 'check' in impl) throw new Unsupported(`guard ${r.type}`);
    return r;
  };
  const ancestors = (node: Node): Node[] => {
    const out: Node[] = [];
    for (let at = node.parent; at !== undefined; at = at.parent) out.push(at);
    return out;
  };
  const descend = (node: Node): Node[] => {
    const path = [node];
    for (let at = node; at.type === 'compound'; ) {
      const next = at.initial?.target;
      if (next?.length !== 1 || next[0]!.parent !== at) throw new Unsupported('an initial state that is not a child');
      at = next[0]!;
      path.push(at);
    }
    return path;
  };
  /** One transition from `from` (the active leaf at its source), with XState's domain: the target's nearest proper ancestor that also contains the source. */
  const step = (t: Transition, from: Node): StepTransition => {
    if (t.target?.length !== 1 || t.reenter) throw new Unsupported('a targetless, multi-target or re-entering transition');
    const target = t.target[0]!;
    const fromChain = [from, ...ancestors(from)];
    if (!fromChain.includes(t.source)) throw new Unsupported('a transition from outside the active path');
    const domain = ancestors(target).find((a) => ancestors(t.source).includes(a));
    if (domain === undefined || target === t.source || ancestors(target).includes(t.source)) throw new Unsupported('a transition into its own source');
    const exitNodes = fromChain.slice(0, fromChain.indexOf(domain));
    const enterNodes = [...ancestors(target).slice(0, ancestors(target).indexOf(domain)).reverse(), ...descend(target)];
    return { guard: guard(t.guard), actions: t.actions.map(action), exit: exitNodes.map(stateOf), enter: enterNodes.map(stateOf) };
  };
  const stateOf = (node: Node): StepState => {
    const known = states.get(node);
    if (known === undefined) throw new Error(`drive: state ${node.id} was not compiled`);
    return known;
  };

  const visit = (node: Node): void => {
    if (!['atomic', 'compound', 'final'].includes(node.type) || node.config.after !== undefined || node.exit.length > 0) throw new Unsupported(`state ${node.id}`);
    if (node.invoke.length > 1) throw new Unsupported('more than one invoke');
    const state: Mutable<StepState> = { name: node.path.join('.'), final: node.type === 'final', entry: node.entry.map(action), always: [], invoke: null };
    if (state.final && node.parent !== root) throw new Unsupported('a nested final state');
    states.set(node, state);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(root);

  // Transitions, from each leaf's point of view (an ancestor's `always` applies to every leaf under it).
  for (const [node, state] of states) {
    const invoked = node.invoke[0];
    const handled = new Set<string>();
    if (invoked !== undefined) {
      const logic = implementations.actors[invoked.src];
      if (logic === undefined || logic !== own[invoked.src]) throw new Unsupported(`invoked logic ${invoked.src}`);
      const creator = (logic as { config?: unknown }).config;
      if (typeof creator !== 'function' || typeof invoked.input !== 'function') throw new Unsupported('an invoke without a creator or an input function');
      const done = `xstate.done.actor.${invoked.id}`;
      const error = `xstate.error.actor.${invoked.id}`;
      handled.add(done).add(error);
      const onDone = (node.transitions.get(done) ?? []).map((t) => step(t, node));
      const onError = (node.transitions.get(error) ?? []).map((t) => step(t, node));
      // XState ignores an unhandled done event (the run would hang) and fails on an unhandled error: require a default for both.
      if (onDone.at(-1)?.guard !== null || onError.at(-1)?.guard !== null) throw new Unsupported('an invoke without a default onDone and onError');
      state.invoke = { id: invoked.id, creator: creator as NonNullable<StepState['invoke']>['creator'], input: invoked.input as NonNullable<StepState['invoke']>['input'], onDone, onError };
    }
    for (const event of node.transitions.keys()) if (!handled.has(event)) throw new Unsupported(`event ${event}`);
    if (node.type !== 'compound') {
      for (const at of [node, ...ancestors(node)]) {
        if (at !== node && at.always !== undefined) throw new Unsupported('an eventless transition on a compound state');
      }
      state.always = (node.always ?? []).map((t) => step(t, node));
      if (state.always.length > 0 && state.invoke !== null) throw new Unsupported('an invoking state with eventless transitions');
    } else if (node.always !== undefined || state.invoke !== null || node.entry.length > 0) {
      throw new Unsupported('a compound state with its own transitions, entry actions or invoke');
    }
  }

  const context = (machine.config as { context?: unknown }).context;
  if (typeof context !== 'function') throw new Unsupported('a context that is not a factory');
  const first = descend(root).slice(1);
  return {
    initial: { guard: null, actions: [], exit: [], enter: first.map(stateOf) },
    guards: implementations.guards,
    actions: implementations.actions,
    context: context as ContinuationTable['context'],
  };
}

/** What the driver tells the controller. */
export interface DriveHooks {
  /** Each microstep after the initial one, with the state it rests in (as XState's inspection reports microsteps). */
  readonly onState?: ((name: string) => void) | undefined;
  /** A final state was reached. */
  readonly onDone: (context: ContinuationContext) => void;
  /** A guard, an action or an invoke's input threw: the run's controller failed (an actor would be in error). */
  readonly onError: (cause: unknown) => void;
}

/** The signal an invoked promise gets: this machine never leaves an invoking state early, so it never aborts (the run's own signal is the one that does). */
const quietSignal = new AbortController().signal;

type Assign = ((args: unknown, params: unknown) => void) & { assignment?: (args: unknown, params: unknown) => Partial<ContinuationContext> };

/**
 * Runs `table`'s machine from its initial state with `input` until a final
 * state. Returns once the first resting state's promise has started; every
 * later step runs when the promise before it settles.
 */
export function drive(table: ContinuationTable, input: ContinuationInput, hooks: DriveHooks): void {
  const { guards, actions } = table;
  const onState = hooks.onState;
  let context!: ContinuationContext;

  const passes = (ref: Ref | null, event: unknown): boolean => ref === null || Boolean((guards[ref.type] as (args: unknown, params: unknown) => unknown)({ context, event }, ref.params));
  const run = (refs: readonly Ref[], event: unknown): void => {
    for (const ref of refs) {
      const impl = actions[ref.type] as Assign;
      // In place: nothing keeps an earlier context (guards and invoke inputs read it at once, and copy what they keep).
      if (impl.assignment !== undefined) Object.assign(context, impl.assignment({ context, event, self: undefined, system: undefined, spawn: undefined }, ref.params));
      else impl({ context, event, self: undefined, system: undefined }, ref.params);
    }
  };
  /** One microstep: the transition's actions, then the entry actions of the states it enters. Returns the new leaf. */
  const take = (t: StepTransition, event: unknown): StepState => {
    run(t.actions, event);
    for (const state of t.enter) run(state.entry, event);
    return t.enter[t.enter.length - 1]!;
  };
  /**
   * Takes the first of `candidates` whose guard passes, then eventless
   * transitions until the machine rests; then ends the run, or starts the
   * resting state's promise.
   */
  const macrostep = (candidates: readonly StepTransition[], event: unknown, initial: boolean): void => {
    let leaf: StepState;
    let invokeInput: unknown;
    try {
      const first = candidates.find((candidate) => passes(candidate.guard, event));
      if (first === undefined) throw new Error(`drive: no transition for ${(event as { type: string }).type}`);
      leaf = take(first, event);
      if (!initial) onState?.(leaf.name);
      for (;;) {
        if (leaf.final) return hooks.onDone(context);
        const next = leaf.always.find((candidate) => passes(candidate.guard, event));
        if (next === undefined) break;
        leaf = take(next, event);
        onState?.(leaf.name);
      }
      if (leaf.invoke === null) throw new Error(`drive: state ${leaf.name} rests with nothing to wait for`);
      invokeInput = leaf.invoke.input({ context, event });
    } catch (cause) {
      return hooks.onError(cause);
    }
    start(leaf.invoke, invokeInput);
  };
  const start = (invoked: NonNullable<StepState['invoke']>, invokeInput: unknown): void => {
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(invoked.creator({ input: invokeInput, signal: quietSignal }));
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (output) => macrostep(invoked.onDone, { type: `xstate.done.actor.${invoked.id}`, output, actorId: invoked.id }, false),
      (error: unknown) => macrostep(invoked.onError, { type: `xstate.error.actor.${invoked.id}`, error, actorId: invoked.id }, false),
    );
  };

  try {
    context = table.context({ input });
  } catch (cause) {
    return hooks.onError(cause);
  }
  macrostep([table.initial], { type: 'xstate.init', input }, true);
}
