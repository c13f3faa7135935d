/**
 * Apps and workstation references on the ops routes (issue 9 §4): the installed packages asked
 * of the agent, launching or killing a package that is not there, an install body that names
 * what it refused, and workstations given by id or by name.
 */
import { apiError } from './helpers.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../../src/sdk/index.js';
import { describeStores } from '../server/helpers.js';
import { eventually, startOpsFleet } from './helpers.js';
import type { OpsFleet } from './helpers.js';

describeStores('apps and workstation references', (kind) => {
  let fleet: OpsFleet;
  const ids: Record<string, string> = {};
  let station: string;


  beforeAll(async () => {
    fleet = await startOpsFleet(kind, [
      {
        name: 'apps-a',
        limits: { maxInstances: 10, launchIntervalMs: 0 },
        seed: [{ name: 'phone', running: true, installedApps: ['com.example.hello', 'com.example.other'] }, { name: 'idle' }],
      },
      { name: 'apps-b', seed: [{ name: 'gone-away', running: true }] },
    ]);
    station = fleet.workstations[0]?.id ?? '';
    for (const emulator of await fleet.emulators()) ids[emulator.name] = emulator.id;
  }, 90_000);
  afterAll(() => fleet?.close());

  it('lists the installed packages of a running emulator; 409 when stopped, 503 when its agent is offline', async () => {
    const { items } = await fleet.t.admin.listApps(ids.phone ?? '');
    const names = items.map((item) => item.packageName);
    expect(names).toContain('com.example.hello');
    expect(names).toContain('com.example.other');
    expect((await apiError(fleet.t.admin.listApps(ids.idle ?? ''))).status).toBe(409);
    const viewer = (await fleet.t.userWithRole('viewer')).client;
    expect((await viewer.listApps(ids.phone ?? '')).items.length).toBe(items.length);
    await fleet.workstations[1]?.agent.stop();
    await eventually(() => !fleet.t.server.gateway.isOnline(fleet.workstations[1]?.id ?? ''), 20_000, 'apps-b offline');
    const offline = await apiError(fleet.t.admin.listApps(ids['gone-away'] ?? ''));
    expect(offline.status).toBe(503);
    expect(offline.code).toBe('workstation_offline');
    expect((await apiError(fleet.t.admin.listApps('nope'))).status).toBe(404);
  }, 60_000);

  it('fails launching or killing a package that is not installed with conflict/app_not_installed', async () => {
    for (const action of ['launch', 'kill'] as const) {
      const reply = await fleet.t.admin.appAction(ids.phone ?? '', 'com.example.missing', action);
      const operation: Operation = await fleet.waitOperation(reply.id);
      expect(operation.status).toBe('failed');
      expect(operation.error).toMatchObject({ category: 'conflict', code: 'app_not_installed' });
      expect(operation.error?.message).toContain('com.example.missing');
    }
    const launched = await fleet.waitOperation((await fleet.t.admin.appAction(ids.phone ?? '', 'com.example.hello', 'launch')).id);
    expect(launched.status).toBe('succeeded');
  }, 60_000);

  it('refuses an install body with a field it does not know, naming it', async () => {
    const error = await apiError(
      fleet.t.admin.request('POST', `/emulators/${ids.phone ?? ''}/apps`, { body: { packageName: 'com.example.hello', force: true } }),
    );
    expect(error.status).toBe(400);
    expect(error.message).toContain('force');
  });

  it('takes a workstation by id or by name when creating, and says which one is unknown', async () => {
    const byName = (await fleet.t.admin.createEmulators({ name: 'named-place', workstationId: 'apps-a' })) as Operation;
    expect(byName.workstationId).toBe(station);
    expect((await fleet.waitOperation(byName.id)).status).toBe('succeeded');
    const byId = (await fleet.t.admin.createEmulators({ name: 'id-place', workstationId: station })) as Operation;
    expect(byId.workstationId).toBe(station);
    const unknown = await apiError(fleet.t.admin.createEmulators({ name: 'nowhere', workstationId: 'no-such-station' }));
    expect(unknown.status).toBe(404);
    expect(unknown.message).toContain('no-such-station');
    await fleet.waitOperation(byId.id);
  }, 60_000);
});
