/**
 * The engine core on both stores (SQLite and PostgreSQL, where the claim uses FOR UPDATE SKIP
 * LOCKED): a batch runs to completion under the limits, concurrent replays of one
 * Idempotency-Key make one operation, and cancel/retry move operations as documented.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../../src/sdk/index.js';
import { describeStores } from '../server/helpers.js';
import { MUTATING_COMMANDS, startOpsFleet } from './helpers.js';
import type { OpsFleet } from './helpers.js';

describeStores('operation engine core', (kind) => {
  let fleet: OpsFleet;

  beforeAll(async () => {
    fleet = await startOpsFleet(kind, [
      { name: `core-${kind}`, limits: { maxConcurrentBoots: 3, launchIntervalMs: 0 }, seed: Array.from({ length: 8 }, (_, i) => ({ name: `core-${i}` })) },
    ]);
  }, 60_000);
  afterAll(() => fleet?.close());

  it('runs a batch start and a batch stop to completion, one mutation at a time', async () => {
    const ids = (await fleet.emulators()).map((emulator) => emulator.id);
    const started = await fleet.waitBatch((await fleet.t.admin.createBatch({ action: 'start', target: { ids } })).id);
    expect(started.counts).toMatchObject({ succeeded: 8, failed: 0 });
    const stopped = await fleet.waitBatch((await fleet.t.admin.createBatch({ action: 'stop', target: { filter: { state: 'running' } } })).id);
    expect(stopped.counts).toMatchObject({ succeeded: 8, failed: 0 });
    const mutations = (fleet.workstations[0]?.home.calls() ?? []).filter((call) => MUTATING_COMMANDS.has(call.command)).sort((a, b) => a.start - b.start);
    for (let i = 1; i < mutations.length; i += 1) expect(mutations[i]?.start).toBeGreaterThanOrEqual(mutations[i - 1]?.end ?? 0);
  }, 60_000);

  it('makes one operation of concurrent requests with one Idempotency-Key', async () => {
    const [first] = await fleet.emulators();
    if (!first) throw new Error('no emulator');
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => fleet.t.admin.shell(first.id, 'echo once', { idempotencyKey: `concurrent-${kind}` })),
    );
    expect(new Set(replies.map((reply) => reply.id)).size).toBe(1);
    const all = await fleet.t.admin.listOperations({ emulator: first.id, action: 'shell' });
    expect(all.items.filter((operation: Operation) => operation.params.command === 'echo once')).toHaveLength(1);
  });

  it('fills the read slots with one claim: a shell batch finishes every operation once, in one attempt', async () => {
    const ids = (await fleet.emulators()).map((emulator) => emulator.id);
    await fleet.waitBatch((await fleet.t.admin.createBatch({ action: 'start', target: { ids } })).id);
    const batch = await fleet.waitBatch((await fleet.t.admin.createBatch({ action: 'shell', target: { ids }, params: { command: 'echo claimed' } })).id);
    expect(batch.counts).toMatchObject({ succeeded: ids.length, failed: 0, queued: 0, running: 0 });
    const operations = (await fleet.t.admin.listOperations({ batch: batch.id })).items;
    expect(operations).toHaveLength(ids.length);
    for (const operation of operations) expect(operation).toMatchObject({ status: 'succeeded', attempts: 1, waiting: null });
    expect(operations.every((operation) => operation.finishedAt !== undefined && operation.result !== undefined)).toBe(true);
  }, 60_000);

  it('cancels queued work and retries it', async () => {
    const offline = await fleet.t.admin.createWorkstation({ name: `core-offline-${kind}` });
    const queued = (await fleet.t.admin.createEmulators({ name: 'later', workstationId: offline.workstation.id })) as Operation;
    expect((await fleet.t.admin.cancelOperation(queued.id)).status).toBe('cancelled');
    const retried = await fleet.t.admin.retryOperation(queued.id);
    expect(retried).toMatchObject({ status: 'queued' });
    expect(retried.finishedAt).toBeUndefined();
  });
});
