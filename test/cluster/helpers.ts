/**
 * Several `ldfleet server` processes on one fresh PostgreSQL database, agents driving the
 * simulator (each given one replica's URL, or several to fail over between), and an events
 * client per replica.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { Agent, silentLogger } from '../../src/agent/index.js';
import { LdfleetClient, subscribeEvents } from '../../src/sdk/index.js';
import type { Batch, EventSubscription, FleetStreamEvent } from '../../src/sdk/index.js';
import type { SeedInstance } from '../../src/sim/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { startServerProcess } from '../support/server-process.js';
import type { ServerProcess } from '../support/server-process.js';
import { stopChild } from '../support/processes.js';
import { createTestDatabase } from '../server/helpers.js';
import type { TestDatabase } from '../server/helpers.js';
import { eventually } from '../gateway/helpers.js';

export { eventually };
export { describePostgres } from '../server/helpers.js';

export const ADMIN_PASSWORD = 'cluster-admin-password-42';
const JWT_SECRET = 'a-jwt-secret-every-replica-shares-0123456789';

export interface Replica {
  process: ServerProcess;
  url: string;
  port: number;
  client: LdfleetClient;
  /** Every event its stream delivered, in order. */
  events: FleetStreamEvent[];
  subscription: EventSubscription;
  dataDir: string;
}

export interface ClusterWorkstation {
  id: string;
  token: string;
  home: SimHome;
  agent: Agent;
}

export interface TestCluster {
  replicas: Replica[];
  workstations: ClusterWorkstation[];
  databaseUrl: string;
  startReplica(env?: Record<string, string>): Promise<Replica>;
  kill(replica: Replica): Promise<void>;
  /** An agent for a new workstation, dialling `serverUrl`. */
  addWorkstation(name: string, serverUrl: string, seed: SeedInstance[], options?: { bootMs?: number }): Promise<ClusterWorkstation>;
  close(): Promise<void>;
}

export async function startCluster(count: number, env: Record<string, string> = {}, database?: { databaseUrl: string; dispose(): Promise<void> }): Promise<TestCluster> {
  const db: TestDatabase | { databaseUrl: string; dispose(): Promise<void> } = database ?? (await createTestDatabase('postgres'));
  const databaseUrl = db.databaseUrl ?? '';
  const replicas: Replica[] = [];
  const workstations: ClusterWorkstation[] = [];
  const dirs: string[] = [];

  const startReplica = async (extra: Record<string, string> = {}): Promise<Replica> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ldfleet-replica-'));
    dirs.push(dataDir);
    const child = await startServerProcess({
      LDFLEET_PORT: '0',
      LDFLEET_DATA_DIR: dataDir,
      LDFLEET_DATABASE_URL: databaseUrl,
      LDFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LDFLEET_JWT_SECRET: JWT_SECRET,
      LDFLEET_LAUNCH_INTERVAL_MS: '0',
      LDFLEET_MAX_CONCURRENT_BOOTS: '4',
      LDFLEET_REPLICA_HEARTBEAT_MS: '300',
      LDFLEET_REPLICA_LEASE_MS: '2000',
      ...env,
      ...extra,
    });
    const client = new LdfleetClient({ baseUrl: child.url });
    await client.login('admin', ADMIN_PASSWORD);
    const events: FleetStreamEvent[] = [];
    const subscription = subscribeEvents(client, { WebSocket: WebSocket as never, onEvent: (event) => events.push(event), initialDelayMs: 50 });
    await subscription.opened;
    const replica = { process: child, url: child.url, port: Number(new URL(child.url).port), client, events, subscription, dataDir };
    replicas.push(replica);
    return replica;
  };

  // The first one migrates the database and creates the admin; the others start together.
  await startReplica();
  await Promise.all(Array.from({ length: count - 1 }, () => startReplica()));

  return {
    replicas,
    workstations,
    databaseUrl,
    startReplica,
    async kill(replica) {
      replica.subscription.close();
      const child = replica.process;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    async addWorkstation(name, serverUrl, seed, options = {}) {
      const [first] = replicas;
      if (!first) throw new Error('no replica');
      const { workstation, enrollmentToken } = await first.client.createWorkstation({ name });
      const dir = mkdtempSync(join(tmpdir(), 'ldfleet-cluster-sim-'));
      dirs.push(dir);
      const home = SimHome.create(dir, { bootMs: options.bootMs ?? 150 });
      home.seed(seed);
      const agent = new Agent({
        serverUrl,
        token: enrollmentToken,
        ldconsolePath: SIM_BIN,
        installDir: home.dir,
        ldconsoleEnv: home.env(),
        logger: silentLogger,
        hostname: name,
        backoff: { baseMs: 100, capMs: 400 },
      });
      agent.start();
      const added = { id: workstation.id, token: enrollmentToken, home, agent };
      workstations.push(added);
      return added;
    },
    async close() {
      await Promise.allSettled(workstations.map((workstation) => workstation.agent.stop()));
      for (const replica of replicas) replica.subscription.close();
      await Promise.allSettled(replicas.map((replica) => stopChild(replica.process)));
      await db.dispose();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** The ids of a workstation's `count` emulators, once the inventory lists them all. */
export async function emulatorIds(cluster: TestCluster, workstationId: string, count: number): Promise<string[]> {
  const [replica] = cluster.replicas;
  if (!replica) throw new Error('no replica');
  return eventually(async () => {
    const page = await replica.client.request<{ items: { id: string; workstationId: string }[] }>('GET', '/emulators', { query: { limit: 100, workstation: workstationId } });
    const ids = page.items.filter((emulator) => emulator.workstationId === workstationId).map((emulator) => emulator.id);
    return ids.length === count ? ids : undefined;
  }, 30_000, `the inventory of ${workstationId}`);
}

/**
 * Submits `count` creates on the workstation (each `add` slowed to 400 ms) through `client`,
 * and returns the batch once it is half done: some succeeded, one running.
 */
export async function createsUnderway(client: LdfleetClient, workstation: ClusterWorkstation, count: number): Promise<Batch> {
  workstation.home.setFaults([{ command: 'add', delayMs: 400 }]);
  const batch = (await client.createEmulators({ name: 'made', count, workstationId: workstation.id })) as Batch;
  await eventually(async () => {
    const now = await client.getBatch(batch.id, { limit: 1 });
    return now.counts.succeeded >= 2 && now.counts.running >= 1;
  }, 60_000, 'the batch half done');
  return batch;
}
