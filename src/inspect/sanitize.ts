/**
 * Inspection events made safe to send: @statelyai/inspect serialises a
 * snapshot whole (`JSON.stringify` of the full context) before its own
 * `sanitizeContext` runs, and reads `actorRef.getSnapshot()` for actor
 * events — for the continuation machine that is the entire transcript, on
 * every step. So turnstate caps the context before the inspector sees it:
 * snapshots are replaced by `{ status, value, context: capped, output: capped }`
 * and actor refs by a stand-in that returns that.
 */
import type { InspectionEvent } from 'xstate';
import { capValue, type CapLimits } from '../trace/cap.js';

interface SnapshotLike {
  readonly status?: unknown;
  readonly value?: unknown;
  readonly context?: unknown;
  readonly output?: unknown;
  readonly error?: unknown;
}

function cappedSnapshot(snapshot: unknown, limits: CapLimits): SnapshotLike {
  const s = (snapshot ?? {}) as SnapshotLike;
  return {
    status: s.status,
    value: capValue(s.value, limits),
    context: capValue(s.context, limits),
    ...(s.output === undefined ? {} : { output: capValue(s.output, limits) }),
    ...(s.error === undefined ? {} : { error: String(s.error) }),
  };
}

/** A stand-in for an actor ref: what the inspector reads of it, with a capped snapshot. */
function standIn(actorRef: unknown, limits: CapLimits): unknown {
  const ref = actorRef as { id?: unknown; sessionId?: unknown; logic?: unknown; _parent?: unknown; getSnapshot?: () => unknown };
  return {
    id: ref.id,
    sessionId: ref.sessionId,
    logic: ref.logic,
    _parent: ref._parent === undefined ? undefined : { sessionId: (ref._parent as { sessionId?: unknown }).sessionId },
    getSnapshot: () => cappedSnapshot(ref.getSnapshot?.(), limits),
  };
}

/** The event with its user data capped, or null for something that is not an XState inspection event. */
export function sanitizeInspectionEvent(event: InspectionEvent, limits: CapLimits): InspectionEvent | null {
  const e = event as unknown as Record<string, unknown> | null;
  if (e === null || typeof e !== 'object' || typeof e['type'] !== 'string') return null;
  const actorRef = e['actorRef'] as { sessionId?: unknown } | undefined;
  if (actorRef === undefined || actorRef === null || typeof actorRef.sessionId !== 'string') return null;
  const out: Record<string, unknown> = { ...e, actorRef: standIn(actorRef, limits) };
  if ('event' in e) out['event'] = capValue(e['event'], limits);
  if ('snapshot' in e) out['snapshot'] = cappedSnapshot(e['snapshot'], limits);
  return out as unknown as InspectionEvent;
}
