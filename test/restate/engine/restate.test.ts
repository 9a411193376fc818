/**
 * turnstate/restate on the real engine: restate-server from node_modules, a
 * worker process serving the virtual object, runs driven through the ingress
 * against the fake Messages API. The worker is SIGKILLed at several points of
 * a run whose model asks for three parallel side-effecting tools, and a new
 * worker takes over: the final transcript equals an uninterrupted run's, and
 * each tool's side effect happens exactly once — except the tool cut off
 * mid-execution, which follows the in-doubt policy.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi, type FakeReply, type FakeRequest } from '../../../src/testing/index.js';
import type { TurnReply } from '../../../src/restate/index.js';
import { freePort, http, restateServerBinary, startRestateServer, startWorker, waitFor, type RestateServer, type Worker } from './harness.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const binary = restateServerBinary();
if (binary === null) console.log('restate-server binary not found (npm ci installs @restatedev/restate-server): skipping the Restate tests');

const lines = async (file: string): Promise<string[]> => (existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(Boolean) : []);

/** What the fake model does, by the conversation so far (so a re-issued request gets the same answer). */
function conversationScript(hooks: { onRequest?: (request: FakeRequest, nth: number) => FakeReply | undefined } = {}) {
  const seen = new Map<number, number>();
  return (request: FakeRequest): FakeReply => {
    const length = (request.body.messages as unknown[]).length;
    const nth = (seen.get(length) ?? 0) + 1;
    seen.set(length, nth);
    const hooked = hooks.onRequest?.(request, nth);
    if (hooked !== undefined) return hooked;
    const last = JSON.stringify(request.body.messages.at(-1));
    if (length % 2 === 1 && last.includes('tool_result')) {
      return sseFromMessage({ content: [{ type: 'text', text: `all three written (turn of ${length} messages)` }], stopReason: 'end_turn' });
    }
    // The first answer to each user message is cut mid-stream once (retried after a ctx.sleep), then three parallel tool calls.
    const tag = `t${length}`;
    const reply = sseFromMessage({
      content: [
        { type: 'text', text: 'writing' },
        { type: 'tool_use', id: `toolu_a_${tag}`, name: 'write_a', input: { tag } },
        { type: 'tool_use', id: `toolu_b_${tag}`, name: 'write_b', input: { tag } },
        { type: 'tool_use', id: `toolu_c_${tag}`, name: 'write_c', input: { tag } },
      ],
      stopReason: 'tool_use',
    });
    return nth === 1 ? { body: reply, dropAfterBytes: 120 } : reply;
  };
}

