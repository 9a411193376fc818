/**
 * A machine as a Mermaid `stateDiagram-v2`, generated from its definition.
 *
 * Conventions (Mermaid has no notation for them):
 * - transitions defined on the machine's root apply in every state that does
 *   not handle the event itself; they start from a pseudo-state
 *   "(any state)";
 * - a targetless transition (actions only, no exit or entry) is a self-loop
 *   whose label ends in "(stays)";
 * - "2/6" before an event: the second of six candidates XState tries for that
 *   event on that state, in that order.
 */
import type { AnyStateMachine } from 'xstate';
import { machineGraph, transitionLabel, type DiagramState, type MachineGraph } from './graph.js';

/** Mermaid ids: the dotted path with `_`; `#`, `;` and newlines cannot appear in a label (Mermaid reads them as syntax). */
const mermaidId = (state: DiagramState): string => (state.name === '' ? 'any_state' : state.name.replaceAll('.', '_'));
const label = (text: string): string => text.replace(/[#;\n]/g, ' ');

export interface MermaidOptions {
  /** Show actions on transitions (default true). */
  readonly actions?: boolean;
  /** Mermaid `direction` (default TB). */
  readonly direction?: 'TB' | 'LR';
}

export function graphToMermaid(graph: MachineGraph, options: MermaidOptions = {}): string {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const children = new Map<string, DiagramState[]>();
  for (const state of graph.states) {
    if (state.parent === null) continue;
    const list = children.get(state.parent) ?? [];
    list.push(state);
    children.set(state.parent, list);
  }
  const lines = ['stateDiagram-v2', `  direction ${options.direction ?? 'TB'}`];
  const root = graph.states[0]!;
  // States, nested as the machine nests them. An explicit stack keeps this iterative.
  const declare = (parent: DiagramState, depth: number): void => {
    const stack: { state: DiagramState; depth: number; close: boolean }[] = [];
    for (const child of [...(children.get(parent.id) ?? [])].reverse()) stack.push({ state: child, depth, close: false });
    while (stack.length > 0) {
      const { state, depth: d, close } = stack.pop()!;
      const pad = '  '.repeat(d);
      if (close) {
        lines.push(`${pad}}`);
        continue;
      }
      const id = mermaidId(state);
      const kids = children.get(state.id) ?? [];
      if (kids.length === 0) {
        lines.push(`${pad}state "${label(state.key)}" as ${id}`);
        if (state.invokes.length > 0) lines.push(`${pad}${id} : invokes ${state.invokes.join(', ')}`);
        if (state.entry.length > 0) lines.push(`${pad}${id} : entry ${label(state.entry.join(', '))}`);
        continue;
      }
      lines.push(`${pad}state "${label(state.key)}" as ${id} {`);
      const initial = state.initial === null ? undefined : byId.get(state.initial);
      if (initial !== undefined) lines.push(`${pad}  [*] --> ${mermaidId(initial)}`);
      stack.push({ state, depth: d, close: true });
      for (const kid of [...kids].reverse()) stack.push({ state: kid, depth: d + 1, close: false });
    }
  };
  const initial = root.initial === null ? undefined : byId.get(root.initial);
  if (initial !== undefined) lines.push(`  [*] --> ${mermaidId(initial)}`);
  if (graph.transitions.some((t) => t.source === root.id)) lines.push(`  state "(any state)" as ${mermaidId(root)}`);
  declare(root, 1);
  for (const transition of graph.transitions) {
    const source = byId.get(transition.source)!;
    const text = label(transitionLabel(transition, { actions: options.actions ?? true }));
    if (transition.targets.length === 0) {
      lines.push(`  ${mermaidId(source)} --> ${mermaidId(source)} : ${text} (stays)`);
      continue;
    }
    for (const target of transition.targets) lines.push(`  ${mermaidId(source)} --> ${mermaidId(byId.get(target)!)} : ${text}`);
  }
  for (const state of graph.states) if (state.kind === 'final') lines.push(`  ${mermaidId(state)} --> [*]`);
  return `${lines.join('\n')}\n`;
}

/** The machine as Mermaid source (`stateDiagram-v2`). */
export function toMermaid(machine: AnyStateMachine, options: MermaidOptions = {}): string {
  return graphToMermaid(machineGraph(machine), options);
}
