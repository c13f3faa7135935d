/**
 * The package as a farm installs it: `npm pack` (its prepack builds dist/ and the agent bundle),
 * `npm install -g` of the tarball into a temporary prefix, then the installed `ldfleet`:
 * `--version`, `--help`, `server` (its native SQLite module built by the install) and `agent`
 * against the simulator, the workstation going online with its instances. Slow (the install
 * compiles better-sqlite3), so it is its own project: `npm run test:pack`, run by .ci/run.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LdfleetClient } from '../../src/sdk/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { eventually } from '../gateway/helpers.js';
import { stopChild } from '../support/processes.js';
import { startServerProcess } from '../support/server-process.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ADMIN_PASSWORD = 'pack-admin-password-0123';
const NPM = process.env.npm_execpath ? { file: process.execPath, args: [process.env.npm_execpath] } : { file: 'npm', args: [] };

let work: string;
let ldfleet: string;
let installLog = '';
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ldfleet-pack-'));
  const packed = await run(NPM.file, [...NPM.args, 'pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
  const prefix = join(work, 'prefix');
  // As README says: native modules' install scripts run only when allowed (npm 11 blocks them).
  const installed = await run(
    NPM.file,
    [...NPM.args, 'install', '-g', '--prefix', prefix, '--prefer-offline', '--allow-scripts=better-sqlite3', '--no-audit', '--no-fund', join(work, filename)],
    { cwd: work, env: { ...process.env, JOBS: 'max' }, maxBuffer: 64 * 1024 * 1024 },
  );
  installLog = `${installed.stdout}\n${installed.stderr}`;
  ldfleet = join(prefix, 'bin', 'ldfleet');
}, 1_800_000);

afterAll(async () => {
  for (const child of children) await stopChild(child);
  if (work) rmSync(work, { recursive: true, force: true });
});

it('installs on this Node.js without an engine warning or a skipped install script', () => {
  expect(installLog).not.toMatch(/EBADENGINE|Unsupported engine/);
  expect(installLog).not.toMatch(/install scripts not yet covered/);
});

it('prints its version and its commands', async () => {
  expect((await run(ldfleet, ['--version'])).stdout.trim()).toBe(VERSION);
  const help = (await run(ldfleet, ['--help'])).stdout;
  for (const command of ['server', 'agent', 'demo']) expect(help).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
});

it('runs the server and an agent from the install; the workstation goes online with its instances', async () => {
  const dataDir = join(work, 'data');
  const server = await startServerProcess({ LDFLEET_PORT: '0', LDFLEET_DATA_DIR: dataDir, LDFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }, ldfleet);
  children.push(server);
  const admin = new LdfleetClient({ baseUrl: server.url });
  await admin.login('admin', ADMIN_PASSWORD);
  const { workstation, enrollmentToken } = await admin.createWorkstation({ name: 'pc-pack', tags: [] });

  const home = SimHome.create(join(work, 'sim'), { bootMs: 100 });
  home.seed([{ name: 'one' }, { name: 'two', running: true }]);
  let output = '';
  const agent = spawn(ldfleet, ['agent', '--server', server.url, '--ldconsole', SIM_BIN, '--ldplayer-dir', home.dir], {
    env: home.env({ LDFLEET_AGENT_TOKEN: enrollmentToken }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(agent);
  agent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  agent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_resolve, reject) => agent.once('exit', (code) => reject(new Error(`ldfleet agent exited with ${code}: ${output}`))));

  const names = await Promise.race([
    exited,
    eventually(
      async () => {
        const current = await admin.request<{ status: string }>('GET', `/workstations/${workstation.id}`);
        if (current.status !== 'online') return undefined;
        const { items } = await admin.request<{ items: Emulator[] }>('GET', '/emulators', { query: { workstation: workstation.id } });
        return items.length === 2 ? items.map((emulator) => emulator.name).sort() : undefined;
      },
      30_000,
      'the installed agent to bring its workstation online with 2 emulators',
    ),
  ]);
  expect(names).toEqual(['one', 'two']);
}, 120_000);
