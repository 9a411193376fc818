/**
 * SVG rendered offline: Graphviz compiled to WebAssembly (@viz-js/viz, the
 * wasm inlined in the package — no network, no native binary). Loaded only
 * when an SVG is asked for, so nothing else pays its ~5 MB.
 */
import type { AnyStateMachine } from 'xstate';
import { toDot, type DotOptions } from './dot.js';

let viz: Promise<{ renderString(dot: string, options: { format: 'svg' }): string }> | null = null;

/** Renders DOT source to an SVG document. */
export async function dotToSvg(dot: string): Promise<string> {
  viz ??= import('@viz-js/viz').then((module) => module.instance());
  return (await viz).renderString(dot, { format: 'svg' });
}

/** The machine as an SVG document (its DOT rendered by Graphviz). */
export async function toSvg(machine: AnyStateMachine, options: DotOptions = {}): Promise<string> {
  return dotToSvg(toDot(machine, options));
}
