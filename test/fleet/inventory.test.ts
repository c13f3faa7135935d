/** The inventory: identity rules as pure data, and the list API over thousands of emulators. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planInventory } from '../../src/server/fleet/index.js';
import type { Emulator, EmulatorsTable } from '../../src/server/fleet/index.js';
import type { InventoryMessage, ObservedInstance } from '../../src/protocol/index.js';
import { describeStores, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { FakeAgent, eventually, instance } from '../gateway/helpers.js';

let counter = 0;
const context = { workstationId: 'w1', now: '2026-01-01T00:00:00.000Z', newId: () => `id-${++counter}` };

/** Applies a plan to rows the way the store does. */
function applyPlan(rows: EmulatorsTable[], message: InventoryMessage): EmulatorsTable[] {
  const plan = planInventory(rows, message, context);
  const removed = new Set(plan.removals.map((row) => row.id));
  const byId = new Map(rows.filter((row) => !removed.has(row.id)).map((row) => [row.id, row]));
  for (const row of plan.writes) byId.set(row.id, row);
  return [...byId.values()];
}

describe('planInventory', () => {
  it('keeps ids for the same (index, generation) and makes a new one for a reused index', () => {
    const rows = applyPlan([], { type: 'inventory', full: true, upserts: [instance(0), instance(1)], removed: [] });
    const plan = planInventory(rows, { type: 'inventory', full: false, upserts: [instance(1, { generation: 'new' })], removed: [] }, context);
    expect(plan.removals.map((row) => row.idx)).toEqual([1]);
    expect(plan.changes.map((change) => change.kind)).toEqual(['removed', 'created']);
    const unchanged = planInventory(rows, { type: 'inventory', full: true, upserts: [instance(0), instance(1)], removed: [] }, context);
    expect(unchanged.changes).toEqual([]);
    expect(unchanged.writes).toEqual([]);
  });

  it('any sequence of messages leaves exactly what the agent last described', () => {
    const observed = fc.record({
      index: fc.integer({ min: 0, max: 5 }),
      generation: fc.constantFrom('a', 'b'),
      name: fc.constantFrom('x', 'y'),
      state: fc.constantFrom('stopped' as const, 'running' as const),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.array(observed, { maxLength: 8 })), { maxLength: 12 }), (messages) => {
        let rows: EmulatorsTable[] = [];
        let model = new Map<number, ObservedInstance>();
        for (const [full, specs] of messages) {
          const upserts = specs.map((spec) => instance(spec.index, spec));
          const next = new Map(full ? [] : model);
          const removed: Array<{ index: number; generation: string }> = [];
          for (const item of upserts) {
            const before = next.get(item.index);
            if (before && before.generation !== item.generation) removed.push({ index: item.index, generation: before.generation });
            next.set(item.index, item);
          }
          rows = applyPlan(rows, { type: 'inventory', full, upserts, removed });
          model = next;
        }
        const described = [...model.values()].map((item) => `${item.index}/${item.generation}/${item.name}/${item.state}`).sort();
        expect(rows.map((row) => `${row.idx}/${row.generation}/${row.name}/${row.state}`).sort()).toEqual(described);
      }),
    );
  });
});

describeStores('emulator list', (kind) => {
  let t: TestServer;
  const agents: FakeAgent[] = [];
  const WORKSTATIONS = 6;
  const PER_WORKSTATION = 500;
  let firstWorkstation = '';

  beforeAll(async () => {
    t = await startTestServer(kind);
    for (let w = 0; w < WORKSTATIONS; w++) {
      const { workstation, enrollmentToken } = await t.admin.createWorkstation({ name: `farm-${w}`, tags: w % 2 === 0 ? ['even'] : ['odd'] });
      if (w === 0) firstWorkstation = workstation.id;
      const agent = await FakeAgent.connect(t.url, enrollmentToken);
      agents.push(agent);
      await agent.hello(`HOST-${w}`);
      const upserts = Array.from({ length: PER_WORKSTATION }, (_, i) =>
        instance(i, { name: i % 10 === 0 ? `Bot_${w}_${i}` : `player-${w}-${i}`, state: i % 4 === 0 ? 'running' : 'stopped' }),
      );
      agent.inventory(upserts, { full: true });
    }
    await eventually(async () => (await list({ limit: 1 })).total === WORKSTATIONS * PER_WORKSTATION, 30_000, 'the seeded emulators');
  }, 120_000);
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await t.close();
  });

  function list(query: Record<string, string | number>) {
    return t.admin.request<{ items: Emulator[]; nextCursor: string | null; total: number }>('GET', '/emulators', { query });
  }

  async function allPages(query: Record<string, string | number>): Promise<Emulator[]> {
    const items: Emulator[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const result = await list({ ...query, ...(cursor ? { cursor } : {}) });
      items.push(...result.items);
      if (result.nextCursor === null) return items;
      cursor = result.nextCursor;
    }
    throw new Error('too many pages');
  }

  it('pages through every emulator exactly once', async () => {
    const items = await allPages({ limit: 700 });
    expect(items).toHaveLength(WORKSTATIONS * PER_WORKSTATION);
    expect(new Set(items.map((item) => item.id)).size).toBe(items.length);
  });

  it('filters by workstation, state, name substring and workstation tag, with matching totals', async () => {
    const byWorkstation = await allPages({ workstation: firstWorkstation, limit: 200 });
    expect(byWorkstation).toHaveLength(PER_WORKSTATION);
    expect(byWorkstation.every((item) => item.workstationId === firstWorkstation && item.workstationName === 'farm-0')).toBe(true);
    expect((await list({ workstation: 'farm-0', limit: 1 })).total).toBe(PER_WORKSTATION);

    const running = await list({ state: 'running', limit: 1000 });
    expect(running.total).toBe(WORKSTATIONS * (PER_WORKSTATION / 4));
    expect(running.items.every((item) => item.state === 'running')).toBe(true);

    const bots = await allPages({ q: 'bot_', limit: 50 });
    expect(bots).toHaveLength(WORKSTATIONS * (PER_WORKSTATION / 10));
    expect(bots.every((item) => item.name.startsWith('Bot_'))).toBe(true);
    expect((await list({ q: '%', limit: 1 })).total).toBe(0);

    const evenRunning = await list({ tag: 'even', state: 'running', limit: 1000 });
    expect(evenRunning.total).toBe((WORKSTATIONS / 2) * (PER_WORKSTATION / 4));
    expect((await list({ tag: 'none', limit: 10 })).total).toBe(0);
  });

  it('answers 404 for an unknown emulator and 400 for a forged cursor', async () => {
    await expect(t.admin.request('GET', '/emulators/nope')).rejects.toMatchObject({ status: 404 });
    await expect(list({ cursor: 'forged', limit: 10 })).rejects.toMatchObject({ status: 400 });
  });
});
