/**
 * Migration 0009 (issue 12): batches written before it, whose children each copied the params,
 * are folded: a batch whose children all have the same params keeps them once (`child_params`)
 * and its children `{}`; a batch whose children differ is left alone; unfinished operations get
 * their owner's id from their creator's name. Read back through the repository, every child has
 * its whole params either way.
 */
import { afterEach, expect, it } from 'vitest';
import { migrations } from '../../src/server/migrations.js';
import { OperationRepository } from '../../src/server/ops/index.js';
import { openStore } from '../../src/server/store/index.js';
import type { Store } from '../../src/server/store/index.js';
import { createTestDatabase, describeStores } from '../server/helpers.js';
import type { TestDatabase } from '../server/helpers.js';

const AT = '2026-12-01T20:00:00.000Z';

describeStores('batch params migration', (kind) => {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('folds the shared params of existing batches and backfills owners', async () => {
    database = await createTestDatabase(kind);
    const before = migrations.filter((entry) => entry.name < '0009_batch_params');
    const old = await openStore({ dataDir: database.dataDir, databaseUrl: database.databaseUrl, migrations: before });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = old.db as any;
    await db.insertInto('users').values({ id: 'u1', username: 'alice', password_hash: 'x', role: 'operator', disabled: 0, created_at: AT, updated_at: AT }).execute();
    await db
      .insertInto('workstations')
      .values({ id: 'w1', name: 'pc-1', tags: '[]', limits: '{}', status: 'offline', enrollment_token_hash: 'h', created_at: AT, updated_at: AT })
      .execute();
    const batch = (id: string) => ({ id, action: 'shell', params: '{}', target: '{}', total: 2, created_by: 'alice', created_at: AT, status: 'queued', cancel_requested: 0 });
    await db.insertInto('batches').values([batch('b-same'), batch('b-differ')]).execute();
    const child = (id: string, batchId: string, params: string) => ({
      id,
      action: 'shell',
      status: 'queued',
      lane: 'read',
      workstation_id: 'w1',
      batch_id: batchId,
      params,
      attempts: 0,
      created_by: 'alice',
      created_at: AT,
      updated_at: AT,
      cancel_requested: 0,
    });
    await db
      .insertInto('operations')
      .values([
        child('o1', 'b-same', '{"command":"id"}'),
        child('o2', 'b-same', '{"command":"id"}'),
        child('o3', 'b-differ', '{"name":"a-1"}'),
        child('o4', 'b-differ', '{"name":"a-2"}'),
      ])
      .execute();
    await old.close();

    store = await openStore({ dataDir: database.dataDir, databaseUrl: database.databaseUrl, migrations });
    const rows = await store.db.selectFrom('operations').select(['id', 'params', 'owner_id']).orderBy('id').execute();
    expect(rows.map((row) => row.params)).toEqual(['{}', '{}', '{"name":"a-1"}', '{"name":"a-2"}']);
    expect(rows.every((row) => row.owner_id === 'u1')).toBe(true);
    const batches = await store.db.selectFrom('batches').select(['id', 'child_params']).orderBy('id').execute();
    expect(batches).toEqual([
      { id: 'b-differ', child_params: null },
      { id: 'b-same', child_params: '{"command":"id"}' },
    ]);
    const repo = new OperationRepository(store);
    expect(JSON.parse((await repo.get('o2'))?.params ?? '')).toEqual({ command: 'id' });
    expect(JSON.parse((await repo.get('o4'))?.params ?? '')).toEqual({ name: 'a-2' });
  }, 60_000);
});
