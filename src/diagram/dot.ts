/**
 * A machine as Graphviz DOT, generated from its definition: compound states
 * are clusters, final states double circles, the initial state of each level
 * is marked by a dot. Same conventions as the Mermaid output ("(any state)"
 * for root transitions, "(stays)" for targetless ones, "2/6" for XState's
 * order of candidates).
 *
 * Every node, cluster and edge carries an `id` (`s<state index>`,
 * `t<transition index>` — indices into {@link machineGraph}'s arrays), which
 * Graphviz keeps on the SVG elements, so a page can highlight what a trace
 * visited.
 *
 * Edges from or to a compound state attach to an invisible anchor inside its
 * cluster (`compound=true` with `ltail` / `lhead`), because DOT has no edges
 * between clusters.
 */
import type { AnyStateMachine } from 'xstate';
import { machineGraph, transitionLabel, type DiagramState, type MachineGraph } from './graph.js';

export interface DotOptions {
  /** Show actions on transitions (default true). */
  readonly actions?: boolean;
  /** Graphviz `rankdir` (default TB). */
  readonly rankdir?: 'TB' | 'LR';
}

/** A DOT string literal. */
const quote = (text: string): string => `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
const nodeId = (state: DiagramState): string => quote(state.id);
const anchorId = (state: DiagramState): string => quote(`${state.id}::anchor`);
const clusterId = (state: DiagramState): string => quote(`cluster_${state.id}`);

export function graphToDot(graph: MachineGraph, options: DotOptions = {}): string {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const children = new Map<string, DiagramState[]>();
  for (const state of graph.states) {
    if (state.parent === null) continue;
    const list = children.get(state.parent) ?? [];
    list.push(state);
    children.set(state.parent, list);
  }
  const isCluster = (state: DiagramState): boolean => (children.get(state.id) ?? []).length > 0;
  const stateIndex = new Map(graph.states.map((s, i) => [s.id, i]));
  const svgId = (state: DiagramState): string => quote(`s${stateIndex.get(state.id)}`);
  const root = graph.states[0]!;
  const lines = [
    `digraph ${quote(graph.id)} {`,
    `  graph [compound=true, rankdir=${options.rankdir ?? 'TB'}, fontname="Helvetica", fontsize=11, label=${quote(`machine: ${graph.id}`)}, labelloc=t];`,
    '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  const block = (parent: DiagramState, depth: number): void => {
    const pad = '  '.repeat(depth);
    if (parent.initial !== null) {
      const initial = byId.get(parent.initial)!;
      const start = quote(`${parent.id}::initial`);
      lines.push(`${pad}${start} [shape=point, width=0.12, label=""];`);
      lines.push(isCluster(initial) ? `${pad}${start} -> ${anchorId(initial)} [lhead=${clusterId(initial)}];` : `${pad}${start} -> ${nodeId(initial)};`);
    }
    for (const state of children.get(parent.id) ?? []) {
      if (!isCluster(state)) {
        const extra = [...state.invokes.map((s) => `invokes ${s}`), ...state.entry.map((a) => `entry ${a}`)];
        const text = extra.length === 0 ? state.key : `${state.key}\n${extra.join('\n')}`;
        const shape = state.kind === 'final' ? ', peripheries=2' : '';
        lines.push(`${pad}${nodeId(state)} [id=${svgId(state)}, label=${quote(text)}${shape}];`);
        continue;
      }
      lines.push(`${pad}subgraph ${clusterId(state)} {`);
      lines.push(`${pad}  id=${svgId(state)}; label=${quote(state.key)}; style="rounded"; color="#888888";`);
      lines.push(`${pad}  ${anchorId(state)} [shape=point, style=invis, width=0.01, label=""];`);
      block(state, depth + 1);
      lines.push(`${pad}}`);
    }
  };
  block(root, 1);
  if (graph.transitions.some((t) => t.source === root.id)) lines.push(`  ${nodeId(root)} [id=${svgId(root)}, label="(any state)", shape=plaintext];`);
  graph.transitions.forEach((transition, index) => {
    const source = byId.get(transition.source)!;
    const text = transitionLabel(transition, { actions: options.actions ?? true });
    const from = source !== root && isCluster(source) ? anchorId(source) : nodeId(source);
    const tail = source !== root && isCluster(source) ? `, ltail=${clusterId(source)}` : '';
    if (transition.targets.length === 0) {
      lines.push(`  ${from} -> ${from} [id="t${index}", label=${quote(`${text} (stays)`)}, style=dashed${tail}];`);
      return;
    }
    transition.targets.forEach((id, j) => {
      const target = byId.get(id)!;
      const to = isCluster(target) ? anchorId(target) : nodeId(target);
      const head = isCluster(target) ? `, lhead=${clusterId(target)}` : '';
      lines.push(`  ${from} -> ${to} [id="t${index}${j === 0 ? '' : `_${j}`}", label=${quote(text)}${tail}${head}];`);
    });
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The machine as Graphviz DOT. */
export function toDot(machine: AnyStateMachine, options: DotOptions = {}): string {
  return graphToDot(machineGraph(machine), options);
}
