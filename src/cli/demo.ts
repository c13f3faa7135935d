/**
 * `ldfleet demo`: the whole system on one machine. The server runs in this process on an
 * embedded SQLite store; each simulated workstation gets its own simulator home and a real
 * `ldfleet agent` child process, exactly as a Windows PC would run it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { LdfleetClient } from '../sdk/index.js';
import type { SeedInstance } from '../sim/index.js';
import { runReplicasDemo } from './demo-replicas.js';

export const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

interface DemoFlags {
  workstations: string;
  instances: string;
  port: string;
  host: string;
  dir: string;
  bootMs: string;
  replicas: string;
}

export interface DemoOptions {
  readonly workstations: number;
  readonly instancesPerWorkstation: number;
  readonly port: number;
  readonly host: string;
  readonly dir: string;
  readonly bootMs: number;
}

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the server with simulated workstations and agents, for a look at a live fleet')
    .option('--workstations <n>', 'simulated workstations', '3')
    .option('--instances <n>', 'LDPlayer instances on each workstation', '8')
    .option('--port <port>', 'port of the server (0 picks a free one)', '8080')
    .option('--host <host>', 'address of the server', '127.0.0.1')
    .option('--dir <dir>', 'folder for the demo\'s data, wiped at start', process.env.LDFLEET_DEMO_DIR ?? './.demo')
    .option('--boot-ms <ms>', 'simulated time from launch to booted Android', '3000')
    .option('--replicas <n>', 'server processes on one PostgreSQL (LDFLEET_DATABASE_URL), the agents spread over them', '1')
    .action(async (flags: DemoFlags) => {
      const replicas = positiveInteger(flags.replicas, '--replicas');
      const run = replicas > 1 ? (options: DemoOptions) => runReplicasDemo({ ...options, replicas }) : runDemo;
      await run({
        workstations: positiveInteger(flags.workstations, '--workstations'),
        instancesPerWorkstation: positiveInteger(flags.instances, '--instances'),
        port: nonNegativeInteger(flags.port, '--port'),
        host: flags.host,
        dir: resolve(flags.dir),
        bootMs: nonNegativeInteger(flags.bootMs, '--boot-ms'),
      });
    });
}

export async function runDemo(options: DemoOptions): Promise<void> {
  // A demo starts clean each time, so the credentials it prints are the only ones that work.
  rmSync(options.dir, { recursive: true, force: true });
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const adminPassword = randomBytes(15).toString('base64url');
  // Loaded only when the demo runs, so the operator commands start fast.
  const { createServer, loadConfig } = await import('../server/index.js');
  const config = loadConfig({
    env: { LDFLEET_DATA_DIR: join(options.dir, 'data'), LDFLEET_ADMIN_PASSWORD: adminPassword, LDFLEET_LOG_LEVEL: 'warn' },
    overrides: { port: options.port, host: options.host },
  });
  const server = await createServer(config);
  const agents: ChildProcess[] = [];
  installShutdown(agents, 'server', () => server.close());

  const url = await server.listen();
  const client = new LdfleetClient({ baseUrl: url });
  await client.login('admin', adminPassword);
  for (let number = 1; number <= options.workstations; number += 1) {
    agents.push(await startWorkstation(client, url, number, options));
  }
  await waitForFleet(client, options.workstations * options.instancesPerWorkstation);
  printBanner(url, adminPassword, options);
}

/**
 * Registers a workstation, seeds its simulated LDPlayer and starts its agent process, which
 * dials `servers` (one URL, or several replicas' comma-separated, its own first).
 */
