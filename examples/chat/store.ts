/**
 * Conversations on disk: one JSON file per conversation, replaced whole
 * (temp file + rename, so a killed server leaves the old or the new one,
 * never half of either). The transcript of a turn in flight lives in its
 * run's journal (turnstate's), not here: this file says which run that is.
 */
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ending } from './log.js';
import { ChatError } from './errors.js';

export interface StoredTurn {
  readonly id: string;
  readonly runId: string;
  /** Index in `messages` of the person's message that opened the turn. */
  readonly start: number;
  /** null while the turn is in flight. */
  ending: Ending | null;
}

export interface StoredConversation {
  readonly format: 'turnstate.chat';
  readonly version: 1;
  readonly id: string;
  /** The transcript as sent with the last request (finished turns; the turn in flight's first message). */
  messages: BetaMessageParam[];
  turns: StoredTurn[];
}

const ID = /^c_[A-Za-z0-9_-]{16}$/;

export const newConversationId = (): string => `c_${randomBytes(12).toString('base64url')}`;
export const isConversationId = (id: string): boolean => ID.test(id);

export class ConversationStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  async save(conversation: StoredConversation): Promise<void> {
    const path = join(this.dir, `${conversation.id}.json`);
    const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const text = JSON.stringify(conversation);
    // The directory is made when a write finds it missing, not before every write: one file call fewer per save.
    await writeFile(temp, text).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await mkdir(this.dir, { recursive: true });
      await writeFile(temp, text);
    });
    await rename(temp, path);
  }

  /** Every conversation on disk; a file that is not one is skipped and reported. */
  async loadAll(onSkip: (file: string, error: ChatError) => void): Promise<StoredConversation[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: StoredConversation[] = [];
    for (const name of names.sort()) {
      if (!name.endsWith('.json')) continue;
      try {
        const value = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as StoredConversation;
        if (value?.format !== 'turnstate.chat' || value.version !== 1 || !isConversationId(value.id) || !Array.isArray(value.messages) || !Array.isArray(value.turns)) {
          throw new ChatError('bad_conversation_file', `${name} is not a turnstate.chat conversation (version 1)`);
        }
        out.push(value);
      } catch (error) {
        onSkip(name, error instanceof ChatError ? error : new ChatError('bad_conversation_file', `${name}: ${(error as Error).message}`, { cause: error }));
      }
    }
    return out;
  }
}
