/**
 * The processes of `npm run bench:chat`, each on its own so each is measured
 * on its own:
 *   node --import tsx bench/chat-child.ts fake DELAY_MS      the fake Messages API (built-in scripted turns)
 *   node --import tsx bench/chat-child.ts server FAKE_URL DIR  the chat backend, talking to that fake as "the API"
 * Each prints one JSON line `{ "url": … }` once it listens, and runs until killed.
 */
import { startScriptedApi } from '../examples/chat/scripted.js';
import { startChatServer } from '../examples/chat/server.js';

const [role, a, b] = process.argv.slice(2);
if (role === 'fake') {
  const api = await startScriptedApi({ eventDelayMs: Number(a ?? 50) });
  process.stdout.write(`${JSON.stringify({ url: api.url })}\n`);
} else if (role === 'server') {
  // The API mode pointed at the fake: the same code path as with a key, the fake in its own process.
  const server = await startChatServer({ dataDir: b!, apiKey: 'bench', baseURL: a!, onWarning: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
} else {
  throw new Error(`chat-child: unknown role ${role}`);
}
