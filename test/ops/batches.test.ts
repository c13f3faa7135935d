/**
 * Batches and operations as lists (issue 9 §3): newest first unless `order=asc`, batch filters,
 * a batch `status`, `batch.created` before its operations' events, cancelling the rest of a
 * batch and retrying only its failed children. Also the engine's own safety net: a `running`
 * operation with no attempt behind it is taken up again, and the engine says so in its log.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AnyFleetEvent } from '../../src/server/events/index.js';
import { ApiError } from '../../src/sdk/index.js';
import type { Batch } from '../../src/sdk/index.js';
import { nowIso } from '../../src/server/store/index.js';
import { describeStores } from '../server/helpers.js';
import { TestClock } from './clock.js';
import { eventually, startOpsFleet } from './helpers.js';
import type { OpsFleet } from './helpers.js';

describeStores('batch and operation lists', (kind) => {
  let fleet: OpsFleet;
  const clock = new TestClock();
  const events: AnyFleetEvent[] = [];
  const logLines: string[] = [];
  let station: string;
  let away: string;
  const ids: Record<string, string> = {};

  const status = async (promise: Promise<unknown>): Promise<number | undefined> =>
    promise.then(
      () => undefined,
      (error: unknown) => (error instanceof ApiError ? error.status : -1),
    );

  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
        done();
      },
    });
    fleet = await startOpsFleet(
      kind,
      [
        { name: 'list-a', limits: { launchIntervalMs: 0, maxConcurrentBoots: 4 }, seed: [{ name: 'up', running: true }, { name: 'down' }, { name: 'other' }] },
        { name: 'list-b', seed: [{ name: 'far' }] },
      ],
      { logLevel: 'warn' },
      { clock, logStream },
    );
    [station, away] = fleet.workstations.map((workstation) => workstation.id) as [string, string];
    for (const emulator of await fleet.emulators()) ids[emulator.name] = emulator.id;
    fleet.t.server.bus.subscribe((event) => events.push(event));
    await fleet.workstations[1]?.agent.stop();
    await eventually(async () => (await fleet.t.admin.getWorkstation(away)).status === 'offline', 20_000, 'list-b offline');
  }, 90_000);
  afterAll(() => fleet?.close());

  it('gives a batch its status: succeeded, failed, partial', async () => {
    const ok = await fleet.t.admin.createBatch({ action: 'shell', target: { ids: [ids.up ?? ''] }, params: { command: 'echo ok' } });
    expect(ok.status).toBe('queued');
    expect((await fleet.waitBatch(ok.id)).status).toBe('succeeded');
    // Stopped emulators cannot run shell commands.
    const bad = await fleet.t.admin.createBatch({ action: 'shell', target: { ids: [ids.down ?? ''] }, params: { command: 'echo no' } });
    expect((await fleet.waitBatch(bad.id)).status).toBe('failed');
    const mixed = await fleet.t.admin.createBatch({ action: 'shell', target: { ids: [ids.up ?? '', ids.other ?? ''] }, params: { command: 'echo mixed' } });
    expect((await fleet.waitBatch(mixed.id)).status).toBe('partial');
  }, 60_000);

  it('publishes batch.created before the events of its operations', async () => {
    const from = events.length;
    const batch = await fleet.t.admin.createBatch({ action: 'shell', target: { ids: [ids.up ?? ''] }, params: { command: 'echo order' } });
    await fleet.waitBatch(batch.id);
    const mine = events.slice(from).filter((event) => {
      const data = event.data as { id?: string; batchId?: string };
      return data.id === batch.id || data.batchId === batch.id;
    });
    expect(mine[0]?.type).toBe('batch.created');
    expect((mine[0]?.data as Batch).status).toBe('queued');
    expect(mine.some((event) => event.type === 'operation.created')).toBe(true);
  }, 30_000);

  it('lists operations and batches newest first, oldest first with order=asc, with filters', async () => {
    const newest = await fleet.t.admin.listOperations({ limit: 5 });
    const createdDesc = newest.items.map((operation) => operation.id);
    expect(createdDesc).toEqual([...createdDesc].sort().reverse());
    const oldest = await fleet.t.admin.listOperations({ limit: 5, order: 'asc' });
    expect(oldest.items.map((operation) => operation.id)).toEqual(oldest.items.map((operation) => operation.id).sort());
    expect(oldest.items[0]?.id).not.toBe(newest.items[0]?.id);

    const batches = await fleet.t.admin.listBatches();
    expect(batches.total).toBeGreaterThanOrEqual(4);
    const batchIds = batches.items.map((batch) => batch.id);
    expect(batchIds).toEqual([...batchIds].sort().reverse());
    expect(batches.items.every((batch) => typeof batch.status === 'string' && batch.counts !== undefined && batch.operations === undefined)).toBe(true);
    const asc = await fleet.t.admin.listBatches({ order: 'asc', limit: 2 });
    expect(asc.items.map((batch) => batch.id)).toEqual(batchIds.slice().sort().slice(0, 2));
    const next = await fleet.t.admin.listBatches({ order: 'asc', limit: 2, cursor: asc.nextCursor ?? undefined });
    expect(next.items[0]?.id).toBe(batchIds.slice().sort()[2]);

    const failed = await fleet.t.admin.listBatches({ status: 'failed' });
    expect(failed.items.length).toBeGreaterThanOrEqual(1);
    expect(failed.items.every((batch) => batch.status === 'failed')).toBe(true);
    const partial = await fleet.t.admin.listBatches({ status: 'partial', action: 'shell' });
    expect(partial.items.every((batch) => batch.status === 'partial' && batch.action === 'shell')).toBe(true);
    expect(partial.total).toBe(1);
    expect((await fleet.t.admin.listBatches({ action: 'delete' })).total).toBe(0);
    // Operations filter by workstation name as well as id.
    const byName = await fleet.t.admin.listOperations({ workstation: 'list-a', limit: 1000 });
    const byId = await fleet.t.admin.listOperations({ workstation: station, limit: 1000 });
    expect(byName.total).toBe(byId.total);
    expect(byName.total).toBeGreaterThan(0);
  }, 30_000);

  it('cancels the rest of a batch, and refuses to cancel a finished one', async () => {
    const batch = await fleet.t.admin.createBatch({ action: 'start', target: { ids: [ids.far ?? ''] } });
    await fleet.waitOperation(batch.operations?.[0]?.id ?? '', (operation) => operation.waiting?.reason === 'workstation_offline', 20_000);
    const cancelled = await fleet.t.admin.cancelBatch(batch.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.counts.cancelled).toBe(1);
    expect((await fleet.t.admin.getOperation(batch.operations?.[0]?.id ?? '')).status).toBe('cancelled');
    const done = await fleet.waitBatch(batch.id);
    expect(done.status).toBe('cancelled');
    expect((await fleet.t.admin.listBatches({ status: 'cancelled' })).items.map((item) => item.id)).toContain(batch.id);
    expect(await status(fleet.t.admin.cancelBatch(batch.id))).toBe(409);
    expect(await status(fleet.t.admin.cancelBatch('nope'))).toBe(404);
  }, 30_000);

  it('retries only the failed children of a batch', async () => {
    const batch = await fleet.t.admin.createBatch({ action: 'shell', target: { ids: [ids.up ?? '', ids.down ?? ''] }, params: { command: 'echo again' } });
    const first = await fleet.waitBatch(batch.id);
    expect(first.status).toBe('partial');
    const children = (await fleet.t.admin.getBatch(batch.id)).operations ?? [];
    const succeeded = children.find((operation) => operation.status === 'succeeded');
    const failed = children.find((operation) => operation.status === 'failed');
    if (!succeeded || !failed) throw new Error('expected one success and one failure');
    // Start the stopped one, so the retry can succeed.
    const start = await fleet.t.admin.emulatorAction(ids.down ?? '', 'start');
    expect((await fleet.waitOperation(start.id)).status).toBe('succeeded');
    const retried = await fleet.t.admin.retryBatch(batch.id);
    expect(retried.counts.failed).toBe(0);
    expect(retried.status).toBe('running');
    const done = await fleet.waitBatch(batch.id);
    expect(done.status).toBe('succeeded');
    expect((await fleet.t.admin.getOperation(succeeded.id)).attempts).toBe(succeeded.attempts);
    expect((await fleet.t.admin.getOperation(failed.id)).attempts).toBe(failed.attempts + 1);
    expect(await status(fleet.t.admin.retryBatch(batch.id))).toBe(409);
  }, 60_000);

  it('takes up a running operation no attempt is behind, and logs it with the operation id', async () => {
    const operation = await fleet.t.admin.shell(ids.up ?? '', 'echo orphan');
    expect((await fleet.waitOperation(operation.id)).status).toBe('succeeded');
    // As a process that died mid-attempt leaves it: running in the store, nobody working on it.
    await fleet.t.server.store.db
      .updateTable('operations')
      .set({ status: 'running', finished_at: null, result: null, updated_at: nowIso(clock.now()) })
      .where('id', '=', operation.id)
      .execute();
    clock.advance(10_000);
    const again = await fleet.waitOperation(operation.id, undefined, 20_000);
    expect(again.status).toBe('succeeded');
    expect(logLines.some((line) => line.includes(operation.id) && line.includes('without an attempt'))).toBe(true);
  }, 30_000);
});
