#!/usr/bin/env node
'use strict';
// The package's command. CommonJS so that `turnstate chat` can size libuv's
// thread pool before node first uses it (see threadpool.cjs): the ES module
// entry, turnstate.js, is read through that pool. Every other command goes
// straight on to turnstate.js.
if (process.argv[2] === 'chat') require('./threadpool.cjs');
import('./turnstate.js');
