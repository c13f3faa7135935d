/**
 * The agent as a farm PC gets it: downloaded from a running server, verified against the hash
 * the server publishes, run with a plain `node` from an empty folder (no node_modules anywhere
 * up its path), and its workstation goes online with every instance the simulator lists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AGENT_DOWNLOAD_PATH, AGENT_SHA256_HEADER, AGENT_SHA256_PATH } from '../../src/install/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import { eventually } from '../gateway/helpers.js';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { stopChild, testRunMarker } from '../support/processes.js';

let t: TestServer;
let home: SimHome;
let folder: string;
let agent: ChildProcess | undefined;
let agentOutput = '';

beforeAll(async () => {
  t = await startTestServer('sqlite', {}, { gateway: { intervals: { heartbeatMs: 300, inventoryPollMs: 200, metricsMs: 1000 } } });
  home = SimHome.create(mkdtempSync(join(tmpdir(), 'ldfleet-bundle-sim-')), { bootMs: 100 });
  home.seed([{ name: 'alpha' }, { name: 'beta', running: true }, { name: 'gamma' }]);
  folder = mkdtempSync(join(tmpdir(), 'ldfleet-bundle-pc-'));
});

afterAll(async () => {
  if (agent) await stopChild(agent);
  await t?.close();
  rmSync(folder, { recursive: true, force: true });
  rmSync(home.dir, { recursive: true, force: true });
});

it('serves the bundle with its SHA-256, and 404 in the error model when it is not built', async () => {
  const download = await fetch(`${t.url}${AGENT_DOWNLOAD_PATH}`);
  expect(download.status).toBe(200);
  expect(download.headers.get('content-type')).toMatch(/^text\/javascript/);
  const bytes = Buffer.from(await download.arrayBuffer());
  const digest = createHash('sha256').update(bytes).digest();
  expect(download.headers.get(AGENT_SHA256_HEADER)).toBe(digest.toString('hex'));
  expect(download.headers.get('repr-digest')).toBe(`sha-256=:${digest.toString('base64')}:`);
  const sums = await fetch(`${t.url}${AGENT_SHA256_PATH}`);
  expect(sums.status).toBe(200);
  expect(await sums.text()).toBe(`${digest.toString('hex')}  ldfleet-agent.mjs\n`);
  // No native module and no server store may ride along: a farm PC cannot build them.
  const text = bytes.toString('utf8');
  expect(text).not.toMatch(/better-sqlite3|better_sqlite3\.node|require\(["']pg["']\)/);

  const bare = await startTestServer('sqlite', {}, { agentBundleFile: join(folder, 'missing.mjs') });
  try {
    const missing = await fetch(`${bare.url}${AGENT_DOWNLOAD_PATH}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  } finally {
    await bare.close();
  }
});

it('runs with plain node in an empty folder and brings its workstation online with every instance', async () => {
  const created = await t.admin.createWorkstation({ name: 'pc-bundle', tags: [] });
  const id = created.workstation.id;
  const download = await fetch(`${t.url}${AGENT_DOWNLOAD_PATH}`);
  const bytes = Buffer.from(await download.arrayBuffer());
  const published = (await (await fetch(`${t.url}${AGENT_SHA256_PATH}`)).text()).split(/\s+/)[0];
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(published);
  writeFileSync(join(folder, 'ldfleet-agent.mjs'), bytes);
  expect(readdirSync(folder)).toEqual(['ldfleet-agent.mjs']);

  agent = spawn(process.execPath, ['ldfleet-agent.mjs', 'agent', '--server', t.url, '--ldconsole', SIM_BIN, '--ldplayer-dir', home.dir], {
    cwd: folder,
    // Only what a PC has: PATH, the token in the environment, and the simulator's home.
    env: { PATH: process.env.PATH ?? '', LDFLEET_AGENT_TOKEN: created.enrollmentToken, ...simVariables(), ...testRunMarker() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
  agent.stderr?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
  const exited = new Promise<never>((_resolve, reject) =>
    agent?.once('exit', (code) => reject(new Error(`the agent exited with ${code}: ${agentOutput}`))),
  );

  const names = await Promise.race([
    exited,
    eventually(
      async () => {
        const workstation = await t.admin.request<{ status: string }>('GET', `/workstations/${id}`);
        if (workstation.status !== 'online') return undefined;
        const { items } = await t.admin.request<{ items: Emulator[] }>('GET', '/emulators', { query: { workstation: id } });
        return items.length === 3 ? items.map((emulator) => emulator.name).sort() : undefined;
      },
      30_000,
      'the bundled agent to bring the workstation online with 3 emulators',
    ),
  ]);
  expect(names).toEqual(['alpha', 'beta', 'gamma']);
  expect(agentOutput).toContain('"name":"ldfleet-agent"');
}, 60_000);

/** The simulator's own variables (its home, boot time), without the rest of this process's environment. */
function simVariables(): Record<string, string> {
  return Object.fromEntries(Object.entries(home.env()).filter((entry): entry is [string, string] => entry[0].startsWith('LDFLEET_SIM_') && entry[1] !== undefined));
}
