/**
 * Recording as a library: a `fetch` to give the SDK client
 * (`new Anthropic({ fetch: recordingFetch({ dir }) })`). The response body is
 * re-wrapped in a pull stream that hands each chunk to the client as it is
 * read — no tee(), whose second branch would buffer — and to the recorder.
 */
import { Recorder, type RecorderOptions } from './record.js';

export interface RecordingFetchOptions extends RecorderOptions {
  /** The fetch that really sends (default globalThis.fetch). */
  readonly fetch?: typeof fetch;
}

export type RecordingFetch = typeof fetch & {
  /** Resolves when every recording started so far is written. */
  flush(): Promise<void>;
};

function requestBody(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString('utf8');
  // A stream or form body cannot be read without consuming it; recorded as not JSON.
  return '';
}

export function recordingFetch(options: RecordingFetchOptions): RecordingFetch {
  const inner = options.fetch ?? globalThis.fetch;
  const recorder = new Recorder(options);
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const headers: Record<string, string> = {};
    new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const session = recorder.begin({ method, path: url.pathname, headers, body: requestBody(init?.body) });
    const response = await inner(input, init);
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    session.response(response.status, responseHeaders);
    if (response.body === null) {
      track(session.end(null));
      return response;
    }
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          track(session.end(`connection broke: ${(error as Error).message}`));
          controller.error(error);
          return;
        }
        if (result.done) {
          track(session.end(null));
          controller.close();
          return;
        }
        controller.enqueue(result.value);
        session.chunk(result.value);
      },
      cancel(reason) {
        track(session.end('the client cancelled the body'));
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return Object.assign(wrapped, {
    flush: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  }) as RecordingFetch;
}
