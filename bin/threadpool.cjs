'use strict';
// libuv runs every asynchronous file call (open, write, fdatasync, rename…)
// on a pool of UV_THREADPOOL_SIZE threads, 4 by default, and reads the
// variable once, when the pool is first used. `turnstate chat` journals each
// turn with fdatasync: at a thousand sessions the journal's calls queued
// behind each other in 4 threads and a turn's first model request left up to
// 24 s after the person's message (README, "The reference chat backend").
// fsyncs wait on the disk, not on a core, so more threads let them overlap.
//
// This must run before the pool's first use, and an ES module entry is too
// late: node's ESM loader reads the entry file with an asynchronous read, on
// the pool. So it is CommonJS, run by bin/turnstate.cjs (and preloaded with
// `node --require` by bench/chat.bench.ts, so the bench runs the backend as
// the CLI does). A size the user set is kept.
const CHAT_THREADPOOL_SIZE = 64;
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(CHAT_THREADPOOL_SIZE);
