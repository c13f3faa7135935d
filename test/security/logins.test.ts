/**
 * Logins and tokens under attack (issue 12): lock-out by guessing, the last-admin race, tokens
 * that outlive their parent, weak password hashing, tokens in logged URLs.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/server/auth/index.js';
import { ApiError } from '../../src/sdk/index.js';
import { describeStores, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { loginFrom, requestFrom } from './helpers.js';

const ATTACKER = '127.0.0.2';
const USER = '127.0.0.1';

describe('password guessing', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { loginMaxPerUser: 10, loginMaxPerIp: 30, loginWindowSeconds: 600 });
  });
  afterAll(() => t.close());

  it('cannot lock the real user out: the attacker is slowed at its address, the user logs in from theirs', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await loginFrom(t.url, ATTACKER, 'admin', `wrong-password-${i}`));
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    // Even the right password waits at the attacker's address…
    expect(await loginFrom(t.url, ATTACKER, 'admin', t.adminPassword)).toBe(429);
    // …but not at the user's own.
    expect(await loginFrom(t.url, USER, 'admin', t.adminPassword)).toBe(200);
  });

  it("counts failures only: the user's successful logins never use up the window", async () => {
    for (let i = 0; i < 15; i++) expect(await loginFrom(t.url, USER, 'admin', t.adminPassword)).toBe(200);
  });

  it('writes no audit row for refused (429) attempts', async () => {
    const before = (await t.admin.listAudit({ action: 'auth.login', limit: 200 })).items.length;
    for (let i = 0; i < 5; i++) expect(await loginFrom(t.url, ATTACKER, 'admin', 'wrong-password-x')).toBe(429);
    const after = (await t.admin.listAudit({ action: 'auth.login', limit: 200 })).items.length;
    expect(after).toBe(before);
  });
});

describeStores('last-admin rule under concurrency', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(() => t.close());

  it('two admins demoting each other at once never leave zero active admins', async () => {
    const first = await t.userWithRole('admin');
    const second = await t.userWithRole('admin');
    const names = { [first.id]: (await t.admin.getUser(first.id)).username, [second.id]: (await t.admin.getUser(second.id)).username };
    // The built-in admin steps aside, so these two are the only active admins.
    const me = await t.admin.me();
    await first.client.updateUser(me.user.id, { disabled: true });
    // Bounded: 6 rounds, each with fresh sessions, re-promoting whoever lost.
    for (let round = 0; round < 6; round++) {
      const [a, b] = await Promise.all(
        [first, second].map(async (user) => {
          const client = t.client();
          await client.login(names[user.id] ?? '', user.password);
          return client;
        }),
      );
      // With a new password too: hashing it takes the server off the event loop between its check and its write.
      const changes = round % 2 === 0 ? { role: 'operator' as const, password: 'demoted-password-0123' } : { disabled: true, password: 'demoted-password-0123' };
      const results = await Promise.allSettled([a!.updateUser(second.id, changes), b!.updateUser(first.id, changes)]);
      const rows = await t.server.store.db.selectFrom('users').selectAll().execute();
      const active = rows.filter((row) => row.role === 'admin' && Number(row.disabled) === 0);
      expect(active.length).toBeGreaterThanOrEqual(1);
      // One demotion wins; the other is refused (409 when it raced the rule, 401/403 when it came after).
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      for (const user of [first, second]) {
        const password_hash = await hashPassword(user.password);
        await t.server.store.db.updateTable('users').set({ role: 'admin', disabled: 0, password_hash }).where('id', '=', user.id).execute();
      }
    }
  });
});

describe('API tokens', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(() => t.close());

  it('a token cannot mint a token that outlives it, and its children go with it', async () => {
    const parentExpiry = new Date(Date.now() + 2 * 60_000);
    const parent = await t.admin.createToken({ name: 'parent', expiresAt: parentExpiry.toISOString() });
    const viaParent = t.client(parent.token);
    const child = await viaParent.createToken({ name: 'child' });
    expect(child.expiresAt).not.toBeNull();
    expect(Date.parse(child.expiresAt ?? '')).toBeLessThanOrEqual(parentExpiry.getTime());
    const longer = await viaParent
      .createToken({ name: 'longer', expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
      .catch((error: unknown) => error);
    expect(longer).toBeInstanceOf(ApiError);
    expect((longer as ApiError).status).toBe(400);
    await t.admin.revokeToken(parent.id);
    expect(await t.client(child.token).me().catch((error: ApiError) => error.status)).toBe(401);
  });

  it("a password reset revokes the user's API tokens unless told not to", async () => {
    const user = await t.userWithRole('operator');
    const token = await user.client.createToken({ name: 'script' });
    await t.admin.updateUser(user.id, { password: 'a-new-password-0123' });
    expect(await t.client(token.token).me().catch((error: ApiError) => error.status)).toBe(401);

    const client = t.client();
    await client.login((await t.admin.getUser(user.id)).username, 'a-new-password-0123');
    const kept = await client.createToken({ name: 'kept' });
    await t.admin.request('PATCH', `/users/${user.id}`, { body: { password: 'another-password-0123', revokeTokens: false } });
    expect((await t.client(kept.token).me()).user.id).toBe(user.id);
  });
});

describe('password hashing', () => {
  it("meets OWASP's minimum (argon2id, m=19 MiB, t=2, p=1) and still verifies scrypt hashes", async () => {
    const hash = await hashPassword('correct horse battery');
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
    expect(match).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThanOrEqual(19_456);
    expect(Number(match?.[2])).toBeGreaterThanOrEqual(2);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('wrong', hash)).toBe(false);
  });

  it('upgrades a hash made with the old parameters at the next login', async () => {
    const t = await startTestServer('sqlite');
    try {
      const user = await t.userWithRole('viewer');
      const { scryptSync, randomBytes } = await import('node:crypto');
      const salt = randomBytes(16);
      const key = scryptSync(user.password.normalize('NFC'), salt, 32, { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
      const old = ['scrypt', 16_384, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
      await t.server.store.db.updateTable('users').set({ password_hash: old }).where('id', '=', user.id).execute();
      const username = (await t.admin.getUser(user.id)).username;
      await t.client().login(username, user.password);
      const row = await t.server.store.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row.password_hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
      await t.client().login(username, user.password);
    } finally {
      await t.close();
    }
  });
});

describe('tokens in logged URLs', () => {
  it('are masked after percent-decoding the parameter name', async () => {
    const log = new PassThrough();
    let lines = '';
    log.on('data', (chunk: Buffer) => (lines += chunk.toString()));
    const t = await startTestServer('sqlite', { logLevel: 'info' }, { logStream: log });
    try {
      const secret = 'eyJhbGciOiJIUzI1NiJ9.secret-part.signature';
      for (const name of ['token', '%74oken', 'TOKEN', '%74%6f%6b%65%6e', 'access%5Ftoken', 'refresh_token']) {
        await requestFrom(t.url, { path: `/api/v1/events?${name}=${secret}&topics=emulator.*` });
      }
      expect(lines).toContain('/api/v1/events?');
      expect(lines).not.toContain('secret-part');
    } finally {
      await t.close();
    }
  });
});
