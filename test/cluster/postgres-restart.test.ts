/**
 * PostgreSQL restarts in the middle of a batch (a private cluster, not the machine's shared
 * one): the replicas listen again, reconnect and finish every operation once, and `/readyz`
 * says when a replica cannot reach its database.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/sdk/index.js';
import { createsUnderway, describePostgres, eventually, startCluster } from './helpers.js';
import type { TestCluster } from './helpers.js';
import { privatePostgresUnavailable, startPrivatePostgres } from './private-postgres.js';
import type { PrivatePostgres } from './private-postgres.js';

const unavailable = privatePostgresUnavailable();

async function readyStatus(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

describePostgres('replicas across a PostgreSQL restart', () => {
  if (unavailable !== undefined) {
    if (process.env.CI) {
      it('needs a private PostgreSQL cluster', () => {
        throw new Error(unavailable);
      });
      return;
    }
    console.warn(`skipping the PostgreSQL restart test: ${unavailable}`);
  }
  describe.skipIf(unavailable !== undefined)('private cluster', () => {
    let database: PrivatePostgres | undefined;
    let cluster: TestCluster | undefined;

    afterEach(async () => {
      await cluster?.close();
      cluster = undefined;
      await database?.dispose();
      database = undefined;
    }, 60_000);

    it('re-listens, reconnects and finishes the batch without losing or duplicating an operation', async () => {
      database = await startPrivatePostgres();
      const db = database;
      cluster = await startCluster(2, {}, { databaseUrl: db.databaseUrl, dispose: async () => undefined });
      const [a, b] = cluster.replicas;
      if (!a || !b) throw new Error('two replicas');
      const workstation = await cluster.addWorkstation('through-restart', b.url, [{ name: 'seeded-0' }], { bootMs: 300 });
      await eventually(async () => (await a.client.getWorkstation(workstation.id)).status === 'online', 30_000, 'the agent online');
      const creates = 8;
      const batch = await createsUnderway(a.client, workstation, creates);

      await db.stop();
      await eventually(async () => (await readyStatus(a.url)) === 503 && (await readyStatus(b.url)) === 503, 15_000, 'both replicas not ready');
      await db.start();
      await eventually(async () => (await readyStatus(a.url)) === 200 && (await readyStatus(b.url)) === 200, 30_000, 'both replicas ready again');
      // Each replica told its clients to refetch what they may have missed.
      await eventually(() => a.events.some((event) => event.type === 'stream.resync') && b.events.some((event) => event.type === 'stream.resync'), 15_000, 'stream.resync on both');

      const done = await eventually(async () => {
        const now = await a.client.getBatch(batch.id, { limit: 1 });
        return now.finishedAt !== undefined ? now : undefined;
      }, 120_000, 'the batch finished');
      const children = await a.client.all((page) => a.client.listOperations({ ...page, batch: batch.id }));
      const failures = children.filter((operation: Operation) => operation.status !== 'succeeded').map((operation: Operation) => JSON.stringify(operation.error));
      expect(done.counts, failures.join('; ')).toMatchObject({ succeeded: creates, failed: 0, queued: 0, running: 0 });
      expect(workstation.home.calls().filter((call) => call.command === 'add')).toHaveLength(creates);
      const created = children.map((operation: Operation) => (operation.result as { emulatorId: string }).emulatorId);
      expect(new Set(created).size).toBe(creates);
    }, 240_000);
  });
});
