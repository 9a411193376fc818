/**
 * Test helpers for code built on turnstate: a fake Messages API on loopback
 * (drive the real SDK client against scripted streams), stream builders, and
 * a scripted in-process model.
 */
export { startFakeMessagesApi, type FakeMessagesApi, type FakeMessagesApiOptions, type FakeReply, type FakeRequest, type FakeScript } from './fake-api.js';
export { messageEvents, eventsToSse, sseFromMessage, truncatedSse, errorAfterSse, fakeId, type BlockSpec, type MessageSpec, type SseOptions } from './sse.js';
export { scriptedModel, type ScriptedModel, type ScriptedModelOptions, type ScriptedReply } from './scripted-model.js';
export { loadRecording, loadRecordingBytes, recordingNames } from './recordings.js';
export { TestingError, type TestingErrorCode } from './errors.js';
export { paramsHash, normaliseParams, loadCassette, loadCassetteDir, type Cassette, type CassetteMeta, type NormaliseOptions } from './cassette.js';
export { startRecordingProxy, DEFAULT_UPSTREAM, type RecordingProxy, type RecordingProxyOptions } from './record-proxy.js';
export { recordingFetch, type RecordingFetch, type RecordingFetchOptions } from './record-fetch.js';
export { startCassetteServer, type CassetteServer, type CassetteServerOptions, type ServedResponse } from './serve.js';
export { type ChaosRule } from './chaos.js';
export { type MatchMode, type MatchOptions } from './serve-match.js';
