/**
 * A support agent on Restate: one conversation per virtual-object key, each
 * model request and tool call a journaled step. Run several of these behind
 * one URL and register that URL once (see README.md beside this file).
 *
 *   PORT=9081 ANTHROPIC_API_KEY=… npx tsx examples/restate-agent/worker.ts
 */
import { appendFileSync } from 'node:fs';
import http2 from 'node:http2';
import * as restate from '@restatedev/restate-sdk';
import type { RunnableTool } from 'turnstate/controller';
import { turnObject } from 'turnstate/restate';

const orders = new Map([
  ['7', { item: 'kettle', paid: 39 }],
  ['8', { item: 'toaster', paid: 25 }],
]);

/** Reads only: safe to run again if a worker dies while it runs. */
const lookupOrder: RunnableTool<{ orderId: string }> = {
  name: 'lookup_order',
  description: 'Looks up an order by id.',
  input_schema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
  retrySafe: true,
  run: ({ orderId }) => JSON.stringify(orders.get(orderId) ?? { error: `no order ${orderId}` }),
};

/** Moves money: never run twice by accident. Cut off mid-way, it waits for a decision. */
const refundOrder: RunnableTool<{ orderId: string }> = {
  name: 'refund_order',
  description: 'Refunds an order in full.',
  input_schema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
  run: ({ orderId }) => {
    appendFileSync('refunds.log', `${new Date().toISOString()} refund ${orderId}\n`);
    return `refunded order ${orderId}`;
  },
};

const support = turnObject({
  name: 'support',
  params: { model: process.env.MODEL ?? 'claude-sonnet-4-6', max_tokens: 1024, system: 'You are a support agent. Look orders up before refunding them.' },
  tools: [lookupOrder, refundOrder],
  settings: { budgets: { maxToolCalls: 20 } },
  // The live side channel: here just the log. A chat backend would publish these to its clients
  // (best-effort: a retried invocation sends a run's step events again).
  onEvent: (event, conversation) => {
    if (event.type === 'tool_start' || event.type === 'tool_end' || event.type === 'run_end') console.log(conversation, event.type, 'name' in event ? event.name : '');
  },
});

const port = Number(process.env.PORT ?? 9080);
http2.createServer(restate.endpoint().bind(support).http2Handler()).listen(port, process.env.HOST ?? '127.0.0.1', () => console.log(`support worker on ${port}`));
