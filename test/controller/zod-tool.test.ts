import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import { runTurn } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { text, toolUse } from './helpers.js';

describe('tools made with the SDK betaZodTool helper', () => {
  it('run as they are: input parsed by their schema, definition sent without run/parse', async () => {
    const seen: unknown[] = [];
    const add = betaZodTool({
      name: 'add',
      description: 'Adds two numbers',
      inputSchema: z.object({ a: z.number(), b: z.number() }),
      run: ({ a, b }) => {
        seen.push({ a, b });
        return String(a + b);
      },
    });
    const model = scriptedModel([toolUse([{ id: 'toolu_z1', name: 'add', input: { a: 2, b: 3 } }]), text('5.')]);
    const result = await runTurn({ params: { model: 'm', max_tokens: 50 }, messages: '2+3?', tools: [add], createStream: model.createStream, checkpoint: false });
    expect(result.status).toBe('completed');
    expect(seen).toEqual([{ a: 2, b: 3 }]);
    const definition = model.requests[0]!.tools![0] as unknown as Record<string, unknown>;
    expect(definition).toMatchObject({ name: 'add', description: 'Adds two numbers', input_schema: { type: 'object' } });
    expect(definition).not.toHaveProperty('run');
    expect(definition).not.toHaveProperty('parse');
    const results = model.requests[1]!.messages[2]!.content as { type: string; tool_use_id: string; content: string; is_error?: boolean }[];
    expect(results).toEqual([expect.objectContaining({ type: 'tool_result', tool_use_id: 'toolu_z1', content: '5' })]);
  });

  it('input its schema rejects becomes an is_error tool_result, not a crash', async () => {
    const add = betaZodTool({
      name: 'add',
      description: 'Adds two numbers',
      inputSchema: z.object({ a: z.number(), b: z.number() }),
      run: ({ a, b }) => String(a + b),
    });
    const model = scriptedModel([toolUse([{ id: 'toolu_z2', name: 'add', input: { a: 'two' } }]), text('Sorry.')]);
    const result = await runTurn({ params: { model: 'm', max_tokens: 50 }, messages: '2+?', tools: [add], createStream: model.createStream, checkpoint: false });
    expect(result.status).toBe('completed');
    const [answer] = model.requests[1]!.messages[2]!.content as { is_error?: boolean; tool_use_id: string }[];
    expect(answer).toMatchObject({ tool_use_id: 'toolu_z2', is_error: true });
  });
});
