/**
 * Frames of `/api/v1/events`: events arrive as JSON arrays, one per frame interval; identical
 * streams share one frame; `?coalesce=1` keeps the last state of each emulator inside a frame;
 * `stream.*` reaches every stream; a burst past the per-frame bound becomes one `stream.resync`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { EventBus, FrameFanout, coalesceFrame, parseTopicFilter } from '../../src/server/events/index.js';
import type { AnyFleetEvent, FleetEvent } from '../../src/server/events/index.js';
import type { Emulator } from '../../src/server/fleet/types.js';
import { expectBusListenersReleased, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { EventsClient, connect, eventually, wsUrl } from '../gateway/helpers.js';

const METRICS = { cpuPercent: 1, memoryTotalBytes: 2, memoryUsedBytes: 1, diskTotalBytes: 2, diskFreeBytes: 1 };

function emulator(id: string, fields: Partial<Emulator> = {}): Emulator {
  return {
    id, workstationId: 'w1', index: 0, name: id, state: 'stopped', booted: false, settings: null, problem: null, pids: null,
    adbSerial: 'emulator-5554', observedAt: '2026-01-01T00:00:00.000Z', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}

const at = '2026-01-01T00:00:00.000Z';
const stateChange = (id: string, from: Emulator['state'], to: Emulator['state'], fields: Partial<Emulator> = {}): FleetEvent<'emulator.state'> => ({
  type: 'emulator.state', at, data: { ...emulator(id, { state: to, booted: to === 'running', ...fields }), previousState: from, previousBooted: from === 'running' },
});
const updated = (id: string, fields: Partial<Emulator>): FleetEvent<'emulator.updated'> => ({ type: 'emulator.updated', at, data: emulator(id, fields) });
const created = (id: string): FleetEvent<'emulator.created'> => ({ type: 'emulator.created', at, data: emulator(id) });
const removed = (id: string): FleetEvent<'emulator.removed'> => ({ type: 'emulator.removed', at, data: emulator(id) });

describe('coalescing one frame', () => {
  it('keeps the last state/updated per emulator, where the last one was, from the first previousState', () => {
    const frame: AnyFleetEvent[] = [
      stateChange('e1', 'stopped', 'starting'),
      created('e2'),
      updated('e1', { name: 'renamed', state: 'starting' }),
      stateChange('e2', 'stopped', 'starting'),
      stateChange('e1', 'starting', 'running', { name: 'renamed' }),
      { type: 'workstation.metrics', at, data: { workstationId: 'w1', metrics: METRICS } },
    ];
    const kept = coalesceFrame(frame);
    expect(kept.map((event) => `${event.type}:${'id' in event.data ? event.data.id : ''}`)).toEqual([
      'emulator.created:e2',
      'emulator.state:e2',
      'emulator.state:e1',
      'workstation.metrics:',
    ]);
    expect(kept[2]?.data).toMatchObject({ id: 'e1', name: 'renamed', state: 'running', booted: true, previousState: 'stopped', previousBooted: false });
    expect(kept[1]).toBe(frame[3]);
  });

  it('turns a merged state change followed by an update into a state event, and leaves updates alone', () => {
    const kept = coalesceFrame([stateChange('e1', 'stopped', 'running'), updated('e1', { name: 'later', state: 'running', booted: true })]);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ type: 'emulator.state', data: { name: 'later', state: 'running', previousState: 'stopped' } });
    const updates = coalesceFrame([updated('e1', { name: 'a' }), updated('e1', { name: 'b' })]);
    expect(updates).toEqual([updated('e1', { name: 'b' })]);
  });

  it('never drops created, removed or resync, and does not merge across them', () => {
    const resync: FleetEvent<'stream.resync'> = { type: 'stream.resync', at, data: { reason: 'test' } };
    const frame: AnyFleetEvent[] = [stateChange('e1', 'stopped', 'running'), removed('e1'), created('e1'), stateChange('e1', 'stopped', 'starting'), resync, resync];
    expect(coalesceFrame(frame)).toBe(frame);
  });
});

describe('the fan-out', () => {
  const bus = new EventBus();
  const metrics = (workstationId: string) => bus.publish('workstation.metrics', { workstationId, metrics: METRICS });
  // A long interval: these tests flush by hand, so nothing depends on timing.
  const fanout = new FrameFanout(bus, { frameIntervalMs: 60_000, maxEventsPerFrame: 5 });
  afterAll(() => fanout.close());

  const member = () => {
    const frames: Buffer[] = [];
    return { frames, deliver: (frame: Buffer) => frames.push(frame), events: () => frames.flatMap((frame) => JSON.parse(frame.toString()) as AnyFleetEvent[]) };
  };

  it('gives identical streams the same frame, built once, with one bus listener', () => {
    const listeners = bus.listenerCount;
    const a = member();
    const b = member();
    const other = member();
    const leave = [
      fanout.join(parseTopicFilter('workstation.*,emulator.*'), 'all', a),
      fanout.join(parseTopicFilter('emulator.*, workstation.*'), 'all', b),
      fanout.join(parseTopicFilter('workstation.*,emulator.*'), 'coalesce', other),
    ];
    expect(bus.listenerCount).toBe(listeners + 2);
    metrics('m1');
    metrics('m2');
    fanout.flush();
    expect(a.frames).toHaveLength(1);
    expect(b.frames[0]).toBe(a.frames[0]);
    expect(a.events().map((event) => event.data)).toMatchObject([{ workstationId: 'm1' }, { workstationId: 'm2' }]);
    expect(other.events()).toEqual(a.events());
    fanout.flush();
    expect(a.frames).toHaveLength(1);
    for (const end of leave) end();
    expect(bus.listenerCount).toBe(listeners);
  });

  it('sends a stream that joined mid-interval only what came after it', () => {
    const early = member();
    const late = member();
    const leaveEarly = fanout.join(parseTopicFilter('workstation.metrics'), 'all', early);
    metrics('before');
    const leaveLate = fanout.join(parseTopicFilter('workstation.metrics'), 'all', late);
    metrics('after');
    fanout.flush();
    expect(early.events().map((event) => event.data)).toMatchObject([{ workstationId: 'before' }, { workstationId: 'after' }]);
    expect(late.events().map((event) => event.data)).toMatchObject([{ workstationId: 'after' }]);
    metrics('next');
    fanout.flush();
    expect(late.frames[1]).toBe(early.frames[1]);
    leaveEarly();
    leaveLate();
  });

  it('replaces a frame past its bound with one stream.resync, then carries on', () => {
    const client = member();
    const leave = fanout.join(parseTopicFilter('workstation.metrics'), 'all', client);
    for (let i = 0; i < 6; i++) metrics(`burst-${i}`);
    fanout.flush();
    expect(client.events()).toMatchObject([{ type: 'stream.resync', data: { reason: expect.stringMatching(/more than 5 events/) as unknown } }]);
    metrics('calm');
    fanout.flush();
    expect(client.events().at(-1)?.data).toMatchObject({ workstationId: 'calm' });
    leave();
  });
});

describe('frames on the wire', () => {
  let t: TestServer;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite', {}, { events: { frameIntervalMs: 10 } });
    token = t.admin.currentToken ?? '';
  });
  afterAll(() => t.close());

  expectBusListenersReleased(() => t);

  /** Every frame a socket receives, parsed. */
  async function frames(query: Record<string, string>): Promise<{ socket: WebSocket; frames: unknown[] }> {
    const socket = await connect(wsUrl(t.url, `/api/v1/events?${new URLSearchParams({ token, ...query }).toString()}`));
    const received: unknown[] = [];
    socket.on('message', (data: Buffer) => received.push(JSON.parse(data.toString())));
    return { socket, frames: received };
  }

  it('sends the events of one interval as one JSON array', async () => {
    const client = await frames({ topics: 'workstation.metrics' });
    for (let i = 0; i < 3; i++) t.server.bus.publish('workstation.metrics', { workstationId: `frame-${i}`, metrics: METRICS });
    await eventually(() => client.frames.length > 0, 5_000, 'a frame');
    expect(client.frames).toHaveLength(1);
    expect(client.frames[0]).toMatchObject([{ data: { workstationId: 'frame-0' } }, { data: { workstationId: 'frame-1' } }, { data: { workstationId: 'frame-2' } }]);
    client.socket.close();
  });

  it('coalesces for ?coalesce=1 only: three state changes become one, from the first to the last', async () => {
    const coalesced = await EventsClient.open(t.url, { token, topics: 'emulator.*', coalesce: '1' });
    const everything = await EventsClient.open(t.url, { token, topics: 'emulator.*' });
    const { bus } = t.server;
    bus.publish('emulator.state', stateChange('c1', 'stopped', 'starting').data);
    bus.publish('emulator.state', stateChange('c1', 'starting', 'running', { booted: false }).data);
    bus.publish('emulator.created', created('c2').data);
    bus.publish('emulator.state', { ...stateChange('c1', 'running', 'running').data, booted: true, previousBooted: false });
    await everything.waitFor((event) => event.type === 'emulator.created');
    await coalesced.waitFor((event) => event.type === 'emulator.created');
    expect(everything.events.map((event) => event.type)).toEqual(['emulator.state', 'emulator.state', 'emulator.created', 'emulator.state']);
    expect(coalesced.events.map((event) => event.type)).toEqual(['emulator.created', 'emulator.state']);
    expect(coalesced.events[1]?.data).toMatchObject({ id: 'c1', state: 'running', booted: true, previousState: 'stopped', previousBooted: false });
    coalesced.close();
    everything.close();
  });

  it('refuses a coalesce value other than 0 or 1 before the upgrade', async () => {
    await expect(connect(wsUrl(t.url, `/api/v1/events?token=${token}&coalesce=yes`))).rejects.toMatchObject({ statusCode: 400 });
  });

  it('sends stream.resync to every stream whatever its topics', async () => {
    const clients = await Promise.all(['operation.*', 'workstation.metrics'].map((topics) => EventsClient.open(t.url, { token, topics })));
    t.server.bus.publish('stream.resync', { reason: 'listener reconnected' });
    for (const client of clients) {
      const event = await client.waitFor((candidate) => candidate.type === 'stream.resync');
      expect(event.data).toEqual({ reason: 'listener reconnected' });
      client.close();
    }
  });
});
