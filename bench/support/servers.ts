/**
 * The server side of a benchmark: N `ldfleet server` processes sharing one store (N = 1 on
 * SQLite by default; N > 1 on a fresh PostgreSQL database, as replicas), what /proc says of
 * their memory and CPU, and their clean end.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stopChild } from '../../test/support/processes.js';
import { startServerProcess, type ServerProcess } from '../../test/support/server-process.js';
import { freePort } from './util.js';

export const BENCH_ADMIN_PASSWORD = 'bench-admin-password-0123';

export interface FarmOptions {
  readonly replicas: number;
  /** A PostgreSQL server (its maintenance database) in which a fresh database is made for the farm; SQLite when absent. */
  readonly postgresAdminUrl?: string | undefined;
  /** Server settings (`LDFLEET_*`) over the bench's own. */
  readonly env?: Record<string, string>;
  /** Where each server writes a V8 CPU profile at exit (`--cpu-prof-dir`); none when absent. */
  readonly cpuProfileDir?: string | undefined;
  /** Labels the profile files and data directories. */
  readonly label: string;
}

/** The servers of one scenario. */
export class ServerFarm {
  private constructor(
    readonly servers: readonly ServerProcess[],
    private readonly dataDirs: readonly string[],
    private readonly dropDatabase: (() => Promise<void>) | undefined,
  ) {}

  static async start(options: FarmOptions): Promise<ServerFarm> {
    if (options.replicas < 1) throw new Error('a farm needs at least one server');
    if (options.replicas > 1 && !options.postgresAdminUrl) throw new Error('replicas share a PostgreSQL database: give postgresAdminUrl');
    const database = options.postgresAdminUrl ? await createDatabase(options.postgresAdminUrl, options.label) : undefined;
    const servers: ServerProcess[] = [];
    const dataDirs: string[] = [];
    const farm = new ServerFarm(servers, dataDirs, database?.drop);
    // Replicas agree on the secrets stored in their database only when handed one key.
    const secretsKey = randomBytes(32).toString('base64');
    try {
      // One after another: the first applies the migrations and creates the admin; the others
      // find them (starting replicas at once would only race the migrations).
      for (let replica = 0; replica < options.replicas; replica += 1) {
        const dataDir = mkdtempSync(join(tmpdir(), `ldfleet-bench-${options.label}-${replica}-`));
        dataDirs.push(dataDir);
        const env: Record<string, string> = {
          LDFLEET_PORT: String(await freePort()),
          LDFLEET_DATA_DIR: dataDir,
          LDFLEET_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
          LDFLEET_SECRETS_KEY: secretsKey,
          ...(database ? { LDFLEET_DATABASE_URL: database.url } : {}),
          ...options.env,
        };
        const nodeArgs = options.cpuProfileDir ? profileArgs(options.cpuProfileDir, `${options.label}-${replica}`) : [];
        servers.push(await startServerProcess(env, undefined, nodeArgs));
      }
    } catch (error) {
      await farm.stop();
      throw error;
    }
    return farm;
  }

  get urls(): string[] {
    return this.servers.map((server) => server.url);
  }

  get pids(): number[] {
    return this.servers.map((server) => server.pid ?? -1);
  }

  /** Throws, naming it, when a server has exited (a crash or the OOM killer). */
  assertRunning(): void {
    for (const [n, server] of this.servers.entries()) {
      if (server.exitCode !== null || server.signalCode !== null) throw new Error(`server ${n} (pid ${server.pid}) exited: code ${server.exitCode}, signal ${server.signalCode}`);
    }
  }

  /** The largest resident set any server has had (VmHWM), in bytes. */
  peakRssBytes(): number {
    return Math.max(0, ...this.pids.map((pid) => procStatusKb(pid, 'VmHWM') * 1024));
  }

  /** The resident set of each server now (VmRSS), in bytes. */
  rssBytes(): number[] {
    return this.pids.map((pid) => procStatusKb(pid, 'VmRSS') * 1024);
  }

  /** CPU seconds (user + system) each server has used so far. */
  cpuSeconds(): number[] {
    return this.pids.map(cpuSecondsOf);
  }

  /** SIGTERM (a clean exit writes the CPU profile), SIGKILL after 10 s; then the data and the database go. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.servers.map((server) => stopChild(server, 10_000)));
    for (const dir of this.dataDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    await this.dropDatabase?.();
  }
}

/** One folder per server, so each scenario's profile is found by its name. */
function profileArgs(dir: string, name: string): string[] {
  const own = join(dir, name);
  mkdirSync(own, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${own}`];
}

/** A fresh database on the PostgreSQL of `adminUrl`, and how to drop it (connections forced out). */
async function createDatabase(adminUrl: string, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ldfleet_bench_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function procStatusKb(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ): 100 on every Linux Node runs on. */
const USER_HZ = 100;

/** utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15, counted after the command's closing paren). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

/** Whether a process still runs (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
