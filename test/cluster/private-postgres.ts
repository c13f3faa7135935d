/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary directory, run as the
 * `postgres` user since initdb refuses root), so a test can stop and start it without touching
 * the machine's shared server that other tests use.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually } from '../gateway/helpers.js';
import { freePort } from '../support/ports.js';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  readonly databaseUrl: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** Why no private cluster can be made here (no binaries, not root, no `postgres` user), or undefined. */
export function privatePostgresUnavailable(): string | undefined {
  if (!existsSync(join(BIN, 'initdb'))) return `no ${BIN}/initdb`;
  if (process.getuid?.() !== 0) return 'starting a private PostgreSQL as the postgres user needs root';
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return 'no postgres user';
  }
  return undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'ldfleet-pg-'));
  chmodSync(root, 0o755);
  const data = join(root, 'data');
  const sockets = join(root, 'sockets');
  mkdirSync(sockets);
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(root, uid, gid);
  chownSync(sockets, uid, gid);
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'ignore' });
  const port = await freePort();
  let server: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    server = spawn('runuser', ['-u', 'postgres', '--', join(BIN, 'postgres'), '-D', data, '-p', String(port), '-k', sockets, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], { stdio: 'ignore' });
    await eventually(async () => {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    }, 30_000, 'the private PostgreSQL');
  };

  /** A fast shutdown (SIGINT to the postmaster, as `pg_ctl stop -m fast`): sessions are cut. */
  const stop = async (): Promise<void> => {
    const child = server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGINT');
    await exited;
  };

  await start();
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE ldfleet');
  await admin.end();
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:${port}/ldfleet`,
    stop,
    start,
    async dispose() {
      await stop().catch(() => undefined);
      if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    },
  };
}
