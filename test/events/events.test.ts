/** `/api/v1/events`: authentication, topic filters, and dropping a client that cannot keep up. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventsCloseCode, parseTopicFilter } from '../../src/server/events/index.js';
import type { AnyFleetEvent } from '../../src/server/events/index.js';
import { describeStores, expectBusListenersReleased, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { EventsClient, closeCodeOf, connect, wsUrl } from '../gateway/helpers.js';

const METRICS = { cpuPercent: 1, memoryTotalBytes: 2, memoryUsedBytes: 1, diskTotalBytes: 2, diskFreeBytes: 1 };

describe('topic filters', () => {
  it('match exact types, families and everything', () => {
    const accepts = parseTopicFilter('emulator.*, workstation.online').accepts;
    expect(['emulator.created', 'emulator.state', 'workstation.online'].every(accepts)).toBe(true);
    expect(['workstation.offline', 'operation.updated', 'emulatorX.created'].some(accepts)).toBe(false);
    expect(parseTopicFilter(undefined).accepts('batch.updated')).toBe(true);
    expect(parseTopicFilter('*').accepts('anything.at.all')).toBe(true);
    expect(() => parseTopicFilter('emulator.*;drop')).toThrow(/not a topic/);
  });

  it('the bus delivers only what a subscriber accepts, and survives a failing listener', () => {
    const bus = new EventBus({ error: () => undefined });
    const seen: AnyFleetEvent[] = [];
    bus.subscribe(() => {
      throw new Error('broken listener');
    });
    const unsubscribe = bus.subscribe((event) => seen.push(event), parseTopicFilter('workstation.metrics').accepts);
    bus.publish('workstation.metrics', { workstationId: 'w1', metrics: METRICS });
    bus.publish('workstation.offline', {
      id: 'w1', name: 'w', status: 'offline', statusReason: null, statusMessage: null, lastSeenAt: null, hostname: null, os: null, agentVersion: null,
      ldplayer: { path: null, version: null }, metrics: null,
    });
    unsubscribe();
    bus.publish('workstation.metrics', { workstationId: 'w2', metrics: METRICS });
    expect(seen.map((event) => event.type)).toEqual(['workstation.metrics']);
  });
});

describeStores('events stream', (kind) => {
  let t: TestServer;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer(kind, {}, { events: { maxBufferedBytes: 256 * 1024, closeGraceMs: 30_000, frameIntervalMs: 10 } });
    token = t.admin.currentToken ?? '';
  });
  afterAll(() => t.close());

  expectBusListenersReleased(() => t);

  const metrics = (workstationId: string) => t.server.bus.publish('workstation.metrics', { workstationId, metrics: METRICS });

  it('refuses missing or bad credentials and bad topics before the upgrade', async () => {
    const url = wsUrl(t.url, '/api/v1/events');
    await expect(connect(url)).rejects.toMatchObject({ statusCode: 401 });
    await expect(connect(`${url}?token=not-a-token`)).rejects.toMatchObject({ statusCode: 401 });
    await expect(connect(`${url}?topics=${encodeURIComponent('bad topic!')}`, { headers: { authorization: `Bearer ${token}` } })).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  it('accepts a viewer\'s token in the header or the query, and an API token', async () => {
    const viewer = await t.userWithRole('viewer');
    const apiToken = await t.admin.request<{ token: string }>('POST', '/tokens', { body: { name: 'events-script', role: 'viewer' } });
    const clients = await Promise.all([
      EventsClient.open(t.url, {}, { authorization: `Bearer ${viewer.client.currentToken ?? ''}` }),
      EventsClient.open(t.url, { token: viewer.client.currentToken ?? '' }),
      EventsClient.open(t.url, { token: apiToken.token }),
    ]);
    metrics('hello-all');
    for (const client of clients) {
      const event = await client.waitFor((candidate) => candidate.data.workstationId === 'hello-all');
      expect(event).toMatchObject({ type: 'workstation.metrics', data: { metrics: METRICS } });
      expect(Number.isNaN(Date.parse(event.at))).toBe(false);
      client.close();
    }
  });

  it('streams only the topics asked for', async () => {
    const client = await EventsClient.open(t.url, { token, topics: 'emulator.*,workstation.online' });
    metrics('filtered-out');
    const info = {
      id: 'w-topics', name: 'topics', status: 'online' as const, statusReason: null, statusMessage: null, lastSeenAt: null, hostname: null, os: null, agentVersion: null,
      ldplayer: { path: null, version: null }, metrics: null,
    };
    t.server.bus.publish('workstation.offline', { ...info, status: 'offline' });
    t.server.bus.publish('workstation.online', info);
    await client.waitFor((event) => event.type === 'workstation.online');
    expect(client.events.map((event) => event.type)).toEqual(['workstation.online']);
    client.close();
  });

  it('drops a client that stops reading, with a close code, and keeps serving the others', async () => {
    // Server-side sockets still open: a dropped stream's is closing (its client reads nothing).
    const openStreams = () => [...t.server.app.websocketServer.clients].filter((socket) => socket.readyState === socket.OPEN).length;
    const streamsBefore = openStreams();
    const slow = await EventsClient.open(t.url, { token, topics: 'workstation.metrics' });
    const fast = await EventsClient.open(t.url, { token, topics: 'workstation.metrics' });
    expect(openStreams()).toBe(streamsBefore + 2);
    const slowSocket = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    slowSocket.pause();
    const closed = closeCodeOf(slow.socket);
    const padding = 'x'.repeat(16 * 1024);
    // Bounded: at most 64 MiB in all, one frame per batch (the fast client has it before the next).
    for (let batch = 0; batch < 400 && openStreams() > streamsBefore + 1; batch++) {
      for (let i = 0; i < 10; i++) metrics(`${padding}-${batch}-${i}`);
      await fast.waitFor((event) => event.data.workstationId === `${padding}-${batch}-9`);
    }
    expect(openStreams()).toBe(streamsBefore + 1);
    metrics('after-drop');
    await fast.waitFor((event) => event.data.workstationId === 'after-drop', 20_000);
    slowSocket.resume();
    expect(await closed).toBe(EventsCloseCode.slowConsumer);
    fast.close();
  });
});
