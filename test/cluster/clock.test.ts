/**
 * Leases are judged by the database's clock (issue 14: ownership with leases). Two replicas on
 * one PostgreSQL, one on a machine whose clock is a minute behind: with each machine's own
 * clock its heartbeats would look a minute old and the other would take it for dead at once.
 */
import { afterEach, expect, it } from 'vitest';
import { Cluster, newReplicaId } from '../../src/server/cluster/index.js';
import { EventBus } from '../../src/server/events/index.js';
import { Fleet } from '../../src/server/fleet/index.js';
import { migrations } from '../../src/server/migrations.js';
import { openStore } from '../../src/server/store/index.js';
import type { Store } from '../../src/server/store/index.js';
import { createTestDatabase } from '../server/helpers.js';
import type { TestDatabase } from '../server/helpers.js';
import { describePostgres } from './helpers.js';

const quiet = { warn: () => undefined, info: () => undefined, error: () => undefined };
const LEASE_MS = 1_000;
const HEARTBEAT_MS = 100;

describePostgres('replica leases on the database clock', () => {
  let database: TestDatabase | undefined;
  const opened: Array<{ close(): Promise<void> }> = [];

  afterEach(async () => {
    for (const item of opened.reverse()) await item.close();
    opened.length = 0;
    await database?.dispose();
  });

  async function replica(store: Store, localClock: () => number): Promise<Cluster> {
    const bus = new EventBus();
    const replicaId = newReplicaId();
    const cluster = await Cluster.start({
      store,
      databaseUrl: database?.databaseUrl,
      bus,
      fleet: new Fleet({ store, bus, replicaId }),
      logger: quiet,
      replicaId,
      heartbeatMs: HEARTBEAT_MS,
      leaseMs: LEASE_MS,
      localClock,
    });
    opened.push(cluster);
    return cluster;
  }

  it('keeps a replica whose machine clock is a minute behind alive for the others, and takes it for dead once it stops', async () => {
    database = await createTestDatabase('postgres');
    const store = await openStore({ dataDir: database.dataDir, databaseUrl: database.databaseUrl, migrations });
    opened.push(store);
    const onTime = await replica(store, Date.now);
    const behind = await replica(store, () => Date.now() - 60_000);

    // Several leases long: every heartbeat of `behind` is judged against the clock of `onTime`.
    const deadline = Date.now() + 3 * LEASE_MS;
    while (Date.now() < deadline) {
      expect([...(await onTime.replica.liveReplicas())].sort()).toEqual([onTime.replicaId, behind.replicaId].sort());
      expect([...(await behind.replica.liveReplicas())].sort()).toEqual([onTime.replicaId, behind.replicaId].sort());
      await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
    }

    await behind.close();
    expect([...(await onTime.replica.liveReplicas())]).toEqual([onTime.replicaId]);
  }, 30_000);
});