describe.skipIf(binary === null)('turnstate/restate on restate-server', () => {
  let server: RestateServer;
  let dir: string;
  const workers: Worker[] = [];
  const apis: FakeMessagesApi[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'turnstate-restate-test-'));
    server = await startRestateServer(binary!);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await Promise.all(apis.map((a) => a.close()));
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  /** A scenario: its own effects file, fake API and worker port; one worker registered. */
  async function scenario(name: string, script: (request: FakeRequest) => FakeReply | Promise<FakeReply>) {
    const effects = join(dir, `${name}.effects`);
    const api = await startFakeMessagesApi({ replies: script });
    apis.push(api);
    const port = await freePort();
    const env = { EFFECTS_FILE: effects, FAKE_API_URL: api.url };
    const spawnWorker = async (): Promise<Worker> => {
      const worker = await startWorker(WORKER, port, env);
      workers.push(worker);
      workersOfScenario?.push(worker);
      return worker;
    };
    let workersOfScenario: Worker[] | undefined;
    const first = await spawnWorker();
    await server.register(port);
    workersOfScenario = [first];
    /** Says where a slow call stands (the invocation's status, the workers' output) instead of timing out mutely. */
    const diagnosed = <T>(key: string, call: Promise<T>): Promise<T> => {
      const timer = setTimeout(async () => {
        const rows = await server.query(`select id, status, retry_count, last_failure from sys_invocation where target_service_key = '${key}'`).catch((e: Error) => e.message);
        console.log(`[${name}] still waiting on '${key}': ${JSON.stringify(rows)}\n${workersOfScenario.map((w) => w.output().slice(-3000)).join('\n---\n')}`);
      }, 60_000);
      return call.finally(() => clearTimeout(timer));
    };
    const send = (key: string, message: string): Promise<{ status: number; body: TurnReply; text: string }> =>
      diagnosed(key, http(`${server.ingress}/conversation/${key}/send`, { body: { message }, timeoutMs: 120_000 }));
    const decide = (key: string, decisions: Record<string, unknown>) => http(`${server.ingress}/conversation/${key}/decide`, { body: { decisions }, timeoutMs: 120_000 });
    const history = (key: string) => http(`${server.ingress}/conversation/${key}/history`, { body: {}, timeoutMs: 30_000 });
    return { effects, api, first, spawnWorker, send, decide, history };
  }

  let reference: TurnReply;

  it('runs a turn: a cut stream retried after a durable sleep, three parallel tools, each side effect once', async () => {
    const s = await scenario('reference', conversationScript());
    const reply = await s.send('ref', 'write all three');
    expect(reply.status, reply.text).toBe(200);
    reference = reply.body;
    expect(reference.status).toBe('completed');
    expect(reference.retries).toBe(1);
    expect(reference.text).toBe('all three written (turn of 3 messages)');
    expect((await lines(s.effects)).sort()).toEqual(['write_a t1', 'write_b t1', 'write_c t1']);
    expect(s.api.requests).toHaveLength(3);
    const stored = await s.history('ref');
    expect(stored.body.messages).toEqual(reference.messages);
    expect(stored.body.pending).toBeNull();
  }, 120_000);

  it('SIGKILL during the retried model request: a new worker finishes the same run, tools once', async () => {
    let worker!: Worker;
    let killed!: Promise<void>;
    const s = await scenario(
      'kill-request',
      conversationScript({
        onRequest: (request, nth) => {
          if (request.body.messages.length === 1 && nth === 2) {
            killed = worker.kill();
            return { body: '', hang: true };
          }
          return undefined;
        },
      }),
    );
    worker = s.first;
    const pending = s.send('k1', 'write all three');
    await waitFor('the kill', () => (killed === undefined ? undefined : killed.then(() => true)), 60_000);
    await s.spawnWorker();
    const reply = await pending;
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.status).toBe('completed');
    expect(reply.body.messages).toEqual(reference.messages);
    expect((await lines(s.effects)).sort()).toEqual(['write_a t1', 'write_b t1', 'write_c t1']);
  }, 120_000);

  it('SIGKILL after the tool batch is journaled (during the last request): no tool runs again', async () => {
    let worker!: Worker;
    let killed!: Promise<void>;
    const s = await scenario(
      'kill-after-tools',
      conversationScript({
        onRequest: (request, nth) => {
          if (request.body.messages.length === 3 && nth === 1) {
            killed = worker.kill();
            return { body: '', hang: true };
          }
          return undefined;
        },
      }),
    );
    worker = s.first;
    const pending = s.send('k2', 'write all three');
    await waitFor('the kill', () => (killed === undefined ? undefined : killed.then(() => true)), 60_000);
    await s.spawnWorker();
    const reply = await pending;
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.messages).toEqual(reference.messages);
    expect((await lines(s.effects)).sort()).toEqual(['write_a t1', 'write_b t1', 'write_c t1']);
  }, 120_000);

  /** Names of the `ctx.run` steps of `key`'s invocations whose results are in Restate's journal (a Run command and its completion notification). */
  async function completedSteps(key: string): Promise<Set<string>> {
    const rows = await server.query(`select name, entry_lite_json from sys_journal where id in (select id from sys_invocation where target_service_key = '${key}')`);
    const byCompletion = new Map<number, string>();
    const completed = new Set<number>();
    for (const row of rows) {
      const entry = JSON.parse(row.entry_lite_json);
      if (entry.Command?.Run) byCompletion.set(entry.Command.Run.completion_id, row.name);
      if (entry.Notification?.ty?.Completion === 'Run') completed.add(entry.Notification.id.CompletionId);
    }
    return new Set([...completed].map((id) => byCompletion.get(id)!).filter(Boolean));
  }

  /** Kills the worker while `tool` holds, once the two other calls' results are in Restate's journal. */
  async function killMidTool(name: string, key: string, tool: string) {
    const s = await scenario(name, conversationScript());
    await writeFile(`${s.effects}.hold-${tool}`, '');
    const pending = s.send(key, 'write all three');
    await waitFor(`${tool} to hold`, async () => ((await lines(`${s.effects}.progress`)).includes(`holding ${tool}`) ? true : undefined), 60_000);
    const others = ['write_a', 'write_b', 'write_c'].filter((t) => t !== tool).map((t) => `tool toolu_${t.slice(-1)}_t1`);
    await waitFor(
      'the other tool results to be journaled',
      async () => {
        const done = await completedSteps(key);
        return others.every((n) => done.has(n)) ? true : undefined;
      },
      60_000,
    );
    await s.first.kill();
    await unlink(`${s.effects}.hold-${tool}`);
    await s.spawnWorker();
    return { s, reply: await pending };
  }

  it('SIGKILL mid-execution of a retry-safe tool: it runs again, the others do not', async () => {
    const { s, reply } = await killMidTool('kill-mid-safe', 'k3', 'write_c');
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.status).toBe('completed');
    expect(reply.body.messages).toEqual(reference.messages);
    expect((await lines(s.effects)).sort()).toEqual(['write_a t1', 'write_b t1', 'write_c t1', 'write_c t1']);
    expect(reply.body.toolCalls.find((c) => c.name === 'write_c')!.attempts).toBe(1);
  }, 120_000);

  it('SIGKILL mid-execution of a tool that is not retry-safe: the run stops for a decision; decide finishes it, nothing re-runs', async () => {
    const { s, reply } = await killMidTool('kill-mid-unsafe', 'k4', 'write_b');
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.status).toBe('failed');
    expect(reply.body.error?.code).toBe('tool_needs_decision');
    expect(reply.body.inDoubt.map((c) => c.id)).toEqual(['toolu_b_t1']);
    expect(reply.body.toolCalls.map((c) => [c.name, c.status])).toEqual([
      ['write_a', 'done'],
      ['write_b', 'started'],
      ['write_c', 'done'],
    ]);
    const waiting = await s.history('k4');
    expect(waiting.body.pending.inDoubt.map((c: { id: string }) => c.id)).toEqual(['toolu_b_t1']);
    const refused = await s.send('k4', 'another message');
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/call decide \(or discard\) first/);

    // Checked by hand: the line is in the file. Record the result the tool would have given.
    const decided = await s.decide('k4', { toolu_b_t1: { content: 'write_b wrote t1', is_error: false } });
    expect(decided.status, decided.text).toBe(200);
    expect(decided.body.status).toBe('completed');
    expect(decided.body.messages).toEqual(reference.messages);
    expect((await lines(s.effects)).sort()).toEqual(['write_a t1', 'write_b t1', 'write_c t1']);
    expect((await s.history('k4')).body.pending).toBeNull();
  }, 180_000);

  it('a turn that fails for good leaves the history as it was; the next message starts from it', async () => {
    const script = conversationScript();
    const s = await scenario('final-failure', (request) =>
      JSON.stringify(request.body.messages[0]).includes('break')
        ? sseFromMessage({ content: [{ type: 'text', text: '?' }], stopReason: 'a_reason_nobody_knows' })
        : script(request),
    );
    const failed = await s.send('ff', 'break please');
    expect(failed.status, failed.text).toBe(200);
    expect(failed.body.status).toBe('failed');
    expect(failed.body.error?.code).toBe('unknown_stop_reason');
    expect((await s.history('ff')).body).toEqual({ messages: [], pending: null });
    const next = await s.send('ff', 'write all three');
    expect(next.body.status).toBe('completed');
    expect(next.body.messages).toEqual(reference.messages);
  }, 120_000);

  it('two concurrent messages for one conversation run one after the other; the second sees the first in its history', async () => {
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let holding = false;
    const script = conversationScript();
    const s = await scenario('serial', async (request) => {
      if (request.body.messages.length === 3 && !holding) {
        holding = true;
        await firstHeld; // the first turn's last request stays open while the second message arrives
      }
      return script(request);
    });
    const first = s.send('serial', 'write all three');
    await waitFor('the first turn to reach its last request', () => (holding ? true : undefined), 60_000);
    const second = s.send('serial', 'and again');
    // While the first holds its lease on the conversation, the second has not reached the model.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const lengthsBefore = s.api.requests.map((r) => r.body.messages.length);
    expect(lengthsBefore.every((n: number) => n <= 3)).toBe(true);
    releaseFirst();
    const [a, b] = await Promise.all([first, second]);
    expect(a.body.status).toBe('completed');
    expect(b.body.status).toBe('completed');
    const lengths = s.api.requests.map((r) => r.body.messages.length);
    // The second turn's requests carry the whole first turn (3 messages + its answer) and come after all of the first's.
    const firstOfSecond = lengths.findIndex((n: number) => n >= 5);
    expect(lengths.slice(firstOfSecond).every((n: number) => n >= 5)).toBe(true);
    expect(b.body.messages.slice(0, 4)).toEqual(a.body.messages);
    expect((await s.history('serial')).body.messages).toEqual(b.body.messages);
  }, 180_000);
});
