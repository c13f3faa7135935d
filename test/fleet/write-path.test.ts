/**
 * The fleet's write path on both stores, counted in statements: heartbeats and metrics stay in
 * memory and reach the row on a change of status or once a minute; inventory messages of many
 * agents land in a few transactions, each workstation's in the order it sent them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import type { AnyFleetEvent } from '../../src/server/events/index.js';
import { EventBus } from '../../src/server/events/index.js';
import { Fleet } from '../../src/server/fleet/index.js';
import { migrations } from '../../src/server/migrations.js';
import { openStore } from '../../src/server/store/index.js';
import type { Store } from '../../src/server/store/index.js';
import { createTestDatabase, describeStores } from '../server/helpers.js';
import type { TestDatabase } from '../server/helpers.js';
import { instance } from '../gateway/helpers.js';

/** Counts statements by kind and first table, e.g. `UpdateQueryNode workstations`. */
class StatementCounter implements KyselyPlugin {
  readonly counts = new Map<string, number>();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const key = `${args.node.kind} ${tableOf(args.node)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  reset(): void {
    this.counts.clear();
  }
}

function tableOf(node: RootOperationNode): string {
  const n = node as unknown as { from?: { froms?: TableRef[] }; table?: TableRef; into?: TableRef };
  const table = n.from?.froms?.[0] ?? n.table ?? n.into;
  return table?.table?.identifier?.name ?? '?';
}
type TableRef = { table?: { identifier?: { name?: string } } };

const MINUTE = 60_000;

describeStores('fleet write path', (kind) => {
  let database: TestDatabase;
  let store: Store;
  let now = Date.parse('2026-03-01T10:00:00.000Z');
  const counter = new StatementCounter();
  const events: AnyFleetEvent[] = [];
  let fleet: Fleet;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    store = await openStore({ dataDir: database.dataDir, databaseUrl: database.databaseUrl, migrations });
    const bus = new EventBus();
    bus.subscribe((event) => events.push(event));
    fleet = new Fleet({ store: { ...store, db: store.db.withPlugin(counter) }, bus, clock: () => now, inventory: { tickMs: 20 } });
  });
  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  async function addWorkstations(count: number, prefix: string): Promise<string[]> {
    const at = new Date(now).toISOString();
    const rows = Array.from({ length: count }, (_, i) => ({
      id: `${prefix}-${String(i).padStart(3, '0')}`,
      name: `${prefix}-pc-${i}`,
      tags: '[]',
      limits: '{}',
      status: 'offline',
      enrollment_token_hash: `hash-${prefix}-${i}`,
      created_at: at,
      updated_at: at,
    }));
    await store.db.insertInto('workstations').values(rows).execute();
    return rows.map((row) => row.id);
  }

  const hello = {
    type: 'hello' as const,
    protocol: 1,
    agentVersion: '0.1.0',
    hostname: 'host',
    os: 'Windows',
    ldplayer: { path: 'C:\\LDPlayer', version: '9' },
  };

  it('writes a heartbeat at most once a minute, serves the latest from memory and writes it when the workstation goes offline', async () => {
    const [id = ''] = await addWorkstations(1, 'hb');
    await fleet.workstationOnline(id, hello as never);
    const stored = async () => store.db.selectFrom('workstations').select(['last_seen_at', 'metrics']).where('id', '=', id).executeTakeFirstOrThrow();
    const onlineAt = (await stored()).last_seen_at;
    counter.reset();

    for (let i = 0; i < 50; i += 1) {
      now += 1_000;
      await fleet.workstationSeen(id);
    }
    const metrics = { cpuPercent: 12, memory: { totalMb: 16_000, usedMb: 8_000 }, disk: { totalGb: 200, freeGb: 50 } };
    await fleet.recordMetrics(id, metrics as never);
    expect(counter.count('UpdateQueryNode workstations')).toBe(0);
    expect((await stored()).last_seen_at).toBe(onlineAt);
    expect(events.filter((event) => event.type === 'workstation.metrics')).toHaveLength(1);
    const extras = (await fleet.workstationExtras([id])).get(id);
    expect(extras?.lastSeenAt).toBe(new Date(now).toISOString());
    expect(extras?.metrics).toEqual(metrics);

    now += MINUTE;
    await fleet.workstationSeen(id);
    expect(counter.count('UpdateQueryNode workstations')).toBe(1);
    expect((await stored()).last_seen_at).toBe(new Date(now).toISOString());
    expect(JSON.parse((await stored()).metrics ?? 'null')).toEqual(metrics);

    now += 5_000;
    await fleet.workstationSeen(id);
    expect(counter.count('UpdateQueryNode workstations')).toBe(1);
    await fleet.workstationOffline(id);
    expect((await stored()).last_seen_at).toBe(new Date(now).toISOString());
  });

  it('applies the inventory of many agents in a few transactions, each in order, with one event per change', async () => {
    const ids = await addWorkstations(40, 'inv');
    events.length = 0;
    counter.reset();
    // Each agent sends three messages one after another, as a session does.
    await Promise.all(
      ids.map(async (id) => {
        await fleet.applyInventory(id, { type: 'inventory', full: true, upserts: [instance(0), instance(1)], removed: [] });
        await fleet.applyInventory(id, { type: 'inventory', full: false, upserts: [instance(0, { state: 'running', booted: true, pids: { player: 10, vbox: 11 } })], removed: [] });
        await fleet.applyInventory(id, { type: 'inventory', full: false, upserts: [], removed: [{ index: 1, generation: 'g1' }] });
      }),
    );
    // 120 messages, 3 ticks' worth: one read of the rows per transaction, not one per message.
    expect(counter.count('SelectQueryNode emulators')).toBeLessThanOrEqual(6);
    const rows = await store.db.selectFrom('emulators').selectAll().where('workstation_id', 'in', ids).execute();
    expect(rows).toHaveLength(40);
    expect(rows.every((row) => row.state === 'running' && row.idx === 0)).toBe(true);
    for (const id of ids) {
      const kinds = events
        .filter((event) => (event.data as { workstationId?: string }).workstationId === id)
        .map((event) => `${event.type}:${(event.data as { index: number }).index}`);
      expect(kinds).toEqual(['emulator.created:0', 'emulator.created:1', 'emulator.state:0', 'emulator.removed:1']);
    }
  });

  it('plans messages of one workstation in the same tick on the rows the one before left', async () => {
    const [id = ''] = await addWorkstations(1, 'tick');
    events.length = 0;
    const created = fleet.applyInventory(id, { type: 'inventory', full: true, upserts: [instance(0), instance(1)], removed: [] });
    const removed = fleet.applyInventory(id, { type: 'inventory', full: true, upserts: [instance(0, { name: 'renamed' })], removed: [] });
    const [first, second] = await Promise.all([created, removed]);
    expect(first.map((change) => change.kind)).toEqual(['created', 'created']);
    expect(second.map((change) => change.kind)).toEqual(['removed', 'updated']);
    const rows = await store.db.selectFrom('emulators').selectAll().where('workstation_id', '=', id).execute();
    expect(rows.map((row) => [row.idx, row.name])).toEqual([[0, 'renamed']]);
  });

  it('fails only the message that cannot be written when its batch fails', async () => {
    const [id = ''] = await addWorkstations(1, 'ok');
    const good = fleet.applyInventory(id, { type: 'inventory', full: true, upserts: [instance(0)], removed: [] });
    const bad = fleet.applyInventory('no-such-workstation', { type: 'inventory', full: true, upserts: [instance(0)], removed: [] });
    await expect(bad).rejects.toThrow();
    expect((await good).map((change) => change.kind)).toEqual(['created']);
  });
});
