/** Traces of streams and runs, and the self-contained page that shows them (`turnstate replay --html`, `--trace`). */
export { traceTurn, createStreamTraceRecorder, emptyStreamTrace, describeEvent, type TraceTurnOptions, type StreamTraceRecorder } from './stream.js';
export { createRunTraceRecorder, describeControllerEvent, type RunTraceRecorder } from './run.js';
export { renderTraceHtml, type TraceHtmlOptions } from './html.js';
export { capValue, capText, DEFAULT_CAP, type CapLimits } from './cap.js';
export type { Trace, TraceStep, TraceFailure } from './types.js';
