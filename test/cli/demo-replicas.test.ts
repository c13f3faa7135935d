/**
 * `ldfleet demo --replicas 3` (issue 14): three server processes on one PostgreSQL, the agents
 * spread over them; killing a replica moves its agents to another. What crosses replicas beyond
 * that (events, operations) is the cluster's own tests'.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { LdfleetClient } from '../../src/sdk/index.js';
import { eventually } from '../gateway/helpers.js';
import { createTestDatabase, describePostgres } from '../server/helpers.js';
import type { TestDatabase } from '../server/helpers.js';

const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

function processesUsing(dir: string): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return table.split('\n').filter((line) => line.includes(dir)).map((line) => Number(line.trim().split(/\s+/)[0]));
}

function runDemo(args: string[], env: Record<string, string | undefined>) {
  const demo = spawn(process.execPath, [LDFLEET_BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  const banner = new Promise<string>((resolve, reject) => {
    demo.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Press Ctrl-C')) resolve(output);
    });
    void exited.then((code) => reject(new Error(`demo exited with ${code}: ${output}`)));
  });
  // Observed even by a test that only waits for the exit.
  void banner.catch(() => undefined);
  return { demo, banner, exited, output: () => output };
}

it('ldfleet demo --replicas without LDFLEET_DATABASE_URL says what it needs', async () => {
  const { exited, output } = runDemo(['--replicas', '3', '--port', '0', '--dir', join(tmpdir(), 'ldfleet-no-pg')], { LDFLEET_DATABASE_URL: undefined });
  expect(await exited).toBe(2);
  expect(output()).toMatch(/--replicas needs PostgreSQL: set LDFLEET_DATABASE_URL/);
});

describePostgres('ldfleet demo --replicas 3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ldfleet-demo-replicas-'));
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints three replica URLs, spreads the agents over them, and an agent fails over when its replica is killed', async () => {
    database = await createTestDatabase('postgres');
    const run = runDemo(['--replicas', '3', '--port', '0', '--workstations', '3', '--instances', '2', '--boot-ms', '200', '--dir', dir], {
      LDFLEET_DATABASE_URL: database.databaseUrl,
    });
    try {
      const banner = await run.banner;
      const replicas = [...banner.matchAll(/Replica \d:\s+(http:\/\/\S+)\/\s+\(pid (\d+)\)/g)].map((match) => ({ url: match[1]!, pid: Number(match[2]) }));
      expect(replicas).toHaveLength(3);
      const password = /password:\s+(\S+)/.exec(banner)?.[1];
      // Any replica answers: the admin logs in on each.
      for (const replica of replicas) await new LdfleetClient({ baseUrl: replica.url }).login('admin', password!);
      const client = new LdfleetClient({ baseUrl: replicas[1]!.url });
      await client.login('admin', password!);
      await eventually(async () => {
        const items = (await client.listWorkstations()).items;
        return items.length === 3 && items.every((w) => w.status === 'online') ? items : undefined;
      }, 30_000, 'three workstations online');
      expect((await client.listEmulators({ limit: 100 })).total).toBe(6);

      // demo-pc-01 dials replica 1 first: kill it; the agent moves on to replica 2 (or 3).
      process.kill(replicas[0]!.pid, 'SIGKILL');
      const survivor = new LdfleetClient({ baseUrl: replicas[2]!.url });
      await survivor.login('admin', password!);
      await eventually(async () => {
        const pc = (await survivor.listWorkstations()).items.find((w) => w.name === 'demo-pc-01');
        // Online again after it was seen through a replica that is not the dead one.
        return pc?.status === 'online' && /connected to the server/.test(agentLog(dir, 'demo-pc-01')) && agentDialledElsewhere(dir, replicas[0]!.url) ? pc : undefined;
      }, 60_000, 'demo-pc-01 online on another replica');
      expect(run.output()).toMatch(/the replica at http:\/\/\S+ stopped/);
    } finally {
      run.demo.kill('SIGINT');
      expect(await run.exited).toBe(0);
    }
    expect(processesUsing(dir)).toEqual([]);
  }, 240_000);
});

function agentLog(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, `${name}-agent.log`), 'utf8');
  } catch {
    return '';
  }
}

/** The agent's log has a connection to an endpoint other than the dead replica's. */
function agentDialledElsewhere(dir: string, dead: string): boolean {
  const deadEndpoint = dead.replace('http:', 'ws:');
  return agentLog(dir, 'demo-pc-01')
    .split('\n')
    .some((line) => line.includes('connected to the server') && !line.includes(deadEndpoint));
}
