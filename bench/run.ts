/**
 * `npm run bench`: a batch start of every instance of a simulated fleet, against the minimum
 * wall time the per-workstation limits allow; the latency of a large emulator list while the
 * batch runs; the server's peak RSS. The server runs as its own process (`bin/ldfleet server`),
 * the agents in this one, each driving its own simulator home.
 *
 * Settings (environment): BENCH_WORKSTATIONS (20), BENCH_INSTANCES (50 per workstation),
 * BENCH_BOOT_MS (200), BENCH_K (4), BENCH_LAUNCH_INTERVAL_MS (100), BENCH_TIMEOUT_S (900).
 * Prints a table and writes bench/results.json. Stops by itself and removes what it created.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, silentLogger } from '../src/agent/index.js';
import { LdfleetClient } from '../src/sdk/index.js';
import type { Batch } from '../src/sdk/index.js';
import { SIM_BIN, SimHome } from '../src/sim/index.js';
import { startServerProcess } from '../test/support/server-process.js';
import { failureBreakdown } from './support/batches.js';
import { freePort, intFromEnv, minimumStartWallMs, percentile, round, sleep, until } from './support/util.js';

const settings = {
  workstations: intFromEnv('BENCH_WORKSTATIONS', 20),
  instancesPerWorkstation: intFromEnv('BENCH_INSTANCES', 50),
  bootMs: intFromEnv('BENCH_BOOT_MS', 200),
  maxConcurrentBoots: intFromEnv('BENCH_K', 4),
  launchIntervalMs: intFromEnv('BENCH_LAUNCH_INTERVAL_MS', 100),
  timeoutS: intFromEnv('BENCH_TIMEOUT_S', 900),
};
const RESULTS_FILE = fileURLToPath(new URL('./results.json', import.meta.url));
const ADMIN_PASSWORD = 'bench-admin-password-0123';
const LIST_LIMIT = 500;
const MAX_LIST_SAMPLES = 2000;

interface Resources {
  dirs: string[];
  agents: Agent[];
  server?: ChildProcess;
}

async function main(): Promise<void> {
  const resources: Resources = { dirs: [], agents: [] };
  const deadline = setTimeout(() => {
    process.stderr.write(`bench: no result within ${settings.timeoutS} s; stopping\n`);
    void cleanUp(resources).finally(() => process.exit(2));
  }, settings.timeoutS * 1000);
  deadline.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanUp(resources).finally(() => process.exit(130)));
  }
  try {
    const results = await run(resources);
    printTable(results);
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`written to ${RESULTS_FILE}\n`);
  } finally {
    clearTimeout(deadline);
    await cleanUp(resources);
  }
}

async function run(resources: Resources) {
  const total = settings.workstations * settings.instancesPerWorkstation;
  const port = await freePort();
  const dataDir = tempDir(resources, 'ldfleet-bench-data-');
  const server = await startServer(port, dataDir);
  resources.server = server;
  const baseUrl = `http://127.0.0.1:${port}`;
  const admin = new LdfleetClient({ baseUrl });
  await admin.login('admin', ADMIN_PASSWORD);

  const limits = { maxConcurrentBoots: settings.maxConcurrentBoots, launchIntervalMs: settings.launchIntervalMs };
  for (let w = 0; w < settings.workstations; w += 1) {
    const home = SimHome.create(tempDir(resources, `ldfleet-bench-ws${w}-`), { bootMs: settings.bootMs });
    home.seed(Array.from({ length: settings.instancesPerWorkstation }, (_, i) => ({ name: `ws${w}-${i}` })));
    const { enrollmentToken } = await admin.createWorkstation({ name: `bench-${w}`, limits });
    const agent = new Agent({
      serverUrl: baseUrl,
      token: enrollmentToken,
      ldconsolePath: SIM_BIN,
      installDir: home.dir,
      ldconsoleEnv: home.env(),
      logger: silentLogger,
      hostname: `BENCH-${w}`,
    });
    agent.start();
    resources.agents.push(agent);
  }
  await until(async () => (await admin.request<{ total: number }>('GET', '/emulators', { query: { limit: 1 } })).total === total, 120_000, 'inventory of every workstation');
  process.stdout.write(`fleet ready: ${settings.workstations} workstations × ${settings.instancesPerWorkstation} instances\n`);

  const ids = await admin.all((page) => admin.request<{ items: { id: string }[]; nextCursor: string | null; total: number }>('GET', '/emulators', { query: { ...page } }), 1000);
  const rssPeak = { bytes: 0 };
  const sampler = setInterval(() => (rssPeak.bytes = Math.max(rssPeak.bytes, rssOf(server.pid))), 200);
  const started = performance.now();
  const batch = await admin.createBatch({ action: 'start', target: { ids: ids.map((emulator) => emulator.id) } });
  const latencies = await measureListWhile(admin, () => isFinished(admin, batch.id));
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  const done = await admin.getBatch(batch.id, { limit: 1 });
  rssPeak.bytes = Math.max(rssPeak.bytes, peakRssOf(server.pid));

  const failures = await failureBreakdown(admin, batch.id);
  const minimumMs = minimumWallMs();
  return {
    settings,
    instances: total,
    batch: { id: batch.id, counts: done.counts, failures },
    wallSeconds: round(wallMs / 1000),
    minimumSecondsAllowedByLimits: round(minimumMs / 1000),
    ratioToMinimum: round(wallMs / minimumMs),
    listEmulators: {
      limit: LIST_LIMIT,
      samples: latencies.length,
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: round(percentile(latencies, 0.99)),
    },
    serverPeakRssMiB: round(rssPeak.bytes / 1024 / 1024),
    at: new Date().toISOString(),
  };
}

function minimumWallMs(): number {
  return minimumStartWallMs({ perWorkstation: settings.instancesPerWorkstation, ...settings });
}

async function isFinished(client: LdfleetClient, batchId: string): Promise<boolean> {
  const batch: Batch = await client.getBatch(batchId, { limit: 1 });
  return batch.finishedAt !== undefined;
}

/** Lists `?limit=500` back to back (bounded) until `finished`; returns each request's latency in ms. */
async function measureListWhile(client: LdfleetClient, finished: () => Promise<boolean>): Promise<number[]> {
  const latencies: number[] = [];
  let lastCheck = 0;
  while (latencies.length < MAX_LIST_SAMPLES) {
    const begin = performance.now();
    await client.request('GET', '/emulators', { query: { limit: LIST_LIMIT } });
    latencies.push(performance.now() - begin);
    if (performance.now() - lastCheck > 500) {
      lastCheck = performance.now();
      if (await finished()) break;
    }
    await sleep(100);
  }
  await until(finished, settings.timeoutS * 1000, 'the batch');
  return latencies;
}

