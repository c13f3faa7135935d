import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiError } from '../../src/sdk/index.js';
import { describeStores, startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

describeStores('auth', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(() => t?.close());

  it('rotates refresh tokens and revokes the whole session when a used one comes back', async () => {
    const { client } = await t.userWithRole('viewer');
    const first = client.currentRefreshToken!;
    const second = await client.refresh();
    expect(second.refreshToken).not.toBe(first);
    expect((await client.me()).user.role).toBe('viewer');

    // Replaying the first (used) token is refused and kills the session: the newest tokens die too.
    expect(await statusOf(t.client().refresh(first))).toBe(401);
    expect(await statusOf(t.client().refresh(second.refreshToken))).toBe(401);
    expect(await statusOf(t.client(second.accessToken).me())).toBe(401);
  });

  it('logout revokes the refresh token and the access token of that session', async () => {
    const { client } = await t.userWithRole('viewer');
    const { currentToken: access, currentRefreshToken: refresh } = client;
    await client.logout();
    expect(await statusOf(t.client().refresh(refresh))).toBe(401);
    expect(await statusOf(t.client(access).me())).toBe(401);
  });

  it('a refresh token never works as an access token', async () => {
    const { client } = await t.userWithRole('admin');
    expect(await statusOf(t.client(client.currentRefreshToken).me())).toBe(401);
  });

  it('refuses wrong passwords and unknown users alike', async () => {
    const wrong = await statusOf(t.client().login('admin', 'not-the-password'));
    const unknown = await statusOf(t.client().login('nobody-here', 'not-the-password'));
    expect([wrong, unknown]).toEqual([401, 401]);
  });

  it('protects the last active admin (409) and allows it once another exists', async () => {
    const me = await t.admin.me();
    const admins = (await t.admin.all((p) => t.admin.listUsers(p))).filter((u) => u.role === 'admin' && !u.disabled);
    for (const other of admins.filter((u) => u.id !== me.user.id)) await t.admin.updateUser(other.id, { disabled: true });
    for (const change of [{ disabled: true }, { role: 'viewer' as const }]) {
      expect(await statusOf(t.admin.updateUser(me.user.id, change))).toBe(409);
    }
    expect(await statusOf(t.admin.deleteUser(me.user.id))).toBe(409);
    const second = await t.userWithRole('admin');
    await second.client.updateUser(me.user.id, { role: 'operator' });
    expect(await statusOf(second.client.updateUser(second.id, { role: 'viewer' }))).toBe(409);
    await second.client.updateUser(me.user.id, { role: 'admin' });
  });

  it('disabling or deleting a user stops their access, refresh and API tokens at once', async () => {
    for (const action of ['disable', 'delete'] as const) {
      const { client, id } = await t.userWithRole('operator');
      const apiToken = (await client.createToken({ name: 'script' })).token;
      expect((await t.client(apiToken).me()).role).toBe('operator');
      if (action === 'disable') await t.admin.updateUser(id, { disabled: true });
      else await t.admin.deleteUser(id);
      expect(await statusOf(t.client(client.currentToken).me())).toBe(401);
      expect(await statusOf(t.client(apiToken).me())).toBe(401);
      expect(await statusOf(t.client().refresh(client.currentRefreshToken))).toBe(401);
    }
  });

  it('API tokens: shown once, role capped by the owner, revocable, expiring, last-used recorded', async () => {
    const { client } = await t.userWithRole('operator');
    expect(await statusOf(client.createToken({ name: 'too-high', role: 'admin' }))).toBe(403);
    const viewerToken = await client.createToken({ name: 'read-only', role: 'viewer' });
    expect(viewerToken.token).toMatch(/^ldf_/);
    const scoped = t.client(viewerToken.token);
    expect((await scoped.me()).role).toBe('viewer');
    expect(await statusOf(scoped.createWorkstation({ name: 'nope' }))).toBe(403);
    const listed = await client.listTokens();
    const entry = listed.items.find((item) => item.id === viewerToken.id);
    expect(entry).toBeDefined();
    expect(entry).not.toHaveProperty('token');
    expect(entry?.lastUsedAt).not.toBeNull();

    expect(await statusOf(client.createToken({ name: 'past', expiresAt: '2001-01-01T00:00:00Z' }))).toBe(400);
    await client.revokeToken(viewerToken.id);
    expect(await statusOf(scoped.me())).toBe(401);
  });

  it('stores no raw token or password anywhere in the database', async () => {
    const { client, password } = await t.userWithRole('operator');
    const apiToken = (await client.createToken({ name: 'dump-check' })).token;
    const { enrollmentToken } = await t.admin.createWorkstation({ name: `dump-${kind}` });
    const rotated = (await t.admin.listWorkstations()).items[0]!;
    const secrets = [apiToken, enrollmentToken, client.currentRefreshToken!, client.currentToken!, password, t.adminPassword];
    const dump = await t.dumpDatabase();
    expect(rotated).toBeDefined();
    for (const secret of secrets) expect(dump.includes(secret), `secret ${secret.slice(0, 8)}… in the database`).toBe(false);
  });

  it('audits logins and mutating requests with actor, action, target, ip and outcome', async () => {
    await statusOf(t.client().login('admin', 'definitely-wrong-pw'));
    const created = await t.admin.createWorkstation({ name: `audited-${kind}` });
    await t.admin.deleteWorkstation(created.workstation.id);
    const logins = await t.admin.listAudit({ action: 'auth.login', actor: 'admin', outcome: 'denied' });
    expect(logins.items.length).toBeGreaterThan(0);
    expect(logins.items[0]).toMatchObject({ actorName: 'admin', statusCode: 401, ip: '127.0.0.1' });
    const deletes = await t.admin.listAudit({ target: created.workstation.id });
    expect(deletes.items.map((e) => e.action)).toEqual(['DELETE /api/v1/workstations/:id', 'POST /api/v1/workstations']);
    expect(deletes.items[0]).toMatchObject({ actorName: 'admin', outcome: 'success', statusCode: 204 });
    const page = await t.admin.listAudit({ limit: 2 });
    expect(page.items).toHaveLength(2);
    const next = await t.admin.listAudit({ limit: 2, cursor: page.nextCursor! });
    expect(next.items[0]!.id < page.items[1]!.id).toBe(true);
  });
});

