/**
 * The model the chat runs against when there is no ANTHROPIC_API_KEY: the
 * fake Messages API from `turnstate/testing`, answering with built-in
 * scripted turns, one per stop reason the page has to explain. Which turn
 * plays is the fake *model's* choice (it reads the prompt, as a model
 * would); the backend never looks at the text — it only follows
 * `stop_reason`.
 */
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { eventsToSse, fakeId, messageEvents, startFakeMessagesApi, type FakeMessagesApi, type FakeReply, type FakeRequest, type MessageSpec } from 'turnstate/testing';

export interface ScriptedPace {
  /** Pause before each SSE event, ms (default 40: 25 events/s, a real model's pace). */
  readonly eventDelayMs?: number;
  /** Characters per text delta (default 6). */
  readonly chunkSize?: number;
}

/** The scenarios, with a prompt that picks each (the page offers them as suggestions). */
export const SCENARIOS = [
  { name: 'tool_use', prompt: 'Please save a note: buy oat milk', stopReasons: ['tool_use', 'end_turn'] },
  { name: 'pause_turn', prompt: 'Search the web for the height of K2', stopReasons: ['pause_turn', 'end_turn'] },
  { name: 'max_tokens', prompt: 'Write a long essay about rivers', stopReasons: ['max_tokens'] },
  { name: 'refusal', prompt: 'Tell me how to make something dangerous', stopReasons: ['refusal'] },
  { name: 'end_turn', prompt: 'Hello! What can you do?', stopReasons: ['end_turn'] },
] as const;

type Scenario = (typeof SCENARIOS)[number]['name'];

