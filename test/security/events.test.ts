/**
 * The event stream under attack (issue 12, high): one token opening hundreds of streams, events
 * serialised per subscriber, oversized client frames, and streams that outlive their credential.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { EventsCloseCode } from '../../src/server/events/index.js';
import { startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { EventsClient, FakeAgent, closeCodeOf, eventually, instance, wsUrl } from '../gateway/helpers.js';

const METRICS = { cpuPercent: 1, memoryTotalBytes: 2, memoryUsedBytes: 1, diskTotalBytes: 2, diskFreeBytes: 1 };

const outcomes = new WeakMap<WebSocket, { code: number }>();

/** Opens a stream; its close code is recorded from the start (a refusal may come before `open` resolves). */
async function openStream(t: TestServer, token: string, topics = 'emulator.*,workstation.metrics'): Promise<WebSocket> {
  const socket = new WebSocket(wsUrl(t.url, `/api/v1/events?topics=${encodeURIComponent(topics)}`), { headers: { authorization: `Bearer ${token}` } });
  const state = { code: 0 };
  outcomes.set(socket, state);
  socket.once('close', (code) => (state.code = code));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/** The close code so far; 0 while open. */
function outcome(socket: WebSocket): { code: number } {
  const state = outcomes.get(socket);
  if (!state) throw new Error('not opened by openStream');
  return state;
}

describe('event stream limits', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(() => t.close());

  it('one token trying 300 streams gets 10; the rest are closed with 4029 and a 2,000-instance change still lands', async () => {
    const viewer = await t.userWithRole('viewer');
    const token = viewer.client.currentToken ?? '';
    const sockets: WebSocket[] = [];
    const outcomes: Array<{ code: number }> = [];
    // Bounded: 300 attempts in batches of 50.
    for (let batch = 0; batch < 6; batch++) {
      const opened = await Promise.all(Array.from({ length: 50 }, () => openStream(t, token)));
      for (const socket of opened) {
        sockets.push(socket);
        outcomes.push(outcome(socket));
      }
    }
    await eventually(() => outcomes.filter((o) => o.code !== 0).length >= 290, 20_000, '290 refusals');
    expect(outcomes.filter((o) => o.code === EventsCloseCode.tooManyStreams)).toHaveLength(290);
    const open = sockets.filter((_socket, i) => outcomes[i]?.code === 0);
    expect(open).toHaveLength(10);

    const { enrollmentToken } = await t.admin.createWorkstation({ name: 'ws-big' });
    const agent = await FakeAgent.connect(t.url, enrollmentToken);
    await agent.hello();
    const received = open.map(() => 0);
    // Each frame is an array of events.
    open.forEach((socket, i) => socket.on('message', (data: Buffer) => (received[i] = (received[i] ?? 0) + (JSON.parse(data.toString()) as unknown[]).length)));
    agent.inventory(Array.from({ length: 2000 }, (_, index) => instance(index)), { full: true });
    expect(await t.admin.health()).toEqual({ status: 'ok' });
    await eventually(() => received.every((count) => count >= 2000), 60_000, 'every stream to get the 2,000 emulator.created events');
    await agent.close();
    for (const socket of sockets) socket.terminate();
  });

  it('serialises each event once, however many streams get it', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => EventsClient.open(t.url, { token: t.admin.currentToken ?? '', topics: 'workstation.metrics' })));
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const event = t.server.bus.publish('workstation.metrics', { workstationId: 'once', metrics: METRICS });
      // Serialised when its frame is built, after the publish: count once every client has it.
      for (const client of clients) await client.waitFor((candidate) => candidate.data.workstationId === 'once');
      const calls = stringify.mock.calls.filter(([value]) => value === event).length;
      expect(calls).toBe(1);
    } finally {
      stringify.mockRestore();
    }
    for (const client of clients) client.close();
  });

  it('closes a stream whose client sends more than a tiny frame (1009)', async () => {
    const socket = await openStream(t, t.admin.currentToken ?? '');
    const closed = closeCodeOf(socket);
    socket.send('x'.repeat(64 * 1024));
    expect(await closed).toBe(EventsCloseCode.frameTooLarge);
  });
});

describe('the overall stream cap', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { eventsMaxStreams: 40 });
  });
  afterAll(() => t.close());

  it('past the overall cap the next stream is closed with 1013', async () => {
    const sockets: WebSocket[] = [];
    const outcomes: Array<{ code: number }> = [];
    // 5 users × 10 streams = 50 tries against the cap of 40.
    for (let user = 0; user < 5; user++) {
      const { client } = await t.userWithRole('viewer');
      for (const socket of await Promise.all(Array.from({ length: 10 }, () => openStream(t, client.currentToken ?? '')))) {
        sockets.push(socket);
        outcomes.push(outcome(socket));
      }
    }
    await eventually(() => outcomes.filter((o) => o.code !== 0).length >= 10, 20_000, '10 refusals');
    expect(outcomes.filter((o) => o.code === EventsCloseCode.serverBusy)).toHaveLength(10);
    for (const socket of sockets) socket.terminate();
    // Slots come back when streams close.
    await eventually(async () => {
      const socket = await openStream(t, t.admin.currentToken ?? '');
      const state = outcome(socket);
      const ok = await t.admin.health().then(() => state.code === 0);
      socket.terminate();
      return ok;
    }, 20_000, 'a slot to come back');
  });
});

describe('event streams end with their credential', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(() => t.close());

  it('after logout (4003)', async () => {
    const viewer = await t.userWithRole('viewer');
    const socket = await openStream(t, viewer.client.currentToken ?? '');
    const closed = closeCodeOf(socket);
    await viewer.client.logout();
    expect(await closed).toBe(EventsCloseCode.revoked);
  });

  it('after the user is disabled (4003)', async () => {
    const viewer = await t.userWithRole('viewer');
    const apiToken = await viewer.client.createToken({ name: 'script' });
    const sockets = await Promise.all([openStream(t, viewer.client.currentToken ?? ''), openStream(t, apiToken.token)]);
    const closed = sockets.map(closeCodeOf);
    await t.admin.updateUser(viewer.id, { disabled: true });
    expect(await Promise.all(closed)).toEqual([EventsCloseCode.revoked, EventsCloseCode.revoked]);
  });

  it('after its API token is revoked (4003)', async () => {
    const viewer = await t.userWithRole('viewer');
    const apiToken = await viewer.client.createToken({ name: 'script' });
    const socket = await openStream(t, apiToken.token);
    const other = await openStream(t, viewer.client.currentToken ?? '');
    const closed = closeCodeOf(socket);
    await viewer.client.revokeToken(apiToken.id);
    expect(await closed).toBe(EventsCloseCode.revoked);
    // The user's other credential still works: its stream stays.
    expect(other.readyState).toBe(other.OPEN);
    other.terminate();
  });

  it('when its token expires (4004)', async () => {
    const apiToken = await t.admin.createToken({ name: 'short', expiresAt: new Date(Date.now() + 1500).toISOString() });
    const socket = await openStream(t, apiToken.token);
    const closed = closeCodeOf(socket);
    expect(await closed).toBe(EventsCloseCode.expired);
  });
});