describeStores('login rate limit', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { loginMaxPerUser: 3, loginMaxPerIp: 1000, loginWindowSeconds: 60 });
  });
  afterAll(() => t?.close());

  it('answers 429 with Retry-After past the per-user limit', async () => {
    // Only failures count (the admin's login at start-up did not): three reach the limit of 3,
    // and from this address even the right password waits now.
    for (let i = 0; i < 3; i++) expect(await statusOf(t.client().login('admin', 'wrong-password-x'))).toBe(401);
    const error = await t.client().login('admin', t.adminPassword).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(429);
    expect((error as ApiError).code).toBe('rate_limited');
    expect(Number((error as ApiError).headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user name is not affected by this one's limit.
    expect(await statusOf(t.client().login('someone-else', 'wrong-password-x'))).toBe(401);
  });
});

describeStores('login limits and timing', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { loginMaxPerIp: 6, loginMaxPerUser: 1000, loginWindowSeconds: 60 });
  });
  afterAll(() => t?.close());

  it('limits attempts per IP across user names', async () => {
    // Six failures under different names fill the address's window of 6 (the admin's successful login did not count).
    for (let i = 0; i < 6; i++) expect(await statusOf(t.client().login(`name-${i}`, 'wrong-password-x'))).toBe(401);
    expect(await statusOf(t.client().login('name-x', 'wrong-password-x'))).toBe(429);
  });
});

describeStores('login timing', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(() => t?.close());

  it('takes about as long for an unknown user as for a wrong password', async () => {
    const median = async (username: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await statusOf(t.client().login(username, 'wrong-password-x'));
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[2]!;
    };
    const known = await median('admin');
    const unknown = await median('no-such-user');
    // Both pay for one password hash; a fast path for unknown names would be several times quicker.
    expect(unknown).toBeGreaterThan(known * 0.4);
  });
});
