/**
 * `ldfleet agent` as the README runs it against the simulator: `--ldconsole ldconsole-sim` with
 * `LDFLEET_SIM_HOME` and no `--ldplayer-dir` finds the same home (every instance with its
 * settings), and SIGINT or SIGTERM during a hung ldconsole call ends the process within 5 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateLdPlayer } from '../../src/agent/index.js';
import { LocalExecutor } from '../../src/exec/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { eventually } from '../gateway/helpers.js';
import { startTestServer, type TestServer } from '../server/helpers.js';

const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

/** Child pids of `pid` whose command line contains `text` (Linux /proc). */
function childrenRunning(pid: number, text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(text)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('ldfleet agent on the simulator', () => {
  let t: TestServer;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await startTestServer('sqlite', {}, { gateway: { intervals: { heartbeatMs: 300, inventoryPollMs: 200, metricsMs: 5_000 } } });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await t?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  it('locateLdPlayer takes the simulator home from LDFLEET_SIM_HOME, and an explicit --ldplayer-dir still wins', async () => {
    const executor = new LocalExecutor();
    expect((await locateLdPlayer({ executor, ldconsole: SIM_BIN, env: { LDFLEET_SIM_HOME: '/farm/sim-home' } })).installDir).toBe('/farm/sim-home');
    expect((await locateLdPlayer({ executor, ldconsole: SIM_BIN, ldplayerDir: '/elsewhere', env: { LDFLEET_SIM_HOME: '/farm/sim-home' } })).installDir).toBe('/elsewhere');
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`finds the home without a second flag, and exits within 5 s of ${signal} during a hung list2`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ldfleet-cli-agent-'));
      dirs.push(dir);
      const home = SimHome.create(dir);
      home.seed([{ name: 'one', settings: { 'advancedSettings.cpuCount': 3 } }, { name: 'two' }]);
      const created = await t.admin.createWorkstation({ name: `cli-${signal}` });
      const id = created.workstation.id;
      const child = spawn(process.execPath, [LDFLEET_BIN, 'agent', '--server', t.url, '--ldconsole', SIM_BIN, '--log-level', 'error'], {
        env: { ...home.env(), LDFLEET_AGENT_TOKEN: created.enrollmentToken },
        stdio: 'ignore',
      });
      children.push(child);
      const listed = await eventually(async () => {
        const items = await t.admin.all<Emulator>((page) => t.admin.request('GET', '/emulators', { query: { ...page, workstation: id } }));
        return items.length === 2 ? items : undefined;
      }, 20_000, 'both instances');
      expect(listed.find((emulator) => emulator.name === 'one')?.settings?.cpu).toBe(3);

      home.setFaults([{ command: 'list2', hang: true }]);
      await eventually(() => childrenRunning(child.pid!, 'list2').length > 0, 10_000, 'a hung list2');
      const signalledAt = Date.now();
      child.kill(signal);
      await exited(child);
      expect(Date.now() - signalledAt).toBeLessThan(5_000);
      home.clearFaults();
    });
  }
});
