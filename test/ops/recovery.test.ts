/**
 * The server process is killed (SIGKILL) in the middle of a batch and started again on the same
 * store: operations that were running are resumed with their rpc ids, which the (still running)
 * agent joins or replays, so each operation ends exactly once and no instance is created twice.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, silentLogger } from '../../src/agent/index.js';
import { LdfleetClient } from '../../src/sdk/index.js';
import type { Batch, Operation } from '../../src/sdk/index.js';
import { startServerProcess } from '../support/server-process.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { eventually } from './helpers.js';
import { freePort } from '../support/ports.js';

const ADMIN_PASSWORD = 'recovery-admin-password-42';
const CREATES = 10;

describe('recovery after the server is killed', () => {
  let dataDir: string;
  let homeDir: string;
  let home: SimHome;
  let port: number;
  let server: ChildProcess | undefined;
  let agent: Agent | undefined;
  let client: LdfleetClient;

  async function startServer(): Promise<void> {
    server = await startServerProcess({
      LDFLEET_PORT: String(port),
      LDFLEET_DATA_DIR: dataDir,
      LDFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LDFLEET_LAUNCH_INTERVAL_MS: '0',
      LDFLEET_MAX_CONCURRENT_BOOTS: '4',
    });
    client = new LdfleetClient({ baseUrl: `http://127.0.0.1:${port}` });
    await client.login('admin', ADMIN_PASSWORD);
  }

  async function killServer(): Promise<void> {
    const child = server;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ldfleet-recovery-data-'));
    homeDir = mkdtempSync(join(tmpdir(), 'ldfleet-recovery-sim-'));
    // Slow mutations, so the kill lands while creates are still running.
    home = SimHome.create(homeDir, { bootMs: 300 });
    home.seed(Array.from({ length: 6 }, (_, i) => ({ name: `seeded-${i}` })));
    home.setFaults([{ command: 'add', delayMs: 400 }, { command: 'launch', delayMs: 300 }]);
    port = await freePort();
    await startServer();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await killServer();
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    rmSync(homeDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  it('ends every operation exactly once, without duplicate instances', async () => {
    const { workstation, enrollmentToken } = await client.createWorkstation({ name: 'recovery-ws' });
    agent = new Agent({
      serverUrl: `http://127.0.0.1:${port}`,
      token: enrollmentToken,
      ldconsolePath: SIM_BIN,
      installDir: home.dir,
      ldconsoleEnv: home.env(),
      logger: silentLogger,
      backoff: { baseMs: 100, capMs: 400 },
    });
    agent.start();
    await eventually(async () => (await client.getWorkstation(workstation.id)).status === 'online', 20_000, 'agent online');
    await eventually(async () => (await client.request<{ total: number }>('GET', '/emulators', { query: { limit: 1 } })).total === 6, 20_000, 'inventory');

    const creates = (await client.createEmulators({ name: 'made', count: CREATES, workstationId: workstation.id })) as Batch;
    const seeded = (await client.request<{ items: { id: string }[] }>('GET', '/emulators', { query: { limit: 100 } })).items;
    const starts = await client.createBatch({ action: 'start', target: { ids: seeded.map((emulator) => emulator.id) } });

    // Kill while some creates are done and one is running.
    await eventually(async () => {
      const batch = await client.getBatch(creates.id, { limit: 1 });
      return batch.counts.succeeded >= 2 && batch.counts.running >= 1;
    }, 30_000, 'the batch half done');
    await killServer();
    await startServer();

    const wait = (id: string) =>
      eventually(async () => {
        const batch = await client.getBatch(id, { limit: 1 });
        return batch.finishedAt !== undefined ? batch : undefined;
      }, 60_000, `batch ${id} finished`);
    const [createsDone, startsDone] = [await wait(creates.id), await wait(starts.id)];
    expect(createsDone.counts).toMatchObject({ succeeded: CREATES, failed: 0, queued: 0, running: 0 });
    expect(startsDone.counts).toMatchObject({ succeeded: 6, failed: 0 });

    // Exactly one `add` per create, and one instance per name.
    const adds = home.calls().filter((call) => call.command === 'add');
    expect(adds).toHaveLength(CREATES);
    const children = await client.all((page) => client.listOperations({ ...page, batch: creates.id }));
    const createdIds = children.map((operation: Operation) => (operation.result as { emulatorId: string }).emulatorId);
    expect(new Set(createdIds).size).toBe(CREATES);
    await eventually(async () => {
      const names = (await client.request<{ items: { name: string }[] }>('GET', '/emulators', { query: { limit: 100, q: 'made-' } })).items.map((emulator) => emulator.name);
      return names.length === CREATES && new Set(names).size === CREATES;
    }, 10_000, 'one instance per name');
  }, 150_000);
});