function startServer(port: number, dataDir: string): Promise<ChildProcess> {
  return startServerProcess({ LDFLEET_PORT: String(port), LDFLEET_DATA_DIR: dataDir, LDFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD });
}

async function cleanUp(resources: Resources): Promise<void> {
  await Promise.allSettled(resources.agents.map((agent) => agent.stop()));
  const server = resources.server;
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    const forced = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(forced);
  }
  for (const dir of resources.dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}

function tempDir(resources: Resources, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  resources.dirs.push(dir);
  return dir;
}

/** Current and peak resident set of a process, from /proc (Linux); 0 elsewhere. */
function rssOf(pid: number | undefined): number {
  return procStatusKb(pid, 'VmRSS') * 1024;
}
function peakRssOf(pid: number | undefined): number {
  return procStatusKb(pid, 'VmHWM') * 1024;
}
function procStatusKb(pid: number | undefined, field: string): number {
  if (pid === undefined) return 0;
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function printTable(results: Awaited<ReturnType<typeof run>>): void {
  const rows: [string, string][] = [
    ['instances (workstations × per workstation)', `${results.instances} (${settings.workstations} × ${settings.instancesPerWorkstation})`],
    ['limits per workstation', `K=${settings.maxConcurrentBoots} boots, S=${settings.launchIntervalMs} ms, boot ${settings.bootMs} ms`],
    ['batch result', JSON.stringify(results.batch.counts)],
    ...Object.entries(results.batch.failures).map(([key, { count, example }]): [string, string] => [`  failed ${key}`, `${count} (${example.slice(0, 120)})`]),
    ['wall time of the batch start', `${results.wallSeconds} s`],
    ['minimum the limits allow', `${results.minimumSecondsAllowedByLimits} s`],
    ['ratio (wall / minimum)', `${results.ratioToMinimum}`],
    [`GET /emulators?limit=${LIST_LIMIT} p50 / p99`, `${results.listEmulators.p50Ms} / ${results.listEmulators.p99Ms} ms (${results.listEmulators.samples} samples)`],
    ['server peak RSS', `${results.serverPeakRssMiB} MiB`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`\n${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n\n`);
}

await main();
