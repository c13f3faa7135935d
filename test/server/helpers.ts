/**
 * Test helpers for the control server: both store kinds, a real server on a random port, an SDK
 * client logged in as admin, and a dump of every table.
 *
 *   describeStores('workstations', (kind) => {
 *     let t: TestServer;
 *     beforeAll(async () => { t = await startTestServer(kind); });
 *     afterAll(() => t.close());
 *     it('…', async () => { await t.admin.listWorkstations(); });
 *   });
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { createServer, loadConfig } from '../../src/server/index.js';
import type { Config, Server, ServerOptions } from '../../src/server/index.js';
import { LdfleetClient } from '../../src/sdk/index.js';
import { eventually } from '../gateway/helpers.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

const PG_HOST = '127.0.0.1';
const PG_PORT = 5432;

/** The user name PostgreSQL accepts here (trust auth), or why none does. */
async function probePostgres(): Promise<{ user: string } | { reason: string }> {
  const reasons: string[] = [];
  for (const user of ['postgres', 'root']) {
    const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user, database: 'test', connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return { user };
    } catch (error) {
      reasons.push(`${user}: ${(error as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { reason: `no PostgreSQL at ${PG_HOST}:${PG_PORT} (${reasons.join('; ')})` };
}

export const postgres = await probePostgres();
let skipNoticePrinted = false;

/**
 * Runs the suite once per store kind. Where no PostgreSQL is reachable its run is skipped with a
 * printed reason, except in CI (`CI` set), where it fails: CI must not pass on half the suite.
 */
export function describeStores(name: string, suite: (kind: StoreKind) => void): void {
  for (const kind of STORE_KINDS) {
    const reason = kind === 'postgres' && 'reason' in postgres ? postgres.reason : undefined;
    const unavailable = reason !== undefined;
    if (unavailable && process.env.CI) {
      describe(`${name} [${kind}]`, () => {
        it('needs the PostgreSQL that CI starts', () => {
          throw new Error(reason);
        });
      });
      continue;
    }
    if (unavailable && !skipNoticePrinted) {
      skipNoticePrinted = true;
      console.warn(`skipping PostgreSQL runs: ${reason}`);
    }
    describe.skipIf(unavailable)(`${name} [${kind}]`, () => suite(kind));
  }
}

/** A suite that needs PostgreSQL (several replicas on one database): skipped with a printed reason without one, failing in CI. */
export function describePostgres(name: string, suite: () => void): void {
  const reason = 'reason' in postgres ? postgres.reason : undefined;
  if (reason !== undefined && process.env.CI) {
    describe(name, () => {
      it('needs the PostgreSQL that CI starts', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  if (reason !== undefined) console.warn(`skipping ${name}: ${reason}`);
  describe.skipIf(reason !== undefined)(name, suite);
}

export interface TestDatabase {
  dataDir: string;
  databaseUrl?: string;
  dispose(): Promise<void>;
}

/** A fresh temporary data dir and, for PostgreSQL, a fresh database dropped on dispose. */
export async function createTestDatabase(kind: StoreKind): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ldfleet-test-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (kind === 'sqlite') return { dataDir, dispose: async () => removeDir() };
  if ('reason' in postgres) throw new Error(postgres.reason);
  const name = `ldfleet_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(postgres.user, `CREATE DATABASE ${name}`);
  return {
    dataDir,
    databaseUrl: `postgres://${postgres.user}@${PG_HOST}:${PG_PORT}/${name}`,
    async dispose() {
      await adminQuery(postgres.user, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      removeDir();
    },
  };
}

async function adminQuery(user: string, text: string): Promise<void> {
  const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user, database: 'test' });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface TestServer {
  readonly kind: StoreKind;
  readonly server: Server;
  readonly config: Config;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly adminPassword: string;
  /** An SDK client logged in as `admin`. */
  readonly admin: LdfleetClient;
  /** An SDK client with the given credential (or none). */
  client(token?: string): LdfleetClient;
  /** Creates a user with the role and returns a client logged in as them. */
  userWithRole(role: 'viewer' | 'operator' | 'admin', username?: string): Promise<{ client: LdfleetClient; id: string; password: string }>;
  /** Every row of every table, as JSON text (to prove secrets are not stored in clear). */
  dumpDatabase(): Promise<string>;
  close(): Promise<void>;
}

export const TEST_JWT_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** A server on a random port over a fresh store of `kind`, with an admin and quiet logs. */
export async function startTestServer(
  kind: StoreKind,
  settings: Partial<Config> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const database = await createTestDatabase(kind);
  const adminPassword = `admin-${randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    env: {},
    overrides: {
      port: 0,
      host: '127.0.0.1',
      dataDir: database.dataDir,
      databaseUrl: database.databaseUrl,
      adminPassword,
      jwtSecret: TEST_JWT_SECRET,
      // LDFLEET_TEST_LOG_LEVEL=info shows the server's log while debugging a test.
      logLevel: process.env.LDFLEET_TEST_LOG_LEVEL ?? 'silent',
      loginMaxPerIp: 100_000,
      loginMaxPerUser: 100_000,
      ...settings,
    },
  });
  let server: Server;
  try {
    server = await createServer(config, { print: () => undefined, ...options });
  } catch (error) {
    await database.dispose();
    throw error;
  }
  const url = await server.listen();
  const admin = new LdfleetClient({ baseUrl: url });
  await admin.login('admin', adminPassword);
  let userCount = 0;
  return {
    kind,
    server,
    config,
    url,
    adminPassword,
    admin,
    client: (token) => new LdfleetClient({ baseUrl: url, token }),
    async userWithRole(role, username = `${role}-${++userCount}-${randomBytes(3).toString('hex')}`) {
      const password = `pw-${randomBytes(12).toString('hex')}`;
      const user = await admin.createUser({ username, password, role });
      const client = new LdfleetClient({ baseUrl: url });
      await client.login(username, password);
      return { client, id: user.id, password };
    },
    async dumpDatabase() {
      const tables = await server.store.db.introspection.getTables();
      const dump: Record<string, unknown[]> = {};
      for (const table of tables) {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        dump[table.name] = await (server.store.db as any).selectFrom(table.name).selectAll().execute();
      }
      return JSON.stringify(dump);
    },
    async close() {
      await server.close();
      await database.dispose();
    },
  };
}

/** Every test of the suite must end with its event clients unsubscribed from the bus, so the next one can count listeners. */
export function expectBusListenersReleased(server: () => TestServer): void {
  let listenersAtStart = 0;
  beforeEach(() => {
    listenersAtStart = server().server.bus.listenerCount;
  });
  afterEach(async () => {
    await eventually(() => server().server.bus.listenerCount === listenersAtStart, 5_000, 'clients to unsubscribe');
  });
}
