/**
 * Queued operations say why they wait (issue 9 §3): an offline workstation, a boot slot, a
 * launch interval. One whose workstation stays offline past its grace fails with
 * `transport`/`workstation_offline`, and a batch with such a target still finishes for the others.
 * Time is the engine's injected clock, moved forward instead of slept through.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AnyFleetEvent } from '../../src/server/events/index.js';
import type { Batch, Operation } from '../../src/sdk/index.js';
import { describeStores } from '../server/helpers.js';
import { TestClock } from './clock.js';
import { eventually, startOpsFleet } from './helpers.js';
import type { OpsFleet } from './helpers.js';

const GRACE_MS = 120_000;

describeStores('operations waiting', (kind) => {
  let fleet: OpsFleet;
  const clock = new TestClock();
  const events: AnyFleetEvent[] = [];
  let online: string;
  let offline: string;
  let slots: string;
  let interval: string;

  const emulatorOn = async (workstationId: string, name?: string): Promise<string> => {
    const found = (await fleet.emulators(workstationId)).find((emulator) => name === undefined || emulator.name === name);
    if (!found) throw new Error(`no emulator on ${workstationId}`);
    return found.id;
  };

  beforeAll(async () => {
    fleet = await startOpsFleet(
      kind,
      [
        { name: 'wait-on', limits: { launchIntervalMs: 0 }, seed: [{ name: 'on-1' }] },
        { name: 'wait-off', seed: [{ name: 'off-1' }, { name: 'off-2' }] },
        // One boot slot and a boot long enough to be seen waiting for it.
        { name: 'wait-slots', limits: { maxConcurrentBoots: 1, launchIntervalMs: 0 }, bootMs: 4000, seed: [{ name: 'slot-1' }, { name: 'slot-2' }] },
        // Launches ten minutes apart: the second start waits for the interval until the clock moves.
        { name: 'wait-gap', limits: { maxConcurrentBoots: 4, launchIntervalMs: 600_000 }, seed: [{ name: 'gap-1' }, { name: 'gap-2' }] },
      ],
      {},
      { clock },
    );
    [online, offline, slots, interval] = fleet.workstations.map((workstation) => workstation.id) as [string, string, string, string];
    fleet.t.server.bus.subscribe((event) => events.push(event));
    const away = fleet.workstations[1];
    await away?.agent.stop();
    await eventually(async () => (await fleet.t.admin.getWorkstation(offline)).status === 'offline', 20_000, 'wait-off offline');
  }, 90_000);
  afterAll(() => fleet?.close());

  it('says an operation waits for its offline workstation, fails it after the grace, and finishes the batch for the others', async () => {
    const targets = [await emulatorOn(online), await emulatorOn(offline, 'off-1')];
    const batch = await fleet.t.admin.createBatch({ action: 'start', target: { ids: targets } });
    const children = batch.operations ?? [];
    const stuck = children.find((operation) => operation.workstationId === offline);
    const fine = children.find((operation) => operation.workstationId === online);
    if (!stuck || !fine) throw new Error('the batch lacks a child per workstation');
    // The reply may already carry the reason: the dispatcher can look at the child before the reply is read.

    const waiting = await fleet.waitOperation(stuck.id, (operation) => operation.waiting?.reason === 'workstation_offline', 20_000);
    expect(waiting.status).toBe('queued');
    expect(waiting.waiting?.message).toContain(offline);
    expect(Number.isNaN(Date.parse(waiting.waiting?.since ?? ''))).toBe(false);
    // The event stream says it too.
    expect(events.some((event) => event.type === 'operation.updated' && event.data.id === stuck.id && event.data.waiting?.reason === 'workstation_offline')).toBe(true);

    expect((await fleet.waitOperation(fine.id)).status).toBe('succeeded');
    // Within the grace the batch is not done: its offline child still waits.
    const midway = await fleet.t.admin.getBatch(batch.id);
    expect(midway.status).toBe('running');
    expect(midway.finishedAt).toBeUndefined();

    clock.advance(GRACE_MS + 1000);
    const failed = await fleet.waitOperation(stuck.id, undefined, 20_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ category: 'transport', code: 'workstation_offline' });
    expect(failed.waiting).toBeNull();
    const done = await fleet.waitBatch(batch.id);
    expect(done.status).toBe('partial');
    expect(done.counts).toMatchObject({ succeeded: 1, failed: 1 });
  }, 90_000);

  it('takes a grace per request, for an action and for a batch', async () => {
    const emulator = await emulatorOn(offline, 'off-2');
    const single = await fleet.t.admin.emulatorAction(emulator, 'start', { offlineGraceMs: 0 });
    const failed = await fleet.waitOperation(single.id, undefined, 20_000);
    expect(failed.error).toMatchObject({ category: 'transport', code: 'workstation_offline' });

    const batch = await fleet.t.admin.createBatch({ action: 'stop', target: { ids: [emulator] }, offlineGraceMs: 0 });
    const done: Batch = await fleet.waitBatch(batch.id, 20_000);
    expect(done.status).toBe('failed');
    expect(done.counts.failed).toBe(1);
  }, 60_000);

  it('says an operation waits for a boot slot, then for the launch interval', async () => {
    const slotIds = [await emulatorOn(slots, 'slot-1'), await emulatorOn(slots, 'slot-2')];
    const slotBatch = await fleet.t.admin.createBatch({ action: 'start', target: { ids: slotIds } });
    const second = (slotBatch.operations ?? [])[1];
    if (!second) throw new Error('no second child');
    const inLine = await fleet.waitOperation(second.id, (operation) => operation.waiting?.reason === 'boot_slot' || operation.status !== 'queued', 20_000);
    expect(inLine.waiting?.reason).toBe('boot_slot');
    expect(inLine.waiting?.message).toContain('boot slot');

    const gapIds = [await emulatorOn(interval, 'gap-1'), await emulatorOn(interval, 'gap-2')];
    const gapBatch = await fleet.t.admin.createBatch({ action: 'start', target: { ids: gapIds } });
    const [first, next] = (gapBatch.operations ?? []) as [Operation, Operation];
    expect((await fleet.waitOperation(first.id)).status).toBe('succeeded');
    const gapped = await fleet.waitOperation(next.id, (operation) => operation.waiting?.reason === 'launch_interval', 20_000);
    expect(gapped.status).toBe('queued');
    // The agent keeps the interval too, on its own (real) clock, right before it launches: with
    // the limit lifted, moving the engine's clock past the old interval lets the start through.
    await fleet.t.admin.updateWorkstation(interval, { limits: { maxConcurrentBoots: 4, launchIntervalMs: 0 } });
    clock.advance(600_000);
    expect((await fleet.waitOperation(next.id)).status).toBe('succeeded');
    expect((await fleet.waitBatch(slotBatch.id)).status).toBe('succeeded');
  }, 90_000);
});
