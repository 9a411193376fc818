/**
 * The chat backend's one error class. `code`:
 * - `bad_request`: the body is not JSON, or not `{ "text": non-empty string }`;
 * - `too_large`: a request body over the limit (64 KiB);
 * - `not_found`: no such route or conversation;
 * - `turn_running`: a message was sent while the conversation's turn is still in flight;
 * - `no_turn`: Stop with no turn in flight;
 * - `forbidden`: a request whose Host or Origin is not this loopback server (DNS rebinding, another site's page);
 * - `bad_conversation_file`: a conversation file on disk that cannot be read back (skipped at start-up).
 */
export type ChatErrorCode = 'bad_request' | 'too_large' | 'not_found' | 'turn_running' | 'no_turn' | 'forbidden' | 'bad_conversation_file';

const STATUS: Record<ChatErrorCode, number> = {
  bad_request: 400,
  too_large: 413,
  not_found: 404,
  turn_running: 409,
  no_turn: 409,
  forbidden: 403,
  bad_conversation_file: 500,
};

export class ChatError extends Error {
  override readonly name = 'ChatError';
  readonly code: ChatErrorCode;
  constructor(code: ChatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  get status(): number {
    return STATUS[this.code];
  }
  toJSON(): { error: { code: ChatErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
