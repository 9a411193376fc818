/**
 * Controller overhead per step on Restate vs the embedded journal, in one
 * run (`npm run bench:restate`). The same turn — a request answered with
 * three parallel tool calls (each appends a line to a file), then a request
 * answered with text: 5 steps — against the fake Messages API on loopback
 * (no model latency), run three ways, rounds interleaved:
 *
 * - `none`: in process, `checkpoint: false` (the controller alone);
 * - `file`: in process, the default FileCheckpointStore (append-only journal, fdatasync);
 * - `restate`: through restate-server's ingress into a worker process
 *   (turnstate/restate's virtual object, fresh conversation per turn).
 *
 * Overhead per step = (median turn time − `none`'s) / 5. Options: --turns N
 * (per mode per round, default 20), --rounds N (default 3).
 */
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { FileCheckpointStore, runTurn, type RunnableTool } from '../src/controller/index.js';
import { sseFromMessage, startFakeMessagesApi, type FakeRequest } from '../src/testing/index.js';
import { freePort, http, restateServerBinary, startRestateServer, startWorker } from '../test/restate/engine/harness.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(argv[at + 1] ?? fallback);
};
const TURNS = option('turns', 20);
const ROUNDS = option('rounds', 3);
const STEPS = 5;

const reply = (request: FakeRequest): string => {
  const last = JSON.stringify(request.body.messages.at(-1));
  if (last.includes('tool_result')) return sseFromMessage({ content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn' });
  return sseFromMessage({
    content: ['a', 'b', 'c'].map((x) => ({ type: 'tool_use' as const, id: `toolu_${x}_${request.index}`, name: `write_${x}`, input: { tag: 'bench' } })),
    stopReason: 'tool_use',
  });
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const binary = restateServerBinary();
  if (binary === null) {
    console.log('restate-server binary not found (npm ci installs @restatedev/restate-server): skipping bench:restate');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-bench-restate-'));
  const effects = join(dir, 'effects.log');
  const api = await startFakeMessagesApi({ replies: reply });
  const server = await startRestateServer(binary);
  const port = await freePort();
  const worker = await startWorker(fileURLToPath(new URL('../test/restate/engine/worker.ts', import.meta.url)), port, { EFFECTS_FILE: effects, FAKE_API_URL: api.url });
  try {
    await server.register(port);
    const client = new Anthropic({ apiKey: 'bench', baseURL: api.url, maxRetries: 0 });
    const tool = (name: string): RunnableTool<{ tag?: string }> => ({
      name,
      input_schema: { type: 'object' },
      run: (input) => (appendFileSync(effects, `${name} ${input.tag ?? ''}\n`), `${name} wrote`),
    });
    const tools = ['write_a', 'write_b', 'write_c'].map(tool);
    const params = { model: 'claude-test', max_tokens: 256 } as const;
    const store = new FileCheckpointStore({ dir: join(dir, 'runs') });
    let key = 0;
    const modes: Record<string, () => Promise<void>> = {
      none: async () => void (await runTurn({ params, messages: 'go', tools, client, checkpoint: false })),
      file: async () => void (await runTurn({ params, messages: 'go', tools, client, checkpoint: store })),
      restate: async () => {
        const response = await http(`${server.ingress}/conversation/bench-${key++}/send`, { body: { message: 'go' }, timeoutMs: 60_000 });
        if (response.status !== 200 || response.body.status !== 'completed') throw new Error(`restate turn failed: ${response.status} ${response.text.slice(0, 500)}`);
      },
    };
    const times: Record<string, number[]> = { none: [], file: [], restate: [] };
    for (const run of Object.values(modes)) for (let i = 0; i < 5; i++) await run(); // warm-up (JIT, connections, the first Restate partition work)
    for (let round = 0; round < ROUNDS; round++) {
      const order = Object.keys(modes);
      for (let r = 0; r < round; r++) order.push(order.shift()!);
      for (const mode of order) {
        for (let i = 0; i < TURNS; i++) {
          const start = performance.now();
          await modes[mode]!();
          times[mode]!.push(performance.now() - start);
        }
      }
    }
    const base = median(times.none!);
    console.log(`bench:restate — ${ROUNDS} rounds × ${TURNS} turns per mode, ${STEPS} steps per turn (2 model requests, 3 parallel tool calls), Node ${process.versions.node}`);
    console.log('mode      median turn   p90 turn   overhead/step vs none');
    for (const mode of Object.keys(times)) {
      const values = times[mode]!;
      const sorted = [...values].sort((a, b) => a - b);
      const p90 = sorted[Math.floor(sorted.length * 0.9)]!;
      const m = median(values);
      console.log(`${mode.padEnd(9)} ${m.toFixed(1).padStart(8)} ms ${p90.toFixed(1).padStart(8)} ms   ${mode === 'none' ? '—' : `${((m - base) / STEPS).toFixed(2)} ms`}`);
    }
  } finally {
    await worker.kill();
    await server.stop();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
