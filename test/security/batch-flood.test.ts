/**
 * Issue 12: a batch may hold 10,000 operations and copied its params into each row (three shell
 * batches grew the database from 28 to 352 MiB, blocking the server ~1.3 s each). Against a real
 * server over 10,000 emulators: the children of a 10,000-target shell batch store their shared
 * params once (in the batch) and still read back whole; one user cannot queue more than
 * `maxQueuedOperationsPerUser` (429, nothing created), not even with concurrent requests.
 * The database growth and the longest event-loop block of the insert are printed (not asserted).
 */
import { apiError } from '../ops/helpers.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiError } from '../../src/sdk/index.js';
import type { Batch } from '../../src/sdk/index.js';
import { FakeAgent, eventually, instance } from '../gateway/helpers.js';
import { describeStores, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';

const WORKSTATIONS = 10;
const PER_WORKSTATION = 1000;
const CAP = 11_500;
/** A long command, as in the report (the schema allows 8,000 characters). */
const COMMAND = `echo ${'x'.repeat(7000)}`;

describeStores('big batches store params once and are capped per user (issue 12)', (kind) => {
  let t: TestServer;


  /** Bytes the database takes now. */
  const databaseBytes = async (): Promise<number> => {
    if (kind === 'postgres') {
      const { rows } = await sql<{ size: string }>`SELECT pg_database_size(current_database()) AS size`.execute(t.server.store.db);
      return Number(rows[0]?.size ?? 0);
    }
    const file = join(t.config.dataDir, 'ldfleet.db');
    const size = (path: string) => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    return size(file) + size(`${file}-wal`);
  };

  const counts = async () => {
    const operations = await t.server.store.db.selectFrom('operations').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
    const batches = await t.server.store.db.selectFrom('batches').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
    return { operations: Number(operations?.n ?? 0), batches: Number(batches?.n ?? 0) };
  };

  beforeAll(async () => {
    t = await startTestServer(kind, { maxQueuedOperationsPerUser: CAP, offlineGraceMs: 3_600_000 });
    const agents: FakeAgent[] = [];
    const stations: string[] = [];
    for (let w = 0; w < WORKSTATIONS; w += 1) {
      const { enrollmentToken, workstation } = await t.admin.createWorkstation({ name: `bf-${w}` });
      stations.push(workstation.id);
      const agent = await FakeAgent.connect(t.url, enrollmentToken);
      agents.push(agent);
      await agent.hello(`BF-${w}`);
      agent.inventory(
        Array.from({ length: PER_WORKSTATION }, (_, i) => instance(i, { name: `bf-${w}-${i}`, state: 'running', booted: true, pids: { player: 1, vbox: 2 } })),
        { full: true },
      );
    }
    await eventually(async () => (await t.admin.request<{ total: number }>('GET', '/emulators', { query: { limit: 1 } })).total === WORKSTATIONS * PER_WORKSTATION, 120_000, 'the 10,000 emulators');
    // The agents go away: the batches' operations stay queued, waiting for their workstations.
    await Promise.all(agents.map((agent) => agent.close()));
    await eventually(() => stations.every((id) => !t.server.gateway.isOnline(id)), 20_000, 'the workstations offline');
  }, 240_000);

  afterAll(async () => {
    await t?.close();
  });

  it('a 10,000-target shell batch stores its command once; children read back whole', async () => {
    const before = await databaseBytes();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const started = Date.now();
    const batch = await t.admin.createBatch({ action: 'shell', target: { filter: {} }, params: { command: COMMAND } });
    const took = Date.now() - started;
    delay.disable();
    expect(batch.total).toBe(WORKSTATIONS * PER_WORKSTATION);
    const after = await databaseBytes();
    console.log(
      `[batch-flood ${kind}] 10,000-target shell batch (${COMMAND.length}-char command): database +${((after - before) / 1024 / 1024).toFixed(1)} MiB, ` +
        `202 after ${took} ms, longest event-loop block ${(delay.max / 1e6).toFixed(0)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms)`,
    );

    const db = t.server.store.db;
    const stored = await db.selectFrom('batches').select('child_params').where('id', '=', batch.id).executeTakeFirstOrThrow();
    expect(JSON.parse(stored.child_params ?? 'null')).toEqual({ command: COMMAND });
    const bytes = await db
      .selectFrom('operations')
      .select((eb) => eb.fn.sum<number | string>(eb.fn('length', ['params'])).as('n'))
      .where('batch_id', '=', batch.id)
      .executeTakeFirstOrThrow();
    expect(Number(bytes.n)).toBeLessThan(10 * batch.total);

    const page = await t.admin.getBatch(batch.id, { limit: 5 });
    for (const child of page.operations ?? []) expect(child.params).toEqual({ command: COMMAND });
    const [first] = page.operations ?? [];
    expect((await t.admin.getOperation(first?.id ?? '')).params).toEqual({ command: COMMAND });
  }, 180_000);

  it('refuses a batch that would pass the user\'s cap of unfinished operations with 429, creating nothing', async () => {
    const before = await counts();
    const refused = await apiError(t.admin.createBatch({ action: 'shell', target: { filter: {} }, params: { command: 'id' } }));
    expect(refused.status).toBe(429);
    expect(refused.code).toBe('too_many_queued_operations');
    expect(refused.details).toMatchObject({ limit: CAP, unfinished: WORKSTATIONS * PER_WORKSTATION, requested: WORKSTATIONS * PER_WORKSTATION });
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(await counts()).toEqual(before);
  }, 60_000);

  it('two concurrent batches of one user cannot both pass the cap; another user is not held by it', async () => {
    const before = await counts();
    // 10,000 queued + 1,000 fits under 11,500; + 2,000 does not.
    const replies = await Promise.all(
      ['bf-1', 'bf-2'].map((workstation) =>
        t.admin.createBatch({ action: 'shell', target: { filter: { workstation } }, params: { command: 'id' } }).then(
          (batch: Batch) => ({ ok: true as const, batch }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      ),
    );
    const accepted = replies.filter((reply) => reply.ok);
    const refused = replies.flatMap((reply) => (reply.ok ? [] : [reply.error]));
    expect(accepted.length).toBe(1);
    expect(refused.length).toBe(1);
    expect(refused[0] instanceof ApiError && refused[0].status === 429).toBe(true);
    expect(await counts()).toEqual({ operations: before.operations + PER_WORKSTATION, batches: before.batches + 1 });

    const other = (await t.userWithRole('operator')).client;
    const theirs = await other.createBatch({ action: 'shell', target: { filter: { workstation: 'bf-3' } }, params: { command: 'id' } });
    expect(theirs.total).toBe(PER_WORKSTATION);
  }, 60_000);
});
