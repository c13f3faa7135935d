/**
 * Three `ldfleet server` replicas on one PostgreSQL (real processes), agents spread over them:
 * work submitted to one replica runs on the replica holding the workstation's session, every
 * replica's event stream sees every event once, a cancel reaches the replica running the
 * operation, and the work of a replica killed mid-batch is finished by another.
 */
import { afterEach, expect, it } from 'vitest';
import type { Batch, FleetStreamEvent, Operation } from '../../src/sdk/index.js';
import { createsUnderway, describePostgres, emulatorIds, eventually, startCluster } from './helpers.js';
import type { TestCluster } from './helpers.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

async function waitBatch(cluster: TestCluster, replicaIndex: number, id: string, timeoutMs = 90_000): Promise<Batch> {
  const client = cluster.replicas[replicaIndex]?.client;
  if (!client) throw new Error('no replica');
  return eventually(async () => {
    const batch = await client.getBatch(id, { limit: 1 });
    return batch.finishedAt !== undefined ? batch : undefined;
  }, timeoutMs, `batch ${id} finished`);
}

function operationEvents(events: readonly FleetStreamEvent[], type: 'operation.created' | 'operation.finished', ids: ReadonlySet<string>): string[] {
  return events.flatMap((event) => (event.type === type && ids.has(event.data.id) ? [event.data.id] : []));
}

describePostgres('replicas on one PostgreSQL', () => {
  let cluster: TestCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  }, 60_000);

  it('runs a batch submitted to one replica on the replicas holding the sessions; every stream sees every event once', async () => {
    cluster = await startCluster(3);
    const [a, b, c] = cluster.replicas;
    if (!a || !b || !c) throw new Error('three replicas');
    const seed = [{ name: 'one', running: true }, { name: 'two', running: true }];
    const onB = await cluster.addWorkstation('on-b', b.url, seed);
    const onC = await cluster.addWorkstation('on-c', c.url, seed);
    const targets = [...(await emulatorIds(cluster, onB.id, 2)), ...(await emulatorIds(cluster, onC.id, 2))];

    const batch = await a.client.createBatch({ action: 'shell', target: { ids: targets }, params: { command: 'echo hello' } });
    const done = await waitBatch(cluster, 0, batch.id);
    expect(done.counts).toMatchObject({ succeeded: targets.length, failed: 0 });

    const children = await a.client.all((page) => a.client.listOperations({ ...page, batch: batch.id }));
    const ids = new Set(children.map((operation: Operation) => operation.id));
    expect(ids.size).toBe(targets.length);
    for (const replica of cluster.replicas) {
      await eventually(() => operationEvents(replica.events, 'operation.finished', ids).length >= ids.size, 10_000, `the finished events on ${replica.url}`);
      for (const type of ['operation.created', 'operation.finished'] as const) {
        const seen = operationEvents(replica.events, type, ids);
        expect(seen.sort(), `${type} on ${replica.url}`).toEqual([...ids].sort());
      }
      // The workstations' events come from the replicas holding them, in order, once.
      const online = replica.events.filter((event) => event.type === 'workstation.online' && [onB.id, onC.id].includes(event.data.id));
      expect(new Set(online.map((event) => JSON.stringify(event))).size).toBe(online.length);
    }
    // The same events everywhere, in the same order per operation.
    const perOperation = (events: readonly FleetStreamEvent[]) =>
      JSON.stringify(events.filter((event) => event.type.startsWith('operation.') && ids.has((event.data as Operation).id)).map((event) => [event.type, event.at, (event.data as Operation).id, (event.data as Operation).status]).sort());
    expect(perOperation(b.events)).toBe(perOperation(a.events));
    expect(perOperation(c.events)).toBe(perOperation(a.events));
  }, 180_000);

  it('stops an operation running on another replica within a second of a cancel', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.replicas;
    if (!a || !b) throw new Error('two replicas');
    const onB = await cluster.addWorkstation('slow-b', b.url, [{ name: 'slow' }]);
    const [emulatorId] = await emulatorIds(cluster, onB.id, 1);
    if (!emulatorId) throw new Error('no emulator');
    onB.home.setFaults([{ command: 'launch', delayMs: 30_000 }]);

    const operation = await a.client.emulatorAction(emulatorId, 'start');
    await eventually(async () => (await a.client.getOperation(operation.id)).status === 'running', 30_000, 'the start running on B');
    const asked = Date.now();
    await a.client.cancelOperation(operation.id);
    const finished = await eventually(
      () => a.events.find((event): event is FleetStreamEvent & { type: 'operation.finished' } => event.type === 'operation.finished' && event.data.id === operation.id),
      10_000,
      'the cancelled operation',
    );
    expect(finished.data.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(1_000);
  }, 120_000);

  it('finishes the batch of a replica killed mid-batch on the replica its agent reconnects to, without creating an instance twice', async () => {
    cluster = await startCluster(3);
    const [a, b, c] = cluster.replicas;
    if (!a || !b || !c) throw new Error('three replicas');
    // The agent is given B's and C's URLs (as `--server B,C`): once B is killed it dials C.
    const workstation = await cluster.addWorkstation('moving', `${b.url},${c.url}`, [{ name: 'seeded-0' }, { name: 'seeded-1' }], { bootMs: 300 });
    await emulatorIds(cluster, workstation.id, 2);
    const creates = 8;
    const batch = await createsUnderway(a.client, workstation, creates);
    await cluster.kill(b);

    await eventually(async () => (await a.client.getWorkstation(workstation.id)).status === 'online' && c.events.some((event) => event.type === 'workstation.online' && event.data.id === workstation.id), 30_000, 'the workstation online on C');
    const done = await waitBatch(cluster, 0, batch.id, 120_000);
    expect(done.counts).toMatchObject({ succeeded: creates, failed: 0, queued: 0, running: 0 });
    // One `add` per create, one instance per name, each operation finished once.
    expect(workstation.home.calls().filter((call) => call.command === 'add')).toHaveLength(creates);
    const children = await a.client.all((page) => a.client.listOperations({ ...page, batch: batch.id }));
    expect(children.every((operation: Operation) => FINAL.has(operation.status))).toBe(true);
    const created = children.map((operation: Operation) => (operation.result as { emulatorId: string }).emulatorId);
    expect(new Set(created).size).toBe(creates);
    const ids = new Set(children.map((operation: Operation) => operation.id));
    const finishedOnA = operationEvents(a.events, 'operation.finished', ids);
    expect(finishedOnA.sort()).toEqual([...ids].sort());
  }, 240_000);
});
