/**
 * State replicas share (issue 14): secrets in the database, encrypted with a key each replica is
 * handed; login throttling counted across replicas, in the database or in Redis.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createServer, loadConfig } from '../../src/server/index.js';
import type { Config, Server } from '../../src/server/index.js';
import { ApiError, LdfleetClient } from '../../src/sdk/index.js';
import { createTestDatabase, describePostgres, describeStores } from './helpers.js';
import type { StoreKind, TestDatabase } from './helpers.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const ADMIN_PASSWORD = `admin-${randomBytes(12).toString('hex')}`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshDatabase(kind: StoreKind): Promise<TestDatabase> {
  const database = await createTestDatabase(kind);
  cleanups.push(() => database.dispose());
  return database;
}

/** A replica: its own data directory (nothing shared on disk), the database given. */
async function startReplica(database: TestDatabase, settings: Partial<Config> = {}, dataDir?: string): Promise<{ server: Server; url: string; dataDir: string }> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'ldfleet-replica-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({
    env: {},
    overrides: { port: 0, host: '127.0.0.1', dataDir: dir, databaseUrl: database.databaseUrl, adminPassword: ADMIN_PASSWORD, logLevel: 'silent', ...settings },
  });
  const server = await createServer(config, { print: () => undefined });
  cleanups.push(() => server.close());
  return { server, url: await server.listen(), dataDir: dir };
}

const statusOf = (promise: Promise<unknown>) => promise.then(() => 200, (error: unknown) => (error instanceof ApiError ? error.status : 0));

describePostgres('secrets in the database', () => {
  it('replicas started together with the same key agree on the JWT key: a token of one works on the others', async () => {
    const database = await freshDatabase('postgres');
    const secretsKey = randomBytes(32).toString('base64url');
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica(database, { secretsKey })));
    const client = new LdfleetClient({ baseUrl: replicas[0]!.url });
    const pair = await client.login('admin', ADMIN_PASSWORD);
    for (const replica of replicas) {
      const me = await new LdfleetClient({ baseUrl: replica.url, token: pair.accessToken }).me();
      expect(me.user.username).toBe('admin');
      // Each was handed the key, so none generated a key file of its own.
      expect(existsSync(join(replica.dataDir, 'secrets.key'))).toBe(false);
    }
    // At rest the JWT key is ciphertext; one row however many replicas raced to create it.
    const rows = await replicas[0]!.server.store.db.selectFrom('secrets').selectAll().execute();
    expect(rows.map((row) => row.name)).toEqual(['jwt']);
    expect(rows[0]!.value).toMatch(/^v1\./);
  });

  it('refuses to start with a key other than the one the secrets were encrypted with', async () => {
    const database = await freshDatabase('postgres');
    await startReplica(database, { secretsKey: 'k'.repeat(40) });
    await expect(startReplica(database, { secretsKey: 'x'.repeat(40) })).rejects.toThrow(/encrypted with another secrets key/);
  });

  it('reads the key from secretsKeyFile', async () => {
    const database = await freshDatabase('postgres');
    const dir = mkdtempSync(join(tmpdir(), 'ldfleet-key-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    const first = await startReplica(database, { secretsKeyFile: keyFile });
    const second = await startReplica(database, { secretsKey: (await import('node:fs')).readFileSync(keyFile, 'utf8').trim() });
    const pair = await new LdfleetClient({ baseUrl: first.url }).login('admin', ADMIN_PASSWORD);
    expect((await new LdfleetClient({ baseUrl: second.url, token: pair.accessToken }).me()).user.username).toBe('admin');
  });
});

describeStores('secrets of a single server', (kind) => {
  it('generates a 0600 key file in the data directory and moves secrets.json into the table', async () => {
    const database = await freshDatabase(kind);
    const legacyJwt = randomBytes(48).toString('base64url');
    // A server of an earlier version issued a token with the JWT key of its secrets.json.
    const before = await startReplica(database, { jwtSecret: legacyJwt }, database.dataDir);
    const pair = await new LdfleetClient({ baseUrl: before.url }).login('admin', ADMIN_PASSWORD);
    await before.server.close();
    writeFileSync(join(database.dataDir, 'secrets.json'), JSON.stringify({ jwtSecret: legacyJwt }), { mode: 0o600 });

    const after = await startReplica(database, {}, database.dataDir);
    expect((await new LdfleetClient({ baseUrl: after.url, token: pair.accessToken }).me()).user.username).toBe('admin');
    expect(existsSync(join(database.dataDir, 'secrets.json'))).toBe(false);
    expect(statSync(join(database.dataDir, 'secrets.key')).mode & 0o777).toBe(0o600);
    const dump = JSON.stringify(await after.server.store.db.selectFrom('secrets').selectAll().execute());
    expect(dump).not.toContain(legacyJwt);
  });
});

describePostgres('login throttling across replicas', () => {
  it('counts the failures of one address on every replica (database counters)', async () => {
    const database = await freshDatabase('postgres');
    const secretsKey = randomBytes(32).toString('base64url');
    const limits = { loginMaxPerUser: 3, loginMaxPerIp: 1000, loginWindowSeconds: 60 };
    const [a, b] = await Promise.all([startReplica(database, { secretsKey, ...limits }), startReplica(database, { secretsKey, ...limits })]);
    expect(await statusOf(new LdfleetClient({ baseUrl: a.url }).login('admin', 'wrong-password-1'))).toBe(401);
    expect(await statusOf(new LdfleetClient({ baseUrl: b.url }).login('admin', 'wrong-password-2'))).toBe(401);
    expect(await statusOf(new LdfleetClient({ baseUrl: a.url }).login('admin', 'wrong-password-3'))).toBe(401);
    expect(await statusOf(new LdfleetClient({ baseUrl: b.url }).login('admin', ADMIN_PASSWORD))).toBe(429);
    expect(await statusOf(new LdfleetClient({ baseUrl: a.url }).login('admin', ADMIN_PASSWORD))).toBe(429);
  });

  it('counts them in Redis when redisUrl is set', async () => {
    const database = await freshDatabase('postgres');
    const secretsKey = randomBytes(32).toString('base64url');
    // A user name of its own: Redis outlives this test's database.
    const username = `redis-${randomBytes(4).toString('hex')}`;
    const limits = { loginMaxPerUser: 2, loginMaxPerIp: 100_000, loginWindowSeconds: 60, redisUrl: REDIS_URL };
    const [a, b] = await Promise.all([startReplica(database, { secretsKey, ...limits }), startReplica(database, { secretsKey, ...limits })]);
    const admin = new LdfleetClient({ baseUrl: a.url });
    await admin.login('admin', ADMIN_PASSWORD);
    await admin.createUser({ username, password: 'right-password-123', role: 'viewer' });
    expect(await statusOf(new LdfleetClient({ baseUrl: a.url }).login(username, 'wrong-password-1'))).toBe(401);
    expect(await statusOf(new LdfleetClient({ baseUrl: b.url }).login(username, 'wrong-password-2'))).toBe(401);
    expect(await statusOf(new LdfleetClient({ baseUrl: a.url }).login(username, 'right-password-123'))).toBe(429);
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => void redis.quit());
    expect(Number(await redis.get(`ldfleet:rate:login:user:${username}|127.0.0.1`))).toBe(3);
    expect(await redis.pttl(`ldfleet:rate:login:user:${username}|127.0.0.1`)).toBeGreaterThan(0);
  });
});

describe('Redis that cannot be reached', () => {
  it('fails the start with a clear message', async () => {
    const database = await freshDatabase('sqlite');
    await expect(startReplica(database, { redisUrl: 'redis://127.0.0.1:1' })).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
