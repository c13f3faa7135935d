/**
 * A small fleet for the operation engine's tests: a real server on a random port, one in-process
 * agent per workstation driving the simulator (spawned as a process for every ldconsole call),
 * and waiting with deadlines rather than sleeps.
 */
import { ApiError } from '../../src/sdk/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, silentLogger } from '../../src/agent/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import type { Config, ServerOptions } from '../../src/server/index.js';
import type { Batch, Operation, WorkstationLimits } from '../../src/sdk/index.js';
import type { SeedInstance } from '../../src/sim/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { settleSimProcesses } from '../support/processes.js';
import { eventually } from '../gateway/helpers.js';
import { startTestServer } from '../server/helpers.js';
import type { StoreKind, TestServer } from '../server/helpers.js';

export { eventually };

export const FAST_INTERVALS = { heartbeatMs: 300, inventoryPollMs: 200, metricsMs: 5000 };

export interface WorkstationSpec {
  name: string;
  limits?: WorkstationLimits;
  seed?: SeedInstance[];
  bootMs?: number;
}

export interface FleetWorkstation {
  id: string;
  name: string;
  token: string;
  home: SimHome;
  agent: Agent;
}

export interface OpsFleet {
  t: TestServer;
  workstations: FleetWorkstation[];
  emulators(workstationId?: string): Promise<Emulator[]>;
  /** Polls until the operation is final (or `until` holds), failing at the deadline. */
  waitOperation(id: string, until?: (operation: Operation) => boolean, timeoutMs?: number): Promise<Operation>;
  waitBatch(id: string, timeoutMs?: number): Promise<Batch>;
  startAgent(workstation: FleetWorkstation): Agent;
  close(): Promise<void>;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export async function startOpsFleet(
  kind: StoreKind,
  specs: readonly WorkstationSpec[],
  settings: Partial<Config> = {},
  options: ServerOptions = {},
): Promise<OpsFleet> {
  const t = await startTestServer(kind, settings, {
    gateway: { intervals: FAST_INTERVALS },
    ...options,
    operations: { sweepIntervalMs: 200, ...options.operations },
  });
  const homes: string[] = [];
  const workstations: FleetWorkstation[] = [];
  const startAgent = (workstation: Omit<FleetWorkstation, 'agent'>): Agent => {
    const agent = new Agent({
      serverUrl: t.url,
      token: workstation.token,
      ldconsolePath: SIM_BIN,
      installDir: workstation.home.dir,
      ldconsoleEnv: workstation.home.env(),
      logger: silentLogger,
      hostname: workstation.name,
      backoff: { baseMs: 100, capMs: 500 },
    });
    agent.start();
    return agent;
  };
  for (const spec of specs) {
    const created = await t.admin.createWorkstation({ name: spec.name, ...(spec.limits ? { limits: spec.limits } : {}) });
    const dir = mkdtempSync(join(tmpdir(), `ldfleet-ops-${spec.name}-`));
    homes.push(dir);
    const home = SimHome.create(dir, { bootMs: spec.bootMs ?? 150 });
    if (spec.seed) home.seed(spec.seed);
    const base = { id: created.workstation.id, name: spec.name, token: created.enrollmentToken, home };
    workstations.push({ ...base, agent: startAgent(base) });
  }
  const emulators = async (workstationId?: string): Promise<Emulator[]> =>
    t.admin.all((page) => t.admin.request('GET', '/emulators', { query: { ...page, workstation: workstationId } }));
  for (const [i, workstation] of workstations.entries()) {
    const expected = specs[i]?.seed?.length ?? 0;
    await eventually(
      async () => t.server.gateway.isOnline(workstation.id) && (await emulators(workstation.id)).length === expected,
      20_000,
      `workstation ${workstation.name} online with its inventory`,
    );
  }
  return {
    t,
    workstations,
    emulators,
    waitOperation: (id, until = (operation) => FINAL.has(operation.status), timeoutMs = 30_000) =>
      eventually(async () => {
        const operation = await t.admin.getOperation(id);
        return until(operation) ? operation : undefined;
      }, timeoutMs, `operation ${id}`),
    waitBatch: (id, timeoutMs = 60_000) =>
      eventually(async () => {
        const batch = await t.admin.getBatch(id, { limit: 1 });
        return batch.counts.queued + batch.counts.running === 0 && batch.finishedAt !== undefined ? batch : undefined;
      }, timeoutMs, `batch ${id}`),
    startAgent: (workstation) => startAgent(workstation),
    async close() {
      await Promise.all(workstations.map((workstation) => workstation.agent.stop()));
      await t.close();
      // A boot probe the agent started may still be writing into its home for a moment.
      for (const dir of homes) {
        await settleSimProcesses(dir);
        rmSync(dir, { recursive: true, force: true, maxRetries: 50, retryDelay: 100 });
      }
    },
  };
}

/** Commands that change an instance's state (reads such as list2 and adb are left out). */
export const MUTATING_COMMANDS = new Set([
  'add', 'copy', 'remove', 'rename', 'modify', 'launch', 'launchex', 'quit', 'quitall', 'reboot',
  'installapp', 'uninstallapp', 'runapp', 'killapp',
]);

/** The ApiError a request failed with; throws when it did not fail that way. */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an API error, got ${String(error)}`);
  return error;
}
