/**
 * Every route the server registers, against every kind of bad credential and every role. The
 * route list comes from the server itself, so a new route is covered (or fails) without edits.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RegisteredRoute } from '../../src/server/auth/index.js';
import { ROLES, hasRole } from '../../src/server/auth/index.js';
import type { Role } from '../../src/server/auth/index.js';
import { TEST_JWT_SECRET, describeStores, startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

/** Routes that need no user credential on purpose (events and the agent channel check their own tokens). Adding one here is a security decision. */
const PUBLIC_API_ROUTES = new Set(['POST /api/v1/auth/login', 'POST /api/v1/auth/refresh', 'GET /api/v1/events', 'GET /api/v1/agent/connect']);

const key = (route: RegisteredRoute) => `${route.method} ${route.url}`;
const fillPath = (url: string) => url.replace(/:[A-Za-z]+/g, 'zz-no-such-id');

async function call(t: TestServer, route: RegisteredRoute, authorization: string | undefined, withBody = false): Promise<number> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  const hasBody = withBody && ['POST', 'PATCH', 'PUT'].includes(route.method);
  if (hasBody) headers['content-type'] = 'application/json';
  const response = await fetch(t.url + fillPath(route.url), { method: route.method, headers, body: hasBody ? '{}' : undefined });
  await response.arrayBuffer();
  return response.status;
}

function signAccess(claims: { sub: string; sid: string }, secret: string, expiresAt: number): Promise<string> {
  return new SignJWT({ sid: claims.sid, token_use: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setSubject(claims.sub)
    .setIssuer('ldfleet')
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));
}

function claimsOf(accessToken: string): { sub: string; sid: string } {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string; sid: string };
  return { sub: payload.sub, sid: payload.sid };
}

describeStores('security matrix', (kind) => {
  let t: TestServer;
  let protectedRoutes: RegisteredRoute[];
  const bearerOfRole = new Map<Role, string[]>();
  const invalid: Record<string, string | undefined> = {};

  beforeAll(async () => {
    t = await startTestServer(kind);
    // Logout with an empty body ends every session of the caller, so it runs last.
    const isLogout = (r: RegisteredRoute) => key(r) === 'POST /api/v1/auth/logout';
    const all = t.server.routes.filter((r) => r.url.startsWith('/api/v1') && r.auth !== 'public');
    protectedRoutes = [...all.filter((r) => !isLogout(r)), ...all.filter(isLogout)];

    for (const role of ROLES) {
      const { client } = await t.userWithRole(role);
      const apiToken = (await client.createToken({ name: `matrix-${role}` })).token;
      bearerOfRole.set(role, [`Bearer ${client.currentToken!}`, `Bearer ${apiToken}`]);
    }

    const victim = await t.userWithRole('operator');
    const claims = claimsOf(victim.client.currentToken!);
    const revoked = await victim.client.createToken({ name: 'to-revoke' });
    await victim.client.revokeToken(revoked.id);
    const disabled = await t.userWithRole('operator');
    const disabledApiToken = (await disabled.client.createToken({ name: 'disabled' })).token;
    await t.admin.updateUser(disabled.id, { disabled: true });

    Object.assign(invalid, {
      'no token': undefined,
      'not bearer': `Basic ${Buffer.from('admin:x').toString('base64')}`,
      'empty bearer': 'Bearer ',
      malformed: 'Bearer not.a.jwt',
      'random api token': `Bearer ldf_${randomBytes(32).toString('base64url')}`,
      expired: `Bearer ${await signAccess(claims, TEST_JWT_SECRET, Math.floor(Date.now() / 1000) - 60)}`,
      'wrong signature': `Bearer ${await signAccess(claims, 'another-secret-another-secret-another-secret', Math.floor(Date.now() / 1000) + 600)}`,
      'refresh token as access': `Bearer ${victim.client.currentRefreshToken!}`,
      'revoked api token': `Bearer ${revoked.token}`,
      'disabled user access token': `Bearer ${disabled.client.currentToken!}`,
      'disabled user api token': `Bearer ${disabledApiToken}`,
    });
  });
  afterAll(() => t?.close());

  it('has an access rule on every /api/v1 route and only the intended public ones', () => {
    expect(protectedRoutes.length).toBeGreaterThan(10);
    const publicOnes = t.server.routes.filter((r) => r.url.startsWith('/api/v1') && r.auth === 'public').map(key);
    for (const route of publicOnes) expect(PUBLIC_API_ROUTES.has(route), `${route} is public`).toBe(true);
  });

  it('answers 401 to every bad credential on every protected route', async () => {
    const failures: string[] = [];
    for (const route of protectedRoutes) {
      for (const [name, header] of Object.entries(invalid)) {
        const status = await call(t, route, header);
        if (status !== 401) failures.push(`${key(route)} with ${name}: ${status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers 403 to each role below the route’s and lets the right roles through', async () => {
    const failures: string[] = [];
    for (const route of protectedRoutes) {
      const required = route.auth as Role;
      for (const role of ROLES) {
        for (const header of bearerOfRole.get(role)!) {
          const status = await call(t, route, header, true);
          const allowed = hasRole(role, required);
          const ok = allowed ? status !== 401 && status !== 403 && status < 500 : status === 403;
          if (!ok) failures.push(`${key(route)} as ${role} (${header.slice(7, 11)}…): ${status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
