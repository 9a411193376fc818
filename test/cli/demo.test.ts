import { describe, expect, it } from 'vitest';
import { cli } from '../controller/fixtures/cli.js';

describe('turnstate demo', () => {
  it('walks tool_use → pause_turn → max_tokens → end_turn through the real SDK client, printing the state trace; no key needed', async () => {
    const { code, stdout, stderr } = await cli(['demo', '--delay-ms', '0'], {});
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const stops = [...stdout.matchAll(/^ {2}stop {7}(\w+)/gm)].map((m) => m[1]);
    expect(stops).toEqual(['tool_use', 'pause_turn', 'max_tokens', 'end_turn']);
    for (const state of ['starting', 'preparingRequest', 'requesting.checkpointing', 'requesting.streaming', 'routingStopReason', 'checkingToolCalls', 'runningTools', 'completed']) {
      expect(stdout).toContain(`state      ${state}\n`);
    }
    expect(stdout).toMatch(/tool {7}get_weather\(\{"city":"Paris","unit":"celsius"\}\)/);
    expect(stdout).toMatch(/— completed \(end_turn\) · 4 segments · 1 tool call/);
    expect(stdout).toMatch(/4 requests over a real socket/);
  });

  it('--json prints the result', async () => {
    const { code, stdout } = await cli(['demo', '--json', '--delay-ms', '0'], {});
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.status).toBe('completed');
    expect(out.segments.map((s: { stopReason: string }) => s.stopReason)).toEqual(['tool_use', 'pause_turn', 'max_tokens', 'end_turn']);
    expect(out.messages).toHaveLength(4);
    expect(out.text).toMatch(/Enjoy your afternoon!$/);
  });
});
