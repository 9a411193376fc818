import { streamMachine } from '../../machines/stream.machine.js';
import { continuationMachine } from '../../machines/continuation.machine.js';

/** turnstate's machines by the names the CLI takes. */
export const MACHINES = { stream: streamMachine, continuation: continuationMachine } as const;
export type MachineName = keyof typeof MACHINES;
