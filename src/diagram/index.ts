/**
 * Diagrams of turnstate's machines (or any XState v5 machine), generated from
 * the definitions themselves: `turnstate diagram`, and these functions.
 */
export { machineGraph, transitionIndexer, guardLabel, actionLabel, triggerLabel, transitionLabel } from './graph.js';
export type { MachineGraph, DiagramState, DiagramTransition, Trigger, StateKind } from './graph.js';
export { toMermaid, graphToMermaid, type MermaidOptions } from './mermaid.js';
export { toDot, graphToDot, type DotOptions } from './dot.js';
export { toSvg, dotToSvg } from './svg.js';
export { MACHINES, type MachineName } from './machines.js';
