import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagramCommand } from '../../src/cli/commands/diagram.js';
import { UsageError } from '../../src/cli/io.js';
import { toDot, toMermaid } from '../../src/diagram/index.js';
import { streamMachine } from '../../machines/stream.machine.js';
import { continuationMachine } from '../../machines/continuation.machine.js';
import { captureIO } from './helpers.js';

describe('turnstate diagram', () => {
  it('prints Mermaid by default and DOT / JSON when asked', async () => {
    let io = captureIO();
    expect(await diagramCommand.run(['stream'], io)).toBe(0);
    expect(io.out()).toBe(toMermaid(streamMachine));
    io = captureIO();
    expect(await diagramCommand.run(['continuation', '--format', 'dot', '--no-actions'], io)).toBe(0);
    expect(io.out()).toBe(toDot(continuationMachine, { actions: false }));
    io = captureIO();
    expect(await diagramCommand.run(['continuation', '--format', 'json'], io)).toBe(0);
    const graph = JSON.parse(io.out()) as { id: string; states: unknown[]; transitions: unknown[] };
    expect(graph.id).toBe('continuation');
    expect(graph.transitions.length).toBeGreaterThan(30);
  });

  it('writes an SVG with --out', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'turnstate-diagram-')), 'stream.svg');
    const io = captureIO();
    expect(await diagramCommand.run(['stream', '--format', 'svg', '--out', out], io)).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('awaitingMessageStart');
  });

  it('usage errors name what is wrong; a file that cannot be written is one line and exit 1', async () => {
    await expect(diagramCommand.run([], captureIO())).rejects.toThrow(UsageError);
    await expect(diagramCommand.run(['nope'], captureIO())).rejects.toThrow(/stream or continuation/);
    await expect(diagramCommand.run(['stream', '--format', 'png'], captureIO())).rejects.toThrow(/mermaid, dot, svg, json/);
    const io = captureIO();
    expect(await diagramCommand.run(['stream', '--out', join(tmpdir(), 'no-such-dir-turnstate', 'x.mmd')], io)).toBe(1);
    expect(io.err()).toMatch(/^turnstate: diagram: cannot write .* \(ENOENT\)\n$/);
  });
});
