import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationStore, newConversationId, type StoredConversation } from '../../../examples/chat/store.js';

const conversation = (text: string): StoredConversation => ({ format: 'turnstate.chat', version: 1, id: newConversationId(), messages: [{ role: 'user', content: text }], turns: [] });

describe('the conversation store', () => {
  it('makes its directory when a save finds it missing — at first, and again after it was removed — and leaves no temp file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'turnstate-chat-store-'));
    const dir = join(root, 'a', 'conversations');
    const store = new ConversationStore(dir);
    const first = conversation('one');
    await store.save(first);
    rmSync(join(root, 'a'), { recursive: true });
    const second = conversation('two');
    await store.save(second);
    expect(readdirSync(dir)).toEqual([`${second.id}.json`]);
    expect(await store.loadAll(() => {})).toEqual([second]);
  });

  it('a save that fails for another reason than a missing directory fails, saying why', async () => {
    const root = mkdtempSync(join(tmpdir(), 'turnstate-chat-store-'));
    // The "directory" is a file: ENOTDIR, not ENOENT, so no retry hides it.
    writeFileSync(join(root, 'file'), '');
    await expect(new ConversationStore(join(root, 'file')).save(conversation('y'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
