/**
 * Boot failures a farm meets (issue 15) end to end: API → engine → gateway → the real agent →
 * the spawned simulator with each failure mode switched on for its home.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/server/fleet/index.js';
import type { LdfleetClient, Operation } from '../../src/sdk/index.js';
import { eventually, startOpsFleet, type OpsFleet } from './helpers.js';

const LAUNCH_INTERVAL_MS = 600;

describe('boot fidelity end to end', () => {
  let fleet: OpsFleet;
  let operator: LdfleetClient;

  beforeAll(async () => {
    fleet = await startOpsFleet(
      'sqlite',
      [
        { name: 'boot-a', limits: { maxConcurrentBoots: 4, launchIntervalMs: LAUNCH_INTERVAL_MS }, seed: [{ name: 'a0' }, { name: 'a1' }, { name: 'a2' }] },
        { name: 'boot-b', seed: [{ name: 'hangs' }] },
      ],
      // One attempt: a boot_timeout must show as the operation's own outcome, not be retried away.
      { bootTimeoutMs: 4_000, retryMaxAttempts: 1 },
    );
    operator = (await fleet.t.userWithRole('operator')).client;
  }, 60_000);
  afterAll(() => fleet?.close());

  const byName = async (name: string): Promise<Emulator> => {
    const found = (await fleet.emulators()).find((emulator) => emulator.name === name);
    if (!found) throw new Error(`no emulator named ${name}`);
    return found;
  };
  const finished = (operation: Operation) => fleet.waitOperation(operation.id, undefined, 60_000);
  const station = (name: string) => {
    const found = fleet.workstations.find((workstation) => workstation.name === name);
    if (!found) throw new Error(`no workstation ${name}`);
    return found;
  };

  it('a create on a home whose new instances have ADB off, then a start, succeeds', async () => {
    const a = station('boot-a');
    a.home.setModes({ adbDefault: 0 });
    const created = await finished((await operator.createEmulators({ name: 'fresh', workstationId: a.id })) as Operation);
    expect(created.status, JSON.stringify(created.error)).toBe('succeeded');
    const fresh = await byName('fresh');
    const started = await finished(await operator.emulatorAction(fresh.id, 'start'));
    expect(started.status, JSON.stringify(started.error)).toBe('succeeded');
    expect(started.result).toMatchObject({ state: 'running', booted: true });
    a.home.setModes({ adbDefault: 1 });
  });

  it('dropped launches are retried and the starts succeed, never two launches closer than the interval', async () => {
    const a = station('boot-a');
    a.home.setFaults([{ command: 'launch', output: '', exitCode: 0, times: 2 }]);
    const targets = await Promise.all(['a0', 'a1', 'a2'].map(byName));
    const operations = await Promise.all(targets.map(async (emulator) => finished(await operator.emulatorAction(emulator.id, 'start'))));
    for (const operation of operations) expect(operation.status, JSON.stringify(operation.error)).toBe('succeeded');
    const launches = a.home.calls().filter((call) => call.command === 'launch').sort((x, y) => x.start - y.start);
    // 3 starts here, 2 of their launches dropped, plus the earlier test's start.
    expect(launches.length).toBe(6);
    for (let i = 1; i < launches.length; i++) expect(launches[i]!.start - launches[i - 1]!.start).toBeGreaterThanOrEqual(LAUNCH_INTERVAL_MS);
  });

  it('a hung boot ends in boot_timeout with the instance stopped', async () => {
    const b = station('boot-b');
    const hangs = await byName('hangs');
    b.home.setModes({ hangBoot: [hangs.index] });
    const operation = await finished(await operator.emulatorAction(hangs.id, 'start'));
    expect(operation.status).toBe('failed');
    expect(operation.error).toMatchObject({ category: 'timeout', code: 'boot_timeout' });
    expect(operation.error?.message).toMatch(/window up/);
    expect(operation.error?.message).toMatch(/quit/);
    const calls = station('boot-b').home.calls();
    expect(calls.filter((call) => call.command === 'quit' && call.index === hangs.index)).toHaveLength(1);
    await eventually(async () => (await fleet.t.admin.request<Emulator>('GET', `/emulators/${hangs.id}`)).state === 'stopped', 10_000, 'stopped');
  });
});
