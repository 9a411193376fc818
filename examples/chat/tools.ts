/**
 * The demo's client tool, with a real side effect: `save_note` appends one
 * line to `notes.jsonl`. It is deliberately not idempotent and not
 * `retrySafe` — the point of the demo is that the controller's journal, not
 * the tool, makes it run exactly once across a killed and restarted server.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RunnableTool } from 'turnstate/controller';

export function saveNoteTool(path: string): RunnableTool<{ note: string }> {
  // The folder is made by the first call, not by each: a file call fewer per turn (a thousand sessions, a thousand
  // mkdirs through the thread pool). A failed mkdir is not kept: the next call tries again.
  let folder: Promise<unknown> | null = null;
  const ensureFolder = (): Promise<unknown> =>
    (folder ??= mkdir(dirname(path), { recursive: true }).catch((error: unknown) => {
      folder = null;
      throw error;
    }));
  return {
    name: 'save_note',
    description: 'Saves a short note for the person (appends it to the notes file). Returns the note number.',
    input_schema: { type: 'object', properties: { note: { type: 'string', description: 'The note, one line' } }, required: ['note'] },
    parse: (input: unknown) => {
      const note = (input as { note?: unknown } | null)?.note;
      if (typeof note !== 'string' || note.length === 0) throw new Error('save_note needs {"note": non-empty string}');
      return { note };
    },
    async run({ note }, context) {
      await ensureFolder();
      const line = JSON.stringify({ at: new Date().toISOString(), toolUseId: context?.toolUse.id ?? null, note: note.replace(/\s+/g, ' ').slice(0, 500) });
      await appendFile(path, `${line}\n`).catch(async (error: NodeJS.ErrnoException) => {
        // The folder went away since (nothing was written: ENOENT is raised by the open): make it again, once.
        if (error.code !== 'ENOENT') throw error;
        folder = null;
        await ensureFolder();
        await appendFile(path, `${line}\n`);
      });
      return `saved note (tool call ${context?.toolUse.id ?? '?'})`;
    },
  };
}
