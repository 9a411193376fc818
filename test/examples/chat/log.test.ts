import { describe, expect, it } from 'vitest';
import { EventLog, type ChatEvent } from '../../../examples/chat/log.js';

const text = (delta: string, index = 0): Extract<ChatEvent, { type: 'text' }> => ({ type: 'text', turnId: 't', segment: 0, index, delta });
const start: ChatEvent = { type: 'turn_start', turnId: 't', resumed: false, messages: [] };
const ids = (frames: string[] | null): string[] | null => frames && frames.map((f) => /^id: (\S+)/.exec(f)![1]!);

describe('the event log: bounded, exact replay, compacted snapshot', () => {
  it('replays exactly the frames after an id it still holds, and nothing for the latest id', () => {
    const log = new EventLog(8, 'ep');
    log.push(start);
    for (let i = 0; i < 5; i += 1) log.push(text(`d${i}`));
    expect(ids(log.since('ep-3'))).toEqual(['ep-4', 'ep-5', 'ep-6']);
    expect(log.since('ep-6')).toEqual([]);
    expect(ids(log.since('ep-0'))).toEqual(['ep-1', 'ep-2', 'ep-3', 'ep-4', 'ep-5', 'ep-6']);
  });

  it('keeps at most `limit` frames; an id older than those, from another epoch, from the future or malformed cannot be served', () => {
    const log = new EventLog(4, 'ep');
    log.push(start);
    for (let i = 0; i < 20; i += 1) log.push(text(`d${i}`));
    expect(log.size).toBe(4);
    expect(ids(log.since('ep-17'))).toEqual(['ep-18', 'ep-19', 'ep-20', 'ep-21']);
    expect(log.since('ep-16')).toBeNull();
    expect(log.since('other-20')).toBeNull();
    expect(log.since('ep-22')).toBeNull();
    expect(log.since('ep-x')).toBeNull();
    expect(log.since('')).toBeNull();
    expect(log.since(undefined)).toBeNull();
  });

  it('a new turn starts a new log: an id from the previous turn gets a snapshot, not a replay that would skip its end', () => {
    const log = new EventLog(64, 'ep');
    log.push(start);
    log.push(text('a'));
    log.push({ ...start, turnId: 'u' });
    log.push({ ...text('b'), turnId: 'u' });
    expect(log.since('ep-1')).toBeNull();
    expect(ids(log.since('ep-2'))).toEqual(['ep-3', 'ep-4']);
  });

  it('the snapshot holds the turn so far with the deltas of each block merged, and does not change the events pushed', () => {
    const log = new EventLog(2, 'ep');
    const first = text('Hel');
    log.push(start);
    log.push(first);
    log.push(text('lo'));
    log.push({ type: 'block_stop', turnId: 't', segment: 0, index: 0 });
    log.push(text('x', 1));
    log.push(text('y', 1));
    const snap = /data: (.*)\n\n$/.exec(log.snapshot([]))![1]!;
    const { live } = JSON.parse(snap);
    expect(live.map((e: any) => [e.type, e.delta])).toEqual([['turn_start', undefined], ['text', 'Hello'], ['block_stop', undefined], ['text', 'xy']]);
    expect(first.delta).toBe('Hel');
    expect(/^id: (\S+)/.exec(log.snapshot([]))![1]).toBe('ep-6');
  });

  it('sends each frame to every subscriber as one SSE event with its id', () => {
    const log = new EventLog(4, 'ep');
    const got: string[] = [];
    log.subscribers.add({ write: (f) => got.push(f) });
    log.push(start);
    log.push(text('line\nbreak'));
    expect(got[1]).toBe('id: ep-2\nevent: text\ndata: {"type":"text","turnId":"t","segment":0,"index":0,"delta":"line\\nbreak"}\n\n');
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new EventLog(0)).toThrow(RangeError);
    expect(() => new EventLog(1.5)).toThrow(RangeError);
  });
});
