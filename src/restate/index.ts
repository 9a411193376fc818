/**
 * turnstate on Restate: agent loops whose model requests and tool calls are
 * journaled steps of a Restate handler, one writer per conversation (a
 * virtual object keyed by conversation id). Needs the optional peer
 * dependency @restatedev/restate-sdk; nothing else of turnstate loads it.
 */
export { turnObject, type TurnObjectOptions, type TurnReply, type TurnSettings, type SendInput, type DecideInput } from './object.js';
export { restateEffects, InvocationCheckpointStore, type RestateEffects } from './effects.js';
export { RestateRunError, type RestateRunErrorCode } from './errors.js';
export { checkSdkRuntime, sdkRunsWithoutWithResolvers } from './runtime.js';
