/**
 * The agent never hides what LDPlayer shows (issue 9 §2), end to end through the real server,
 * the real agent and the spawned simulator: an install dir without `vms/config` is a warning and
 * a `degraded` workstation, yet every instance list2 lists reaches the inventory; list2 failing,
 * a nearly full disk and a persistent adb fight make the workstation `degraded` too, in the API,
 * in `workstation.*` events and in `/metrics`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentOptions } from '../../src/agent/index.js';
import type { AgentLogger } from '../../src/agent/index.js';
import type { AnyFleetEvent } from '../../src/server/events/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { eventually } from '../gateway/helpers.js';
import { startTestServer, type TestServer } from '../server/helpers.js';

interface Workstation {
  id: string;
  status: string;
  statusReason: string | null;
  statusMessage: string | null;
}

const INTERVALS = { heartbeatMs: 300, inventoryPollMs: 150, metricsMs: 300 };

describe('agent visibility and degraded status', () => {
  let t: TestServer;
  const events: AnyFleetEvent[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    t = await startTestServer('sqlite', {}, { gateway: { intervals: INTERVALS } });
    t.server.bus.subscribe((event) => events.push(event));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => t?.close());

  function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
    return dir;
  }

  async function startAgent(name: string, home: SimHome, overrides: Partial<AgentOptions> = {}) {
    const created = await t.admin.createWorkstation({ name });
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const logger: AgentLogger = {
      debug: () => undefined,
      info: (fields, message) => lines.push({ level: 'info', fields, message }),
      warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
      error: (fields, message) => lines.push({ level: 'error', fields, message }),
    };
    const agent = new Agent({
      serverUrl: t.url,
      token: created.enrollmentToken,
      ldconsolePath: SIM_BIN,
      installDir: home.dir,
      ldconsoleEnv: home.env(),
      logger,
      hostname: name,
      backoff: { baseMs: 100, capMs: 500 },
      ...overrides,
    });
    agent.start();
    cleanups.push(() => agent.stop());
    return { id: created.workstation.id, agent, lines };
  }

  const workstation = (id: string) => t.admin.request<Workstation>('GET', `/workstations/${id}`);
  const emulators = (id: string) => t.admin.all<Emulator>((page) => t.admin.request('GET', '/emulators', { query: { ...page, workstation: id } }));
  const metricsText = async () => (await fetch(`${t.url}/metrics`)).text();
  const degradedWith = (id: string, reason: string) =>
    eventually(async () => {
      const current = await workstation(id);
      return current.status === 'degraded' && current.statusReason === reason ? current : undefined;
    }, 20_000, `${id} degraded with ${reason}`);

  it('an install dir without vms/config: a warning naming the folder and the flag, every list2 instance listed, degraded', async () => {
    const home = SimHome.create(tempDir('ldfleet-vis-home-'));
    home.seed([{ name: 'alpha' }, { name: 'beta', running: true }]);
    const elsewhere = tempDir('ldfleet-vis-wrong-');
    const { id, lines } = await startAgent('wrong-dir', home, { installDir: elsewhere });

    const listed = await eventually(async () => {
      const items = await emulators(id);
      return items.length === 2 ? items : undefined;
    }, 20_000, 'both instances listed');
    const beta = listed.find((emulator) => emulator.index === 1);
    expect(beta).toMatchObject({ name: 'beta', state: 'running', settings: null });
    expect(beta?.problem).toContain(join(elsewhere, 'vms', 'config', 'leidian1.config'));

    const warning = lines.find((line) => line.level === 'warn' && line.message.includes('vms/config'));
    expect(String(warning?.fields.problem)).toContain(join(elsewhere, 'vms', 'config'));
    expect(String(warning?.fields.problem)).toContain('--ldplayer-dir');

    const degraded = await degradedWith(id, 'install_dir_unreadable');
    expect(degraded.statusMessage).toContain('--ldplayer-dir');
    const event = events.find((candidate) => candidate.type === 'workstation.degraded' && candidate.data.id === id);
    expect(event?.data).toMatchObject({ status: 'degraded', statusReason: 'install_dir_unreadable' });
    // Eventually: on a loaded machine a missed heartbeat may drop the session for a moment.
    await eventually(async () => (await metricsText()).includes(`ldfleet_workstation_status{workstation="${id}",status="degraded",reason="install_dir_unreadable"} 1`), 20_000, 'the degraded series');

    // The generation stays put while the index stays listed: no remove/create churn poll after poll.
    const before = listed.map((emulator) => emulator.id).sort();
    const seen = events.length;
    await eventually(() => events.slice(seen).some((candidate) => candidate.type === 'workstation.metrics' && candidate.data.workstationId === id), 10_000, 'more polls');
    expect((await emulators(id)).map((emulator) => emulator.id).sort()).toEqual(before);
    expect(events.slice(seen).some((candidate) => candidate.type === 'emulator.removed' || candidate.type === 'emulator.created')).toBe(false);
  });

  it('list2 failing poll after poll makes the workstation degraded, and it recovers when list2 works again', async () => {
    const home = SimHome.create(tempDir('ldfleet-vis-list2-'));
    home.seed([{}]);
    const { id } = await startAgent('list2-fails', home);
    await eventually(async () => (await workstation(id)).status === 'online' && (await emulators(id)).length === 1, 20_000, 'online');
    home.setFaults([{ command: 'list2', output: 'dnplayer Command Line Management Interface\r\n', exitCode: 0 }]);
    const degraded = await degradedWith(id, 'list2_failing');
    expect(degraded.statusMessage).toMatch(/list2 failed \d+ times in a row/);
    home.clearFaults();
    await eventually(async () => {
      const current = await workstation(id);
      return current.status === 'online' && current.statusReason === null && current.statusMessage === null;
    }, 20_000, 'online again');
    expect(events.some((event) => event.type === 'workstation.online' && event.data.id === id && event.data.statusReason === null)).toBe(true);
    await eventually(async () => (await metricsText()).includes(`ldfleet_workstation_status{workstation="${id}",status="online",reason=""} 1`), 20_000, 'the online series');
  });

  it('a nearly full disk makes the workstation degraded with disk_low', async () => {
    const home = SimHome.create(tempDir('ldfleet-vis-disk-'));
    // The floor above any real volume: whatever this machine has free is "nearly full".
    const { id } = await startAgent('disk-low', home, { health: { diskLowBytes: Number.MAX_SAFE_INTEGER } });
    const degraded = await degradedWith(id, 'disk_low');
    expect(degraded.statusMessage).toMatch(/GiB free/);
  });

  it('a persistent adb fight fails the shell adb_conflict and makes the workstation degraded', async () => {
    const home = SimHome.create(tempDir('ldfleet-vis-adb-'), { bootMs: 100 });
    home.seed([{ name: 'fighter', running: true }]);
    const { id } = await startAgent('adb-fight', home);
    const [emulator] = await eventually(async () => {
      const items = await emulators(id);
      return items.length === 1 ? items : undefined;
    }, 20_000, 'inventory');
    home.setModes({ adbFight: 'persistent' });
    const operator = (await t.userWithRole('operator')).client;
    const operation = await operator.shell(emulator!.id, 'echo hi');
    const done = await eventually(async () => {
      const current = await t.admin.getOperation(operation.id);
      return current.status === 'failed' || current.status === 'succeeded' ? current : undefined;
    }, 30_000, 'shell finished');
    expect(done.error).toMatchObject({ category: 'ldconsole', code: 'adb_conflict' });
    const degraded = await degradedWith(id, 'adb_conflict');
    expect(degraded.statusMessage).toMatch(/one adb on the PATH/);
  });
});
