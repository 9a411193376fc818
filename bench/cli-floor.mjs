// The floor for a whole `turnstate replay --json` process: read the file, frame
// it with eventsource-parser, JSON.parse each event, print one line — nothing else.
import { readFile } from 'node:fs/promises';
import { createParser } from 'eventsource-parser';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/cli-floor.mjs FILE.sse');
let events = 0;
let sink = 0;
const parser = createParser({
  onEvent(message) {
    const value = JSON.parse(message.data);
    events++;
    sink += value.type.length;
  },
});
parser.feed(await readFile(file, 'utf8'));
parser.feed('\n\n');
process.stdout.write(`${JSON.stringify({ file, events, sink })}\n`);
