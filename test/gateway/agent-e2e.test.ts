/**
 * The real agent driving the simulator as a spawned process, against a real server: inventory
 * reaches the API, changes made behind ldfleet's back reach `/events`, a killed agent makes its
 * workstation offline, and a restarted server gets its agents back by themselves.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent, silentLogger } from '../../src/agent/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { createServer, loadConfig } from '../../src/server/index.js';
import type { Server } from '../../src/server/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import { LdfleetClient } from '../../src/sdk/index.js';
import { TEST_JWT_SECRET, createTestDatabase, describeStores } from '../server/helpers.js';
import type { TestDatabase } from '../server/helpers.js';
import { EventsClient, eventually } from './helpers.js';

const run = promisify(execFile);
const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));
const HEARTBEAT_MS = 300;
const POLL_MS = 200;
const ADMIN_PASSWORD = 'e2e-admin-password-0123';

describeStores('agent end to end', (kind) => {
  let database: TestDatabase;
  let server: Server;
  let url: string;
  let admin: LdfleetClient;
  let home: SimHome;
  let agent: Agent;
  let workstationId: string;
  let token: string;

  async function startServer(port: number): Promise<void> {
    const config = loadConfig({
      env: {},
      overrides: {
        port,
        host: '127.0.0.1',
        dataDir: database.dataDir,
        databaseUrl: database.databaseUrl,
        adminPassword: ADMIN_PASSWORD,
        jwtSecret: TEST_JWT_SECRET,
        logLevel: 'silent',
      },
    });
    server = await createServer(config, {
      print: () => undefined,
      gateway: { intervals: { heartbeatMs: HEARTBEAT_MS, inventoryPollMs: POLL_MS, metricsMs: 1000 } },
    });
    url = await server.listen();
    admin = new LdfleetClient({ baseUrl: url });
    await admin.login('admin', ADMIN_PASSWORD);
  }

  const emulators = async (): Promise<Emulator[]> =>
    (await admin.request<{ items: Emulator[] }>('GET', '/emulators', { query: { workstation: workstationId } })).items;
  const sim = (...args: string[]) => run(SIM_BIN, args, { env: home.env() });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    await startServer(0);
    home = SimHome.create(mkdtempSync(join(tmpdir(), 'ldfleet-e2e-sim-')), { bootMs: 100 });
    home.seed([{ name: 'alpha' }, { name: 'beta', running: true }, { name: 'gamma' }]);
    const created = await admin.createWorkstation({ name: `e2e-${kind}`, tags: ['e2e'] });
    workstationId = created.workstation.id;
    token = created.enrollmentToken;
    agent = new Agent({
      serverUrl: url,
      token,
      ldconsolePath: SIM_BIN,
      installDir: home.dir,
      ldconsoleEnv: home.env(),
      logger: silentLogger,
      hostname: 'SIM-HOST',
      backoff: { baseMs: 50, capMs: 300 },
    });
    agent.start();
  });

  afterAll(async () => {
    await agent.stop();
    await server.close();
    await database.dispose();
  });

  it('brings the workstation online with its instances in GET /emulators', async () => {
    const listed = await eventually(async () => {
      const items = await emulators();
      return items.length === 3 && items;
    }, 15_000, 'three emulators');
    const beta = listed.find((emulator) => emulator.name === 'beta');
    expect(beta).toMatchObject({ workstationId, workstationName: `e2e-${kind}`, index: 1, state: 'running', adbSerial: 'emulator-5556' });
    expect(beta?.pids).not.toBeNull();
    expect(beta?.settings?.resolution.width).toBeGreaterThan(0);
    expect(listed.find((emulator) => emulator.name === 'alpha')).toMatchObject({ index: 0, state: 'stopped', pids: null });
    const workstation = await admin.getWorkstation(workstationId);
    expect(workstation).toMatchObject({ status: 'online', hostname: 'SIM-HOST', emulators: { total: 3, running: 1 } });
  });

  it('streams changes made behind ldfleet\'s back within a poll interval', async () => {
    const events = await EventsClient.open(url, { token: admin.currentToken ?? '', topics: 'emulator.*' });
    const [alpha] = (await emulators()).filter((emulator) => emulator.name === 'alpha');
    await sim('rename', '--index', '0', '--title', 'alpha-renamed');
    const renamedAt = Date.now();
    const renamed = await events.waitFor((event) => event.type === 'emulator.updated' && event.data.name === 'alpha-renamed');
    expect(renamed.data.id).toBe(alpha?.id);
    // Seen by the agent's own polling, not at a reconnect or resync: a poll interval plus the
    // simulator processes the agent spawns, with room for a loaded CI machine.
    expect(Date.parse(renamed.at) - renamedAt).toBeLessThan(POLL_MS + 5_000);

    await sim('launch', '--index', '2');
    const started = await events.waitFor((event) => event.type === 'emulator.state' && event.data.index === 2 && event.data.state !== 'stopped');
    expect(started.data.previousState).toBe('stopped');
    events.close();
  });

  it('gets the agent back by itself after the server restarts', async () => {
    const before = await emulators();
    const port = Number(new URL(url).port);
    await server.close();
    await startServer(port);
    await eventually(async () => (await admin.getWorkstation(workstationId)).status === 'online', 15_000, 'the agent to reconnect');
    const after = await eventually(async () => {
      const items = await emulators();
      return items.length === before.length && items;
    });
    expect(after.map((emulator) => emulator.id).sort()).toEqual(before.map((emulator) => emulator.id).sort());
  });

  it('marks the workstation offline within three heartbeats when its agent process is killed', async () => {
    await agent.stop();
    const events = await EventsClient.open(url, { token: admin.currentToken ?? '', topics: 'workstation.*' });
    await eventually(async () => (await admin.getWorkstation(workstationId)).status === 'offline');
    const child = spawn(process.execPath, [LDFLEET_BIN, 'agent', '--server', url, '--ldconsole', SIM_BIN, '--ldplayer-dir', home.dir, '--log-level', 'error'], {
      env: { ...home.env(), LDFLEET_AGENT_TOKEN: token },
      stdio: 'ignore',
    });
    try {
      await events.waitFor((event) => event.type === 'workstation.online' && event.data.id === workstationId, 15_000);
      const killedAt = Date.now();
      child.kill('SIGKILL');
      const offline = await events.waitFor((event) => event.type === 'workstation.offline' && event.data.id === workstationId, 5_000);
      expect(Date.parse(offline.at) - killedAt).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    } finally {
      child.kill('SIGKILL');
      events.close();
    }
  });
});
