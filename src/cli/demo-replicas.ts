/**
 * `ldfleet demo --replicas N`: N `ldfleet server` processes on one PostgreSQL, as a farm runs
 * them behind a load balancer, with the simulated agents spread over them. Each agent is given
 * every replica's URL, its own first, so killing one replica moves its agents to the others.
 * The demo's data lives in a schema of its own (`ldfleet_demo`), dropped and made again at start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LdfleetClient } from '../sdk/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { LDFLEET_BIN, installShutdown, startWorkstation, stopChild, waitForFleet, type DemoOptions } from './demo.js';

const DEMO_SCHEMA = 'ldfleet_demo';

export interface ReplicasDemoOptions extends DemoOptions {
  readonly replicas: number;
}

interface Replica {
  readonly process: ChildProcess;
  readonly url: string;
}

export async function runReplicasDemo(options: ReplicasDemoOptions): Promise<void> {
  const databaseUrl = process.env.LDFLEET_DATABASE_URL;
  if (databaseUrl === undefined || databaseUrl === '') {
    throw new CliError(ExitCode.usage, '--replicas needs PostgreSQL: set LDFLEET_DATABASE_URL=postgres://user@host/db (the demo uses a schema of its own there)');
  }
  rmSync(options.dir, { recursive: true, force: true });
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const demoUrl = await freshSchema(databaseUrl);
  const adminPassword = randomBytes(15).toString('base64url');
  // One key for all: the replicas share the secrets in the database, not a file.
  const secretsKey = randomBytes(32).toString('base64url');
  const replicas: Replica[] = [];
  const agents: ChildProcess[] = [];
  installShutdown(agents, 'replicas', async () => {
    await Promise.all(replicas.map((replica) => stopChild(replica.process)));
  });

  try {
    await startAll(options, replicas, agents, { databaseUrl: demoUrl, secretsKey, adminPassword });
  } catch (error) {
    // Nothing half-started stays behind: the replicas and agents that did start are stopped.
    await Promise.all([...agents, ...replicas.map((replica) => replica.process)].map(stopChild));
    throw error;
  }
}

async function startAll(
  options: ReplicasDemoOptions,
  replicas: Replica[],
  agents: ChildProcess[],
  { databaseUrl, secretsKey, adminPassword }: { databaseUrl: string; secretsKey: string; adminPassword: string },
): Promise<void> {
  const env = { LDFLEET_DATABASE_URL: databaseUrl, LDFLEET_SECRETS_KEY: secretsKey, LDFLEET_ADMIN_PASSWORD: adminPassword, LDFLEET_HOST: options.host };
  // The first replica migrates the schema and creates the admin; the others start together after it.
  replicas.push(await startReplica(1, env, options));
  replicas.push(...(await Promise.all(Array.from({ length: options.replicas - 1 }, (_, index) => startReplica(index + 2, env, options)))));
  for (const replica of replicas) watchReplica(replica);

  const urls = replicas.map((replica) => replica.url);
  const client = new LdfleetClient({ baseUrl: urls[0]! });
  await client.login('admin', adminPassword);
  for (let number = 1; number <= options.workstations; number += 1) {
    const own = (number - 1) % urls.length;
    agents.push(await startWorkstation(client, [...urls.slice(own), ...urls.slice(0, own)].join(','), number, options));
  }
  await waitForFleet(client, options.workstations * options.instancesPerWorkstation);
  printBanner(replicas, adminPassword, options);
}

/** The database URL with the demo's schema first on the search path, the schema dropped and made again. */
async function freshSchema(databaseUrl: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${DEMO_SCHEMA} CASCADE`);
    await client.query(`CREATE SCHEMA ${DEMO_SCHEMA}`);
  } catch (error) {
    throw new CliError(ExitCode.unreachable, `cannot prepare the demo schema in LDFLEET_DATABASE_URL: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${DEMO_SCHEMA}`);
  return url.toString();
}

/** One `ldfleet server` process, its log in the demo folder; resolves with the URL it listens on. */
async function startReplica(number: number, env: Record<string, string>, options: ReplicasDemoOptions): Promise<Replica> {
  const dataDir = join(options.dir, `replica-${number}`);
  const child = spawn(process.execPath, [LDFLEET_BIN, 'server'], {
    env: {
      ...process.env,
      ...env,
      LDFLEET_DATA_DIR: dataDir,
      // Consecutive ports from --port (0: each picks a free one).
      LDFLEET_PORT: String(options.port === 0 ? 0 : options.port + number - 1),
      LDFLEET_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const log = createWriteStream(join(options.dir, `replica-${number}.log`));
  child.stderr.pipe(log);
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      log.write(chunk);
      const listening = /listening on (http\S+)/.exec(output);
      if (listening?.[1]) {
        child.stdout.off('data', onData);
        child.stdout.pipe(log);
        resolve(listening[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new CliError(ExitCode.failed, `replica ${number} exited with ${code} before it listened; see ${join(options.dir, `replica-${number}.log`)}`)));
  });
  return { process: child, url };
}

/** A replica that dies is reported; the demo goes on with the others (its agents fail over). */
function watchReplica(replica: Replica): void {
  replica.process.once('exit', (code, signal) => {
    process.stderr.write(`ldfleet demo: the replica at ${replica.url} stopped (${signal ?? `exit ${code}`}); its agents move to the others\n`);
  });
}

function printBanner(replicas: readonly Replica[], adminPassword: string, options: ReplicasDemoOptions): void {
  const line = '='.repeat(72);
  process.stdout.write(
    `${line}\n` +
      `ldfleet demo is running: ${replicas.length} server replicas on one PostgreSQL, ${options.workstations} simulated workstations, ` +
      `${options.workstations * options.instancesPerWorkstation} LDPlayer instances\n\n` +
      replicas.map((replica, index) => `  Replica ${index + 1}:  ${replica.url}/   (pid ${replica.process.pid ?? '?'})\n`).join('') +
      `  API:        ${replicas[0]!.url}/api/v1   (any replica answers any request)\n` +
      `  user name:  admin\n` +
      `  password:   ${adminPassword}   (one-time: a new demo makes a new one)\n\n` +
      `Each agent dials its own replica first and the others after it: kill one replica\n` +
      `(kill <pid>) and its agents come back online on another.\n\n` +
      `Data and logs: ${options.dir}\n` +
      `Press Ctrl-C to stop every replica and agent.\n` +
      `${line}\n`,
  );
}
