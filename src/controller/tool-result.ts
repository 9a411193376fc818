/**
 * How whatever a tool produced — a return value, a thrown value, or nothing
 * because it was never run — becomes the `tool_result` the model reads. Every
 * path through here is total: no user value can make these functions throw,
 * and what they return is always content the API accepts.
 */
import type { z } from 'zod';
import { toolResultContentSchema } from './tool-result-schema.js';
import type { ToolResult } from './types.js';

/** Longest description of a non-Error thrown value (its JSON), so one hostile value cannot flood the transcript. */
const MAX_DESCRIPTION = 2_000;

/**
 * An `is_error` result that tells the model `text`, for a call the controller
 * answers itself (no such tool, an input it will not run, a timeout, a value
 * the tool should not have produced).
 */
export function errorResult(text: string): ToolResult {
  return { content: text, is_error: true };
}

/**
 * A tool's return value as its result. A string goes as it is. An array goes
 * as it is if it is valid `tool_result` content (the SDK's
 * `BetaToolResultBlockParam['content']` block types, checked by schema in its
 * JSON form — what goes on the wire and into the journal). `undefined` (a tool
 * that returns nothing) is an empty result. Any other value JSON can represent
 * is sent as its JSON text. Anything else — a Symbol, a function, a BigInt, a
 * cyclic or too-deep value, an array that is not content — is an `is_error`
 * result saying what the tool returned, never content the API would refuse on
 * the next request.
 */
export function outputResult(output: unknown): ToolResult {
  try {
    if (typeof output === 'string') return { content: output, is_error: false };
    if (output === undefined) return { content: '', is_error: false };
    const json = jsonText(output);
    if (json.ok === false) return errorResult(`Error: the tool returned ${json.what}, which cannot be sent as a tool result`);
    if (!Array.isArray(output)) return { content: json.text, is_error: false };
    const checked = toolResultContentSchema().safeParse(JSON.parse(json.text));
    if (checked.success) return { content: checked.data, is_error: false };
    return errorResult(`Error: the tool returned an array that is not tool_result content (${firstIssue(checked.error)})`);
  } catch {
    // A getter, Proxy trap or toJSON that throws while we look at the value.
    return errorResult('Error: the tool returned a value that could not be read');
  }
}

/**
 * A thrown value as an `is_error` result. The SDK's `ToolError` (recognised by
 * name and shape, so from any copy of the SDK) carries the content to send (checked like a
 * return value); an Error gives its message; anything else — `null`, a
 * Symbol, `Object.create(null)`, an object whose `toString` or getters throw —
 * is described without calling into it where that could throw.
 */
export function thrownResult(thrown: unknown): ToolResult {
  try {
    if (isToolError(thrown)) {
      const content = outputResult((thrown as { content: unknown }).content);
      return { content: content.content, is_error: true };
    }
    if (thrown instanceof Error) {
      const message = safeMessage(thrown);
      return errorResult(message === null ? 'Error: the tool threw an Error whose message could not be read' : `Error: ${message}`);
    }
    return errorResult(`Error: the tool threw ${describeThrown(thrown)}`);
  } catch {
    return errorResult('Error: the tool threw a value that could not be described');
  }
}

/** The SDK's ToolError, by name and shape: it may come from another copy of the SDK, where `instanceof` is false. */
function isToolError(value: unknown): boolean {
  return value instanceof Error && value.name === 'ToolError' && 'content' in value;
}

function safeMessage(error: Error): string | null {
  try {
    const message: unknown = error.message;
    return typeof message === 'string' ? message : null;
  } catch {
    return null;
  }
}

function describeThrown(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > MAX_DESCRIPTION ? `${value.slice(0, MAX_DESCRIPTION)}…` : value);
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return `a Symbol (${String(value.description ?? '')})`;
    case 'function':
      return 'a function';
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
  }
  if (value === null) return 'null';
  const json = jsonText(value);
  if (json.ok === false) return `a non-Error object (${json.what})`;
  const text = json.text.length > MAX_DESCRIPTION ? `${json.text.slice(0, MAX_DESCRIPTION)}…` : json.text;
  return `a non-Error value: ${text}`;
}

type JsonText = { ok: true; text: string } | { ok: false; what: string };

/** `value` as JSON.stringify writes it, or what kind of value it is when it cannot be written. */
function jsonText(value: unknown): JsonText {
  switch (typeof value) {
    case 'symbol':
      return { ok: false, what: 'a Symbol' };
    case 'function':
      return { ok: false, what: 'a function' };
    case 'bigint':
      return { ok: false, what: 'a BigInt' };
    case 'undefined':
      return { ok: false, what: 'undefined' };
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    if (error instanceof RangeError) return { ok: false, what: 'a value nested too deeply to serialise' };
    const message = error instanceof Error ? error.message : '';
    if (/circular|cyclic/i.test(message)) return { ok: false, what: 'a cyclic value' };
    if (/bigint/i.test(message)) return { ok: false, what: 'a value containing a BigInt' };
    return { ok: false, what: 'a value whose JSON form could not be written' };
  }
  // JSON.stringify gives undefined for a value whose toJSON returns a function, Symbol or undefined.
  if (text === undefined) return { ok: false, what: 'a value with no JSON form' };
  return { ok: true, text };
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const path = issue.path.length === 0 ? 'the array' : `item ${issue.path.map(String).join('.')}`;
  return `${path}: ${issue.message}`;
}
