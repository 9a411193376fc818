/**
 * Regenerates the demo recordings (run from the repo root):
 *   node --import tsx recordings/demo/generate.ts
 * The .sse files are committed; this script only documents how they were made.
 * Shape follows the real API (see shared/real-streams): padded data lines,
 * `{"type": "ping"}`, `caller` on tool_use, a resumed stream that opens with the
 * web_search_tool_result of the search its previous segment left pending.
 */
import { writeFileSync } from 'node:fs';
import { sseFromMessage } from '../../src/testing/sse.js';

const model = 'claude-sonnet-4-6';
const dir = new URL('./', import.meta.url);
const write = (name: string, body: string) => writeFileSync(new URL(name, dir), body);
const enc = (seed: string) => Buffer.from(`demo-encrypted-content:${seed}:`.repeat(6)).toString('base64');

write(
  '01-tool-use.sse',
  sseFromMessage({
    id: 'msg_01DemoW7mXq2VbKf9LpR4tYw',
    model,
    content: [
      {
        type: 'thinking',
        thinking: 'The user wants a rainy-day plan for Paris. First the weather, then what is on at the Louvre, then a short plan.',
        signature: Buffer.from('demo-signature-not-a-real-signature-'.repeat(4)).toString('base64'),
      },
      { type: 'text', text: "I'll start by checking the weather in Paris." },
      { type: 'tool_use', id: 'toolu_01DemoHq3NzT8cWv5YkJ2mRb', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
    ],
    stopReason: 'tool_use',
    usage: { input_tokens: 612, output_tokens: 118 },
    chunkSize: 9,
  }),
);

write(
  '02-pause-turn.sse',
  sseFromMessage({
    id: 'msg_01DemoPz5RkW2nQx8JvT3cLa',
    model,
    content: [
      { type: 'text', text: "It's 14°C with light rain in Paris — a good afternoon for a museum. Let me see what's on at the Louvre." },
      { type: 'server_tool_use', id: 'srvtoolu_01DemoA4kXw9PmT2bQz7', name: 'web_search', input: { query: 'Louvre exhibitions this week' } },
      {
        type: 'whole',
        block: {
          type: 'web_search_tool_result',
          tool_use_id: 'srvtoolu_01DemoA4kXw9PmT2bQz7',
          content: [
            { type: 'web_search_result', title: 'Exhibitions | Louvre Museum', url: 'https://www.louvre.fr/en/whats-on/exhibitions', encrypted_content: enc('a1'), page_age: null },
            { type: 'web_search_result', title: 'What to see at the Louvre this week', url: 'https://www.example.com/paris/louvre-this-week', encrypted_content: enc('a2'), page_age: '3 days ago' },
          ],
        },
      },
      { type: 'text', text: 'There are two temporary exhibitions on. Let me check the opening hours for today as well.' },
      { type: 'server_tool_use', id: 'srvtoolu_01DemoB8nYc3QwK5vRt1', name: 'web_search', input: { query: 'Louvre opening hours today' } },
    ],
    stopReason: 'pause_turn',
    usage: { input_tokens: 1490, output_tokens: 164, server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 } },
    chunkSize: 11,
  }),
);

write(
  '03-resumed-max-tokens.sse',
  sseFromMessage({
    id: 'msg_01DemoRm6TqV4xLw9KpB2nZc',
    model,
    content: [
      {
        type: 'whole',
        block: {
          type: 'web_search_tool_result',
          tool_use_id: 'srvtoolu_01DemoB8nYc3QwK5vRt1',
          content: [
            { type: 'web_search_result', title: 'Hours, admission & directions | Louvre Museum', url: 'https://www.louvre.fr/en/visit/hours-admission', encrypted_content: enc('b1'), page_age: null },
          ],
        },
      },
      {
        type: 'text',
        text:
          "Here's a plan for your rainy afternoon:\n\n" +
          '1. **1:00 pm — Lunch under the arcades of the Palais-Royal**, five minutes from the museum and dry all the way.\n' +
          '2. **2:30 pm — The Louvre** (open until 6 pm today; book a timed ticket online to skip the queue). Start with the ',
      },
    ],
    stopReason: 'max_tokens',
    usage: { input_tokens: 2877, output_tokens: 120, server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 } },
    chunkSize: 10,
  }),
);

write(
  '04-end-turn.sse',
  sseFromMessage({
    id: 'msg_01DemoEt2WcN7pQz4XkV9bHs',
    model,
    content: [
      {
        type: 'text',
        text:
          ' temporary exhibition in the Hall Napoléon, then walk through the Denon wing.\n' +
          '3. **5:00 pm — Hot chocolate at a café on the Rue de Rivoli** while the rain passes.\n\n' +
          'Take an umbrella for the short walks in between. Enjoy your afternoon!',
      },
    ],
    stopReason: 'end_turn',
    usage: { input_tokens: 3012, output_tokens: 71 },
    chunkSize: 10,
  }),
);