function textOf(message: BetaMessageParam): string {
  if (typeof message.content === 'string') return message.content;
  return (message.content ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('');
}

function hasText(message: BetaMessageParam): boolean {
  return typeof message.content === 'string' || (message.content ?? []).some((b) => b.type === 'text');
}

/** Where the current turn stands: the prompt that opened it, and how many responses it has had. */
export function turnPosition(messages: readonly BetaMessageParam[]): { prompt: string; stage: number; lastToolResult: string | null } {
  let start = messages.length - 1;
  while (start > 0 && !(messages[start]!.role === 'user' && hasText(messages[start]!))) start -= 1;
  const rest = messages.slice(start + 1);
  const last = messages.at(-1);
  let lastToolResult: string | null = null;
  if (last?.role === 'user' && typeof last.content !== 'string') {
    for (const block of last.content) {
      if (block.type !== 'tool_result') continue;
      const content = block.content;
      lastToolResult = typeof content === 'string' ? content : (content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('');
    }
  }
  return { prompt: messages[start] ? textOf(messages[start]!) : '', stage: rest.filter((m) => m.role === 'assistant').length, lastToolResult };
}

/** The fake model's reading of a prompt. */
export function scenarioFor(prompt: string): Scenario {
  const p = prompt.toLowerCase();
  if (/\b(note|remember|save)\b/.test(p)) return 'tool_use';
  if (/\b(search|web|look up)\b/.test(p)) return 'pause_turn';
  if (/\b(long|essay|story)\b/.test(p)) return 'max_tokens';
  if (/\b(dangerous|weapon|refuse)\b/.test(p)) return 'refusal';
  return 'end_turn';
}

const RIVER =
  'Rivers are the long memory of a landscape. They carve valleys over millions of years, carry mountains grain by grain to the sea, ' +
  'and decide where cities stand. The Nile made Egypt possible; the Rhine carried Europe’s trade; the Mekong still feeds sixty million people. ' +
  'A river is never the same twice: its bed shifts, its banks wander, its floods bring both ruin and the silt that makes the next harvest. ';

/** The message one response of a scenario consists of. */
export function scriptedMessage(messages: readonly BetaMessageParam[]): MessageSpec {
  const { prompt, stage, lastToolResult } = turnPosition(messages);
  const usage = { input_tokens: 20 + JSON.stringify(messages).length / 4 | 0, output_tokens: 40 };
  switch (scenarioFor(prompt)) {
    case 'tool_use': {
      if (stage === 0) {
        const note = prompt.replace(/^.*\b(note|remember|save)\b[:\s]*/i, '').trim() || prompt;
        return {
          content: [
            { type: 'text', text: 'Sure — I’ll write that down with the save_note tool.' },
            { type: 'tool_use', id: fakeId('toolu'), name: 'save_note', input: { note } },
          ],
          stopReason: 'tool_use',
          usage,
        };
      }
      return {
        content: [{ type: 'text', text: `Done. The note tool answered: “${lastToolResult ?? '(nothing)'}”. Anything else you want me to remember? I keep every note in the notes file of this chat server, one line per note, so you can read them all later.` }],
        stopReason: 'end_turn',
        usage,
      };
    }
    case 'pause_turn': {
      if (stage === 0) {
        return {
          content: [
            { type: 'text', text: 'Let me search for that.' },
            { type: 'server_tool_use', id: fakeId('srvtoolu'), name: 'web_search', input: { query: prompt.replace(/^.*?search( the web)? for /i, '') } },
          ],
          stopReason: 'pause_turn',
          usage: { ...usage, server_tool_use: { web_search_requests: 1 } },
        };
      }
      const pending = [...messages].reverse().find((m) => m.role === 'assistant');
      const call = typeof pending?.content === 'string' ? undefined : pending?.content.find((b) => b.type === 'server_tool_use');
      return {
        content: [
          {
            type: 'whole',
            block: {
              type: 'web_search_tool_result',
              tool_use_id: call && 'id' in call ? call.id : fakeId('srvtoolu'),
              content: [
                { type: 'web_search_result', title: 'K2 - Wikipedia', url: 'https://en.wikipedia.org/wiki/K2', encrypted_content: 'ZmFrZQ==', page_age: '5 days ago' },
                { type: 'web_search_result', title: 'K2 | Britannica', url: 'https://www.britannica.com/place/K2', encrypted_content: 'ZmFrZQ==', page_age: '1 month ago' },
              ],
            },
          },
          { type: 'text', text: 'K2 is 8,611 metres (28,251 ft) high — the second-highest mountain on Earth, on the China–Pakistan border.' },
        ],
        stopReason: 'end_turn',
        usage,
      };
    }
    case 'max_tokens':
      return {
        content: [
          { type: 'text', text: RIVER.repeat(2) },
          { type: 'tool_use', id: fakeId('toolu'), name: 'save_note', input: { note: 'an essay about rivers, to be continued with many more paragraphs' } },
        ],
        stopReason: 'max_tokens',
        cutLastBlock: 0.5,
        usage: { ...usage, output_tokens: 256 },
      };
    case 'refusal':
      return {
        content: [{ type: 'text', text: 'I can’t help with that.' }],
        stopReason: 'refusal',
        stopDetails: { type: 'refusal', category: 'general_harms', explanation: 'The request could cause harm.' },
        usage,
      };
    case 'end_turn':
      return {
        content: [
          { type: 'thinking', thinking: 'The user greets me and asks what I can do. I should list the demo scenarios briefly.', signature: 'c2lnbmF0dXJl' },
          {
            type: 'text',
            text: 'Hello! I am the scripted model of the turnstate chat demo. Ask me to save a note (a tool call), to search the web (a server tool that pauses the turn), to write a long essay (cut off at max_tokens), or something dangerous (a refusal). Everything you see streams as the model writes it.',
          },
        ],
        stopReason: 'end_turn',
        usage,
      };
  }
}

/** One reply: the scripted message as SSE, one event per chunk, paced. */
export function scriptedReply(request: FakeRequest, pace: ScriptedPace = {}): FakeReply {
  const messages = (request.body?.messages ?? []) as BetaMessageParam[];
  const spec = { ...scriptedMessage(messages), chunkSize: pace.chunkSize ?? 6 };
  const chunks = messageEvents(spec).map((event) => eventsToSse([event]));
  return { chunks, delayMs: pace.eventDelayMs ?? 40 };
}

/** The fake Messages API on loopback with the built-in turns. */
export async function startScriptedApi(pace: ScriptedPace = {}): Promise<FakeMessagesApi> {
  let api: FakeMessagesApi | null = null;
  api = await startFakeMessagesApi({
    replies: (request) => {
      // The fake keeps every request for tests to inspect; a long-lived server must not.
      api?.requests.splice(0);
      return scriptedReply(request, pace);
    },
  });
  return api;
}
