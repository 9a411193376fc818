import { afterEach, describe, expect, it, vi } from 'vitest';
import { machineGraph, toSvg } from '../../src/diagram/index.js';
import { continuationMachine } from '../../machines/continuation.machine.js';

describe('toSvg', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('renders offline: an SVG with every state name, with fetch unavailable', async () => {
    vi.stubGlobal('fetch', () => {
      throw new Error('no network');
    });
    const svg = await toSvg(continuationMachine);
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
    for (const state of machineGraph(continuationMachine).states.slice(1)) expect(svg).toContain(`>${state.key}`);
  });
});
