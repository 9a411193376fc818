import { describe, expect, it } from 'vitest';
import { createRunTraceRecorder, renderTraceHtml } from '../../src/trace/index.js';
import { echoTool, runScripted, text, toolUse } from '../controller/helpers.js';

describe('createRunTraceRecorder', () => {
  it('puts the continuation machine’s steps and the controller’s events on one timeline', async () => {
    const recorder = createRunTraceRecorder({ title: 'run' });
    const { result } = await runScripted([toolUse([{ id: 'toolu_1', name: 'echo', input: { q: 1 } }]), text('done')], {
      tools: [echoTool()],
      inspect: recorder.inspect,
      onEvent: recorder.onEvent,
    });
    const trace = recorder.finish(result);
    expect(trace.verdict).toBe('completed');
    const machineSteps = trace.steps.filter((s) => s.machine === 'continuation');
    // A chain of states from the first to the final one, each step naming its transitions.
    for (let k = 1; k < machineSteps.length; k++) expect(machineSteps[k]!.before).toBe(machineSteps[k - 1]!.after);
    expect(machineSteps.at(-1)!.after).toBe('completed');
    const visited = new Set(machineSteps.map((s) => s.after));
    for (const state of ['preparingRequest', 'requesting.checkpointing', 'requesting.streaming', 'routingStopReason', 'checkingToolCalls', 'runningTools', 'completed']) {
      expect(visited).toContain(state);
    }
    const graph = trace.machines['continuation']!;
    const routed = machineSteps.find((s) => s.before === 'routingStopReason' && s.after === 'checkingToolCalls')!;
    expect(routed.type).toBe('always');
    expect(graph.transitions[routed.transitions[0]!]!.guard).toBe('stoppedOnToolUse');
    const notes = trace.steps.filter((s) => s.machine === 'controller').map((s) => s.type);
    expect(notes).toEqual(expect.arrayContaining(['run_start', 'segment_start', 'segment_end', 'tool_start', 'tool_end', 'continuation', 'checkpoint', 'run_end']));
    expect(notes.indexOf('tool_start')).toBeLessThan(notes.indexOf('tool_end'));
    expect(trace.toolCalls).toHaveLength(1);
    expect(trace.segments).toHaveLength(2);
    const html = await renderTraceHtml(trace);
    expect(html).toContain('machine: continuation');
  });
});