export async function startWorkstation(client: LdfleetClient, servers: string, number: number, options: DemoOptions): Promise<ChildProcess> {
  const { SIM_BIN, SimHome } = await import('../sim/index.js');
  const name = `demo-pc-${String(number).padStart(2, '0')}`;
  const { enrollmentToken } = await client.createWorkstation({ name, tags: ['demo', number % 2 === 0 ? 'even' : 'odd'] });
  const home = SimHome.create(join(options.dir, name), { bootMs: options.bootMs, encoding: 'gbk' });
  home.seed(seedInstances(number, options.instancesPerWorkstation));
  const log = createWriteStream(join(options.dir, `${name}-agent.log`));
  const agent = spawn(
    process.execPath,
    [LDFLEET_BIN, 'agent', '--server', servers, '--ldconsole', SIM_BIN, '--ldplayer-dir', home.dir],
    // The token travels in the environment, out of process lists.
    { env: home.env({ LDFLEET_AGENT_TOKEN: enrollmentToken }), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent.stdout.pipe(log);
  agent.stderr.pipe(log);
  return agent;
}

const NAME_STEMS = ['farm', 'Instagram Box', '雷电模拟器', 'Тест', 'shop & co', 'qa "night"'];
const RESOLUTIONS = [
  { width: 1600, height: 900, dpi: 240 },
  { width: 540, height: 960, dpi: 240 },
  { width: 1280, height: 720, dpi: 240 },
  { width: 1080, height: 1920, dpi: 480 },
];

/** Varied names (CJK, Cyrillic, shell metacharacters) and settings; every third one running. */
export function seedInstances(workstation: number, count: number): SeedInstance[] {
  return Array.from({ length: count }, (_, index) => {
    const stem = NAME_STEMS[(workstation + index) % NAME_STEMS.length]!;
    const resolution = RESOLUTIONS[index % RESOLUTIONS.length]!;
    return {
      name: `${stem}-${workstation}-${index}`,
      running: index % 3 === 0,
      settings: {
        'advancedSettings.cpuCount': 1 + (index % 4),
        'advancedSettings.memorySize': [1024, 2048, 1536, 4096][index % 4]!,
        'advancedSettings.resolution': { width: resolution.width, height: resolution.height },
        'advancedSettings.resolutionDpi': resolution.dpi,
      },
    };
  });
}

/** Waits until every seeded instance has come in through its agent, so the banner shows a live fleet. */
export async function waitForFleet(client: LdfleetClient, expected: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const page = await client.listEmulators({ limit: 1 });
    if (page.total >= expected) return;
    if (Date.now() > deadline) {
      process.stderr.write(`ldfleet demo: only ${page.total} of ${expected} instances reported in 60 s; see the agent logs\n`);
      return;
    }
    await new Promise((done) => setTimeout(done, 200));
  }
}

function printBanner(url: string, adminPassword: string, options: DemoOptions): void {
  const line = '='.repeat(72);
  process.stdout.write(
    `${line}\n` +
      `ldfleet demo is running: ${options.workstations} simulated workstations, ` +
      `${options.workstations * options.instancesPerWorkstation} LDPlayer instances\n\n` +
      `  Dashboard:  ${url}/   (sign in with the user name and password below)\n` +
      `  API:        ${url}/api/v1\n` +
      `  API docs:   ${url}/docs\n` +
      `  user name:  admin\n` +
      `  password:   ${adminPassword}   (one-time: a new demo makes a new one)\n\n` +
      `Try:\n` +
      `  TOKEN=$(curl -s ${url}/api/v1/auth/login -H 'content-type: application/json' \\\n` +
      `    -d '{"username":"admin","password":"${adminPassword}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')\n` +
      `  curl -s ${url}/api/v1/emulators -H "authorization: Bearer $TOKEN"\n\n` +
      `Data and agent logs: ${options.dir}\n` +
      `Press Ctrl-C to stop the server and every agent.\n` +
      `${line}\n`,
  );
}

/** Ctrl-C (or SIGTERM) stops every agent the demo started, then its `servers`; nothing is left running. */
export function installShutdown(agents: readonly ChildProcess[], servers: string, stopServers: () => Promise<void>): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`ldfleet demo: stopping agents and ${servers}\n`);
    await Promise.all(agents.map(stopChild));
    await stopServers();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(forced);
}

export function positiveInteger(text: string, flag: string): number {
  const value = nonNegativeInteger(text, flag);
  if (value < 1) throw new Error(`${flag} must be at least 1`);
  return value;
}

function nonNegativeInteger(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${flag} must be a whole number, got "${text}"`);
  return Number(text);
}
