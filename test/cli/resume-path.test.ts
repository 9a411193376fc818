import { readFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../../src/controller/index.js';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { spawnCli, STACK } from './spawn.js';

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

const done = sseFromMessage({ content: [{ type: 'text', text: 'All done.' }], stopReason: 'end_turn' });
const calls = (...specs: [id: string, name: string][]) =>
  sseFromMessage({ content: specs.map(([id, name]) => ({ type: 'tool_use', id, name, input: { id } })), stopReason: 'tool_use' });

/** Tools: `slow` waits SLOW_MS (or until aborted) and logs each run to RAN_LOG; `boom` throws. */
async function workspace() {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-resume-path-'));
  const tools = join(dir, 'tools.mjs');
  const ran = join(dir, 'ran.log');
  await writeFile(
    tools,
    `import { appendFileSync } from 'node:fs';
const wait = (ms, signal) => new Promise((resolve, reject) => { const t = setTimeout(resolve, ms); signal.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')); }); });
export default [
  { name: 'slow', input_schema: { type: 'object' }, run: async ({ id }, ctx) => { await wait(Number(process.env.SLOW_MS ?? 1), ctx.signal); appendFileSync(${JSON.stringify(ran)}, id + '\\n'); return 'ran ' + id; } },
  { name: 'boom', input_schema: { type: 'object' }, run: () => { throw new Error('disk on fire'); } },
];
`,
  );
  return { dir, tools, ran, checkpoint: join(dir, 'run.json') };
}

const ranLog = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

describe('the resume path, as a user meets it (the real CLI, spawned)', () => {
  it('Ctrl-C on run prints the checkpoint and the exact resume command and exits 130; every call in doubt is named at once, in CLI syntax; --rerun and --result decide them', async () => {
    api = await startFakeMessagesApi({ replies: (request) => (request.body.messages.length === 1 ? calls(['toolu_A', 'slow'], ['toolu_B', 'slow']) : done) });
    const w = await workspace();
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    let sent = false;
    const run = await spawnCli(['run', '--tools', w.tools, '--checkpoint', w.checkpoint, 'go'], {
      env: { ...env, SLOW_MS: '60000' },
      cwd: w.dir,
      onStdout: (stdout, child) => {
        if (!sent && (stdout.match(/⚙ slow/g) ?? []).length === 2) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(run.code).toBe(130);
    expect(run.stderr).not.toMatch(STACK);
    const resumeLine = `turnstate resume ${w.checkpoint} --tools ${w.tools}`;
    expect(run.stdout).toContain(`  checkpoint: ${w.checkpoint}\n`);
    expect(run.stdout).toContain(`  resume with: ${resumeLine}\n`);
    expect(run.stderr).toBe(`turnstate: interrupted; checkpoint: ${w.checkpoint}\nturnstate: resume with: ${resumeLine}\n`);
    expect(await ranLog(w.ran)).toEqual([]);

    // the exact command printed: both calls are in doubt, named in one go, with CLI flags (not `decisions: {…}`)
    const undecided = await spawnCli(resumeLine.split(' ').slice(1), { env, cwd: w.dir });
    expect(undecided.code).toBe(1);
    expect(undecided.stdout).toContain('these 2 tool calls are in doubt');
    expect(undecided.stdout).toMatch(/toolu_A\s+slow \{"id":"toolu_A"\}\n\s+toolu_B\s+slow \{"id":"toolu_B"\}/);
    expect(undecided.stdout).toContain(`${resumeLine} --rerun toolu_A --rerun toolu_B\n`);
    expect(undecided.stdout).toContain(`${resumeLine} --result 'toolu_A={"content":"…"}'\n`);
    expect(undecided.stdout).toContain(`${resumeLine} --result-file toolu_A=FILE\n`);
    expect(undecided.stdout).not.toContain('decisions:');
    const json = await spawnCli(['resume', w.checkpoint, '--tools', w.tools, '--json'], { env, cwd: w.dir });
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'tool_needs_decision', toolCalls: [{ id: 'toolu_A' }, { id: 'toolu_B' }] });
    expect(json.stderr).toBe(`turnstate: resume with: ${resumeLine}\n`);
    expect(api.requests).toHaveLength(1);

    // an id that is not in doubt is a usage error naming the valid ones, before any work
    const nope = await spawnCli(['resume', w.checkpoint, '--tools', w.tools, '--rerun', 'toolu_NOPE'], { env, cwd: w.dir });
    expect(nope.code).toBe(2);
    expect(nope.stdout).toBe('');
    expect(nope.stderr).toBe('turnstate: resume: --rerun toolu_NOPE: not a tool call in doubt (in doubt: toolu_A, toolu_B)\n');
    const bad = await spawnCli(['resume', w.checkpoint, '--tools', w.tools, '--result', 'toolu_A={"text":1}'], { env, cwd: w.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--result toolu_A: unknown key "text"; allowed: content, is_error/);

    // decide: re-run A, give B a result from a file
    const file = join(w.dir, 'b.json');
    await writeFile(file, JSON.stringify({ content: 'checked by hand: B happened', is_error: false }));
    const decided = await spawnCli(['resume', w.checkpoint, '--tools', w.tools, '--rerun', 'toolu_A', '--result-file', `toolu_B=${file}`, '--json'], { env, cwd: w.dir });
    expect(decided.stderr).toBe('');
    expect(decided.code).toBe(0);
    expect(JSON.parse(decided.stdout)).toMatchObject({ status: 'completed', text: 'All done.' });
    expect(await ranLog(w.ran)).toEqual(['toolu_A']);
    expect(api.requests[1]!.body.messages[2].content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_A', content: 'ran toolu_A' },
      { type: 'tool_result', tool_use_id: 'toolu_B', content: 'checked by hand: B happened' },
    ]);
  });

  it('--result ID=JSON gives a result inline (a JSON string is the text)', async () => {
    api = await startFakeMessagesApi({ replies: (request) => (request.body.messages.length === 1 ? calls(['toolu_S', 'slow']) : done) });
    const w = await workspace();
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    const first = await spawnCli(['run', '--tools', w.tools, '--checkpoint', w.checkpoint, 'go'], {
      env: { ...env, SLOW_MS: '60000' },
      cwd: w.dir,
      onStdout: (stdout, child) => {
        if (stdout.includes('⚙ slow')) child.kill('SIGINT');
      },
    });
    expect(first.code).toBe(130);
    const decided = await spawnCli(['resume', w.checkpoint, '--tools', w.tools, '--result', 'toolu_S="done by hand"', '--json'], { env, cwd: w.dir });
    expect(decided.stderr).toBe('');
    expect(decided.code).toBe(0);
    expect(await ranLog(w.ran)).toEqual([]);
    expect(api.requests[1]!.body.messages[2].content).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_S', content: 'done by hand' }]);
    expect((await readCheckpointFile(w.checkpoint)).state.phase).toBe('done');
  });

  it('human mode: a failed tool shows its error, the deadline is an ISO time, --max-continuations 0 is a budget', async () => {
    api = await startFakeMessagesApi({ replies: (request) => (request.body.messages.length === 1 ? calls(['toolu_X', 'boom'], ['toolu_Y', 'slow']) : done) });
    const w = await workspace();
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    const out = await spawnCli(['run', '--tools', w.tools, '--checkpoint', w.checkpoint, '--deadline-ms', '2500', 'go'], { env: { ...env, SLOW_MS: '60000' }, cwd: w.dir });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/✗ boom failed in \d+ ms: Error: disk on fire\n/);
    expect(out.stdout).toMatch(/⛔ budget deadline exceeded \(deadline \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z, (\d+ ms|[\d.]+ s) ago\)/);
    expect(out.stdout).not.toMatch(/\d{13}/);
    expect(out.stdout).toContain(`resume with: turnstate resume ${w.checkpoint} --tools ${w.tools} --deadline-ms MS\n`);
    await api.close();

    api = await startFakeMessagesApi({ replies: [calls(['toolu_Z', 'slow']), done] });
    const zero = await spawnCli(['run', '--json', '--tools', w.tools, '--checkpoint', join(w.dir, 'zero.json'), '--max-continuations', '0', 'go'], { env: { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' }, cwd: w.dir });
    expect(zero.code).toBe(1);
    expect(JSON.parse(zero.stdout).error).toMatchObject({ code: 'budget_exceeded', budget: 'continuations', limit: 0 });
    expect(api.requests).toHaveLength(1);
  });
});
