/**
 * A test's view of the chat server's event stream: a real HTTP request,
 * framed by eventsource-parser (the same parser a browser-grade client
 * would use), every frame kept with its id.
 */
import { createParser } from 'eventsource-parser';

export interface Frame {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: any;
}

export class EventStream {
  readonly frames: Frame[] = [];
  readonly #controller = new AbortController();
  readonly #waiters: { test: (f: Frame[]) => boolean; resolve: () => void }[] = [];
  readonly done: Promise<void>;
  closed = false;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.done = this.#read(url, headers).finally(() => {
      this.closed = true;
      this.#check();
    });
    this.done.catch(() => {});
  }

  async #read(url: string, headers: Record<string, string>): Promise<void> {
    const response = await fetch(url, { headers, signal: this.#controller.signal });
    if (response.status !== 200) throw new Error(`events: HTTP ${response.status}`);
    const parser = createParser({
      onEvent: (message) => {
        this.frames.push({ id: message.id, event: message.event ?? 'message', data: JSON.parse(message.data) });
        this.#check();
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (error) {
      if (!this.#controller.signal.aborted) throw error;
    }
  }

  #check(): void {
    for (const waiter of [...this.#waiters]) {
      if (this.closed || waiter.test(this.frames)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Resolves once `test` holds for the frames so far (or the stream closed: the caller's assertions then say what was missing). */
  until(test: (frames: Frame[]) => boolean, timeoutMs = 20_000): Promise<Frame[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; frames so far: ${this.frames.map((f) => f.event).join(' ')}`)), timeoutMs);
      const waiter = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.frames);
        },
      };
      this.#waiters.push(waiter);
      this.#check();
    });
  }

  close(): void {
    this.#controller.abort();
  }
}

export const turnEnded = (frames: Frame[]): boolean => frames.some((f) => f.event === 'turn_end');

/** What the text deltas add up to, by turn. */
export function textOf(frames: readonly Frame[]): string {
  return frames.filter((f) => f.event === 'text').map((f) => f.data.delta as string).join('');
}

export async function post(url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json().catch(() => null) };
}
