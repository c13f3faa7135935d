/**
 * The SDK's event subscription and wait helpers against a real server: events arrive typed,
 * a dropped stream comes back by itself and asks for a resync, and an operation and a batch
 * are followed to their end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { subscribeEvents, waitForBatch, waitForOperation } from '../../src/sdk/index.js';
import type { FleetStreamEvent, Operation, StreamStatus, WebSocketConstructorLike } from '../../src/sdk/index.js';
import { eventually, startOpsFleet } from '../ops/helpers.js';
import type { OpsFleet } from '../ops/helpers.js';

const Socket = WebSocket as unknown as WebSocketConstructorLike;
const METRICS = { cpuPercent: 1, memoryTotalBytes: 2, memoryUsedBytes: 1, diskTotalBytes: 2, diskFreeBytes: 1 };

describe('sdk events', () => {
  let fleet: OpsFleet;

  beforeAll(async () => {
    fleet = await startOpsFleet('sqlite', [
      { name: 'pc-1', seed: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
    ]);
  }, 60_000);
  afterAll(() => fleet.close());

  it('delivers the events of its topics, reconnects after a drop and asks for a resync', async () => {
    const { t } = fleet;
    const seen: FleetStreamEvent[] = [];
    const statuses: StreamStatus[] = [];
    let resyncs = 0;
    const subscription = subscribeEvents(t.admin, {
      topics: ['workstation.metrics'],
      WebSocket: Socket,
      initialDelayMs: 10,
      // The agent's own metrics share the topic; only the ones this test publishes count.
      onEvent: (event) => {
        if (event.type === 'workstation.metrics' && event.data.workstationId.startsWith('w-')) seen.push(event);
      },
      onStatus: (status) => statuses.push(status),
      onResync: () => (resyncs += 1),
    });
    try {
      await subscription.opened;
      t.server.bus.publish('workstation.metrics', { workstationId: 'w-1', metrics: METRICS });
      await eventually(() => seen.length === 1, 5_000, 'the first event');
      expect(seen[0]).toMatchObject({ type: 'workstation.metrics', data: { workstationId: 'w-1' } });

      for (const client of t.server.app.websocketServer.clients) client.terminate();
      await eventually(() => resyncs === 1, 10_000, 'the stream to reopen');
      expect(statuses).toContain('reconnecting');
      t.server.bus.publish('workstation.metrics', { workstationId: 'w-2', metrics: METRICS });
      await eventually(() => seen.length === 2, 5_000, 'an event after the reconnect');
      expect(seen[1]?.data).toMatchObject({ workstationId: 'w-2' });
    } finally {
      subscription.close();
    }
    expect(statuses.at(-1)).toBe('closed');
  });

  it('calls onResync with the reason when the server sends stream.resync, whatever the topics', async () => {
    const { t } = fleet;
    const resyncs: Array<{ reason: string }> = [];
    const seen: FleetStreamEvent[] = [];
    const subscription = subscribeEvents(t.admin, {
      topics: ['batch.*'],
      WebSocket: Socket,
      onEvent: (event) => seen.push(event),
      onResync: (detail) => resyncs.push(detail),
    });
    try {
      await subscription.opened;
      t.server.bus.publish('stream.resync', { reason: 'replica listener reconnected' });
      await eventually(() => resyncs.length === 1, 5_000, 'the resync');
      expect(resyncs).toEqual([{ reason: 'replica listener reconnected' }]);
      expect(seen.map((event) => event.type)).toEqual(['stream.resync']);
    } finally {
      subscription.close();
    }
  });

  it('with coalesce: true gets one state event per emulator and frame, from the first previousState', async () => {
    const { t } = fleet;
    const [emulator] = await fleet.emulators();
    if (!emulator) throw new Error('no emulator');
    const coalesced: FleetStreamEvent[] = [];
    const all: FleetStreamEvent[] = [];
    // A made-up id: the fleet's own emulators may change meanwhile.
    const id = 'sdk-coalesce';
    const subscriptions = [true, false].map((coalesce) =>
      subscribeEvents(t.admin, {
        topics: ['emulator.state'],
        coalesce,
        WebSocket: Socket,
        onEvent: (event) => {
          if (event.type === 'emulator.state' && event.data.id === id) (coalesce ? coalesced : all).push(event);
        },
      }),
    );
    try {
      await Promise.all(subscriptions.map((subscription) => subscription.opened));
      const base = { ...emulator, id };
      t.server.bus.publish('emulator.state', { ...base, state: 'starting', booted: false, previousState: 'stopped', previousBooted: false });
      t.server.bus.publish('emulator.state', { ...base, state: 'running', booted: false, previousState: 'starting', previousBooted: false });
      t.server.bus.publish('emulator.state', { ...base, state: 'running', booted: true, previousState: 'running', previousBooted: false });
      await eventually(() => all.length === 3 && coalesced.length === 1, 5_000, 'both streams');
      expect(coalesced[0]?.data).toMatchObject({ state: 'running', booted: true, previousState: 'stopped', previousBooted: false });
    } finally {
      for (const subscription of subscriptions) subscription.close();
    }
  });

  it('gives up, with the reason, when the credential is refused', async () => {
    const { t } = fleet;
    const anonymous = t.admin.withToken('not-a-token');
    const statuses: StreamStatus[] = [];
    const subscription = subscribeEvents(anonymous, {
      WebSocket: Socket,
      initialDelayMs: 10,
      onEvent: () => undefined,
      onStatus: (status) => statuses.push(status),
    });
    await expect(subscription.opened).rejects.toThrow(/401/);
    expect(statuses.at(-1)).toBe('closed');
  });

  it('follows an operation and a batch to their end', async () => {
    const { t } = fleet;
    const [first, ...rest] = await fleet.emulators();
    if (!first) throw new Error('no emulator');
    const updates: Operation['status'][] = [];
    const started = await t.admin.emulatorAction(first.id, 'start');
    const final = await waitForOperation(t.admin, started.id, { WebSocket: Socket, onUpdate: (operation) => updates.push(operation.status) });
    expect(final.status).toBe('succeeded');
    expect(updates.at(-1)).toBe('succeeded');

    const children: Operation[] = [];
    const batch = await t.admin.createBatch({ action: 'start', target: { ids: rest.map((emulator) => emulator.id) } });
    const finished = await waitForBatch(t.admin, batch.id, { WebSocket: Socket, onOperation: (operation) => children.push(operation) });
    expect(finished.counts.succeeded).toBe(2);
    expect(new Set(children.map((operation) => operation.batchId))).toEqual(new Set([batch.id]));
  });

  it('stops waiting when aborted', async () => {
    const { t } = fleet;
    const [emulator] = await fleet.emulators();
    if (!emulator) throw new Error('no emulator');
    const controller = new AbortController();
    const stopped = await t.admin.emulatorAction(emulator.id, 'stop');
    controller.abort(new Error('user pressed Ctrl-C'));
    await expect(waitForOperation(t.admin, stopped.id, { WebSocket: Socket, signal: controller.signal })).rejects.toThrow(/Ctrl-C/);
  });
});
