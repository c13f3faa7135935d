/**
 * Several server URLs (issue 14): `ldfleet agent --server DEAD,LIVE` goes online on the live one,
 * and the CLI tries the next URL when one cannot be reached, but not when one answers an error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';
import { eventually } from '../gateway/helpers.js';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { LDFLEET_BIN, ldfleet, login, newHome } from '../cli/helpers.js';

/** A URL nothing listens on: a port the kernel gave out and that was closed again. */
async function deadUrl(): Promise<string> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('several server URLs', () => {
  let t: TestServer;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  let answersErrors: HttpServer;

  beforeAll(async () => {
    t = await startTestServer('sqlite', {}, { gateway: { intervals: { heartbeatMs: 300, inventoryPollMs: 200, metricsMs: 5_000 } } });
    // A server that answers, but only errors: the CLI must report it, not move on.
    answersErrors = createHttpServer((_request, response) => {
      response.writeHead(418, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'teapot', message: 'an answer, not an outage' } }));
    });
    await new Promise<void>((resolve) => answersErrors.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await t?.close();
    await new Promise<void>((resolve) => answersErrors.close(() => resolve()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  it('the agent given a dead URL first and a live one second goes online', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldfleet-failover-'));
    dirs.push(dir);
    const home = SimHome.create(dir);
    home.seed([{ name: 'one' }]);
    const created = await t.admin.createWorkstation({ name: 'failover' });
    const child = spawn(process.execPath, [LDFLEET_BIN, 'agent', '--server', `${await deadUrl()},${t.url}`, '--ldconsole', SIM_BIN, '--log-level', 'warn'], {
      env: { ...home.env(), LDFLEET_AGENT_TOKEN: created.enrollmentToken },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let log = '';
    child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await eventually(async () => ((await t.admin.getWorkstation(created.workstation.id)).status === 'online' ? true : undefined), 30_000, 'the workstation online');
    // It did try the dead one first, and said which one it dials next.
    expect(log).toMatch(/not connected to the server; retrying/);
    expect(log).toContain(t.url.replace('http:', 'ws:'));
  });

  it('refuses a list with a URL that is not one', async () => {
    const run = await ldfleet(['agent', '--server', `${t.url},nonsense`, '--token', 'x', '--ldconsole', SIM_BIN], { home: newHome() });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--server: "nonsense" is not a URL/);
  });

  it('the CLI tries the next URL when one is unreachable, in login and in every command after it', async () => {
    const home = newHome();
    dirs.push(home);
    await login(home, `${await deadUrl()},${t.url}`, 'admin', t.adminPassword);
    const listed = await ldfleet(['workstations', 'list', '--json'], { home });
    expect(listed.code, listed.stderr).toBe(0);
    // LDFLEET_SERVER takes the same list.
    const viaEnv = await ldfleet(['workstations', 'list', '--json'], {
      home: newHome(),
      env: { LDFLEET_SERVER: `${await deadUrl()},${t.url}`, LDFLEET_TOKEN: (await t.admin.createToken({ name: "failover", role: "viewer" })).token },
    });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
  });

  it('the CLI does not move on when a server answers, even with an error', async () => {
    const address = answersErrors.address();
    const erring = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const run = await ldfleet(['login', '--server', `${erring},${t.url}`, '--username', 'admin', '--password-stdin'], { home: newHome(), input: `${t.adminPassword}\n` });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/an answer, not an outage/);
  });
});
