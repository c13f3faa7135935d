/**
 * The README's "Several replicas" HAProxy configuration works as written: the block is taken from
 * README.md, the replica ports and the bind address substituted, and haproxy run as a process in
 * front of three `ldfleet server` processes on one PostgreSQL. Login, a list, an events
 * WebSocket, an agent's connection and screenshots (answered by whichever replica HAProxy picks,
 * the one holding the agent's session taking them) go through it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Agent, silentLogger } from '../../src/agent/index.js';
import { LdfleetClient } from '../../src/sdk/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { eventually } from '../gateway/helpers.js';
import { createTestDatabase, describePostgres, type TestDatabase } from './helpers.js';
import { freePort } from '../support/ports.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const haproxyMissing = spawnSync('haproxy', ['-v']).error !== undefined;
if (haproxyMissing && !process.env.CI) console.warn('skipping the README HAProxy test: no haproxy on PATH (apt-get install haproxy)');

/** The ```haproxy block of the README's "Several replicas" section. */
function readmeHaproxyConfig(): string {
  const readme = readFileSync(README, 'utf8');
  const section = readme.slice(readme.indexOf('### Several replicas'));
  const block = /```haproxy\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('README.md has no ```haproxy block under "Several replicas"');
  return block;
}

describePostgres('the README HAProxy configuration', () => {
  const processes: ChildProcess[] = [];
  let database: TestDatabase | undefined;
  let agent: Agent | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ldfleet-haproxy-'));
  afterAll(async () => {
    await agent?.stop();
    for (const child of processes) child.kill('SIGKILL');
    await database?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(haproxyMissing && !process.env.CI)('serves login, lists, an events WebSocket, an agent and screenshots through haproxy in front of three replicas', async () => {
    database = await createTestDatabase('postgres');
    const adminPassword = `admin-${randomBytes(12).toString('hex')}`;
    const env = {
      LDFLEET_DATABASE_URL: database.databaseUrl!,
      LDFLEET_SECRETS_KEY: randomBytes(32).toString('base64url'),
      LDFLEET_ADMIN_PASSWORD: adminPassword,
      LDFLEET_TRUST_PROXY: 'true',
    };
    const replicas: ServerProcess[] = [];
    replicas.push(await startServerProcess({ ...env, LDFLEET_PORT: '0', LDFLEET_DATA_DIR: join(dir, 'r1') }));
    processes.push(replicas[0]!);
    for (const number of [2, 3]) {
      const replica = await startServerProcess({ ...env, LDFLEET_PORT: '0', LDFLEET_DATA_DIR: join(dir, `r${number}`) });
      processes.push(replica);
      replicas.push(replica);
    }
    const port = await freePort();
    let config = readmeHaproxyConfig().replace(/bind :8080\b/, `bind 127.0.0.1:${port}`);
    replicas.forEach((replica, index) => {
      config = config.replace(`127.0.0.1:808${index + 1}`, new URL(replica.url).host);
    });
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    const check = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const haproxy = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'inherit', 'inherit'] });
    processes.push(haproxy);

    const base = `http://127.0.0.1:${port}`;
    // Up once its health checks on /readyz have passed.
    await eventually(async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, 'haproxy to serve /readyz');
    const client = new LdfleetClient({ baseUrl: base });
    const pair = await client.login('admin', adminPassword);
    // Several requests, so more than one replica answers (leastconn spreads them); all agree on the token.
    for (let i = 0; i < 6; i++) expect((await client.listWorkstations()).items).toEqual([]);

    const socket = new WebSocket(`ws://127.0.0.1:${port}/api/v1/events`, { headers: { authorization: `Bearer ${pair.accessToken}` } });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
        socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
      });
      // The tunnel carries frames both ways: a ping through haproxy comes back as a pong.
      const pong = new Promise<string>((resolve) => socket.once('pong', (data) => resolve(data.toString())));
      socket.ping('through-haproxy');
      expect(await pong).toBe('through-haproxy');
    } finally {
      socket.terminate();
    }

    // An agent dials the front too; a screenshot asked of any replica is taken by its session's.
    const { workstation, enrollmentToken } = await client.createWorkstation({ name: 'behind-haproxy' });
    const home = SimHome.create(join(dir, 'sim'), { bootMs: 150 });
    home.seed([{ name: 'shown', running: true }]);
    agent = new Agent({ serverUrl: base, token: enrollmentToken, ldconsolePath: SIM_BIN, installDir: home.dir, ldconsoleEnv: home.env(), logger: silentLogger, hostname: 'behind-haproxy' });
    agent.start();
    const emulatorId = await eventually(async () => {
      const page = await client.request<{ items: Array<{ id: string }> }>('GET', '/emulators', { query: { workstation: workstation.id } });
      return page.items[0]?.id;
    }, 30_000, 'the agent\'s emulator listed through haproxy');
    for (let i = 0; i < 6; i++) expect([...(await client.screenshot(emulatorId)).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  }, 180_000);
});
