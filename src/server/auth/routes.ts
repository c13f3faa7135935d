import { Type } from '@sinclair/typebox';
import { HttpError, unauthorized } from '../http/errors.js';
import { IdParams, PageOf, PageQuery, Text, errorResponses } from '../http/schemas.js';
import type { App } from '../http/type-provider.js';
import type { ServerUnit } from '../http/index.js';
import type { Config } from '../config/index.js';
import type { AuditLog } from './audit.js';
import type { AuthService } from './service.js';

/** What the auth routes need from the server's assembly. */
interface AuthRouteContext {
  readonly auth: AuthService;
  readonly audit: AuditLog;
  readonly config: Config;
  /** Counters every replica shares (login throttling). */
  readonly counters: WindowCounters;
}
import { MIN_PASSWORD_LENGTH } from './passwords.js';
import { LoginThrottle } from './rate-limit.js';
import type { WindowCounters } from '../shared/index.js';
import { ROLES } from './roles.js';
import type { Principal } from './principal.js';
import { changesBetween, changesOf, REDACTED } from './audit.js';

const RoleSchema = Type.Union(ROLES.map((role) => Type.Literal(role)));
const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024, pattern: '^[^\\u0000]*$' });
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$' });

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const TokenPairSchema = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer(),
  user: UserSchema,
});

const ApiTokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

const AuditEntrySchema = Type.Object({
  id: Type.String(),
  at: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorName: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Union([
    Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]), name: Type.Union([Type.String(), Type.Null()]) }),
    Type.Null(),
  ]),
  changes: Type.Union([
    Type.Record(Type.String(), Type.Object({ from: Type.Optional(Type.Unknown()), to: Type.Optional(Type.Unknown()) })),
    Type.Null(),
  ]),
  ip: Type.String(),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]),
  statusCode: Type.Integer(),
  requestId: Type.String(),
});

/** The route's caller; only called on routes whose guard has authenticated. */
function caller(principal: Principal | null): Principal {
  if (!principal) throw unauthorized();
  return principal;
}

function authRoutes(api: App, { auth, audit, config, counters }: AuthRouteContext): void {
  const throttle = new LoginThrottle(counters, {
    maxPerIp: config.loginMaxPerIp,
    maxPerUser: config.loginMaxPerUser,
    windowMs: config.loginWindowSeconds * 1000,
  });

  api.post(
    '/auth/login',
    {
      config: { auth: 'public', audit: false },
      schema: {
        tags: ['auth'],
        summary: 'Log in; returns an access token and a refresh token',
        body: Type.Object({ username: Text({ minLength: 1, maxLength: 256 }), password: Text({ maxLength: 1024 }) }),
        response: { 200: TokenPairSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => {
      const { username, password } = request.body;
      const record = (statusCode: number, actorId: string | null) =>
        audit.record({
          actorId,
          actorName: username,
          action: 'auth.login',
          target: { type: 'user', id: actorId, name: username },
          ip: request.ip,
          statusCode,
          requestId: request.id,
        });
      const wait = await throttle.attempt(request.ip, username);
      // Refused without hashing and without an audit row (the refusal metric counts it): a
      // flood of refused guesses costs neither CPU nor audit space.
      if (wait > 0) throw new HttpError(429, 'rate_limited', 'too many failed logins from this address; try again later', { retryAfterSeconds: wait });
      const pair = await auth.login(username, password);
      await record(pair ? 200 : 401, pair?.user.id ?? null);
      if (!pair) throw unauthorized('wrong user name or password, or the user is disabled');
      await throttle.succeeded(request.ip, username);
      return pair;
    },
  );

  api.post(
    '/auth/refresh',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for a new pair; the old one stops working',
        body: Type.Object({ refreshToken: Text({ minLength: 1, maxLength: 512 }) }),
        response: { 200: TokenPairSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const pair = await auth.refresh(request.body.refreshToken);
      if (!pair) throw unauthorized('the refresh token is invalid, expired, used or revoked');
      request.principal = { userId: pair.user.id, username: pair.user.username, role: pair.user.role, via: 'access' };
      request.audit({ target: { type: 'user', id: pair.user.id, name: pair.user.username }, changes: null });
      return pair;
    },
  );

  api.post(
    '/auth/logout',
    {
      config: { auth: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: "Revoke the given refresh token's session, or every session of the caller when none is given",
        body: Type.Optional(Type.Object({ refreshToken: Type.Optional(Text({ minLength: 1, maxLength: 512 })) })),
        response: { 204: Type.Null(), ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const principal = caller(request.principal);
      const scope = request.body.refreshToken === undefined ? 'every session' : 'one session';
      request.audit({ target: { type: 'user', id: principal.userId, name: principal.username }, changes: { sessions: { to: `${scope} revoked` } } });
      await auth.logout(principal, request.body.refreshToken);
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/auth/me',
    {
      config: { auth: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: 'The caller, with the role this credential acts with',
        response: { 200: Type.Object({ user: UserSchema, role: RoleSchema, via: Type.String() }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const principal = caller(request.principal);
      return { user: await auth.users.get(principal.userId), role: principal.role, via: principal.via };
    },
  );
}

function userRoutes(api: App, { auth }: AuthRouteContext): void {
  const tags = ['users'];
  api.get(
    '/users',
    {
      config: { auth: 'admin' },
      schema: { tags, querystring: Type.Object(PageQuery), response: { 200: PageOf(UserSchema), ...errorResponses(400, 401, 403) } },
    },
    async (request) => auth.users.list(request.query),
  );
  api.post(
    '/users',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        body: Type.Object({ username: Username, password: Password, role: RoleSchema }),
        response: { 201: UserSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      request.audit({ target: { type: 'user', id: null, name: request.body.username } });
      const user = await auth.users.create(request.body);
      request.audit({ target: { type: 'user', id: user.id, name: user.username } });
      return reply.status(201).send(user);
    },
  );
  api.get(
    '/users/:id',
    {
      config: { auth: 'admin' },
      schema: { tags, params: IdParams, response: { 200: UserSchema, ...errorResponses(401, 403, 404) } },
    },
    async (request) => auth.users.get(request.params.id),
  );
  api.patch(
    '/users/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        params: IdParams,
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            disabled: Type.Optional(Type.Boolean()),
            password: Type.Optional(Password),
            revokeTokens: Type.Optional(
              Type.Boolean({ description: "with a new password: also revoke the user's API tokens (default true)" }),
            ),
          },
          { minProperties: 1 },
        ),
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const before = await auth.users.get(request.params.id);
      request.audit({ target: { type: 'user', id: before.id, name: before.username } });
      const after = await auth.users.update(request.params.id, request.body);
      request.audit({ changes: changesBetween(before, after, request.body) });
      return after;
    },
  );
  api.delete(
    '/users/:id',
    {
      config: { auth: 'admin' },
      schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) } },
    },
    async (request, reply) => {
      const user = await auth.users.get(request.params.id);
      request.audit({ target: { type: 'user', id: user.id, name: user.username }, changes: null });
      await auth.users.delete(request.params.id);
      return reply.status(204).send(null);
    },
  );
}

function tokenRoutes(api: App, { auth }: AuthRouteContext): void {
  const tags = ['tokens'];
  api.get(
    '/tokens',
    {
      config: { auth: 'viewer' },
      schema: { tags, querystring: Type.Object(PageQuery), response: { 200: PageOf(ApiTokenSchema), ...errorResponses(400, 401) } },
    },
    async (request) => auth.apiTokens.listOwn(caller(request.principal), request.query),
  );
  api.post(
    '/tokens',
    {
      config: { auth: 'viewer' },
      schema: {
        tags,
        summary: 'Create an API token for scripts; the token is in this reply only',
        body: Type.Object({
          name: Text({ minLength: 1, maxLength: 100 }),
          role: Type.Optional(RoleSchema),
          expiresAt: Type.Optional(Type.String({ format: 'date-time', maxLength: 64 })),
        }),
        response: { 201: Type.Composite([ApiTokenSchema, Type.Object({ token: Type.String() })]), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const token = await auth.apiTokens.create(caller(request.principal), request.body);
      request.audit({
        target: { type: 'api_token', id: token.id, name: token.name },
        changes: { ...changesOf({ name: token.name, role: token.role, expiresAt: token.expiresAt }), token: { to: REDACTED } },
      });
      return reply.status(201).send(token);
    },
  );
  api.delete(
    '/tokens/:id',
    {
      config: { auth: 'viewer' },
      schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errorResponses(401, 404) } },
    },
    async (request, reply) => {
      request.audit({ target: { type: 'api_token', id: request.params.id, name: null }, changes: null });
      const revoked = await auth.apiTokens.revoke(caller(request.principal), request.params.id);
      request.audit({ target: { type: 'api_token', id: revoked.id, name: revoked.name } });
      return reply.status(204).send(null);
    },
  );
}

function auditRoutes(api: App, { audit }: AuthRouteContext): void {
  api.get(
    '/audit',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['audit'],
        summary: 'Who did what, when, from where; newest first',
        querystring: Type.Object({
          ...PageQuery,
          actor: Type.Optional(Type.String({ maxLength: 256 })),
          action: Type.Optional(Type.String({ maxLength: 256 })),
          target: Type.Optional(Type.String({ maxLength: 256, description: "the target's id or name" })),
          targetType: Type.Optional(Type.String({ maxLength: 100, description: 'user, api_token, workstation, emulator, batch…' })),
          outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])),
          since: Type.Optional(Type.String({ format: 'date-time' })),
          until: Type.Optional(Type.String({ format: 'date-time' })),
        }),
        response: { 200: PageOf(AuditEntrySchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      return audit.list(filter, { limit, cursor });
    },
  );
}

/** Login, sessions, users, API tokens and the audit log. */
export const authUnit: ServerUnit<AuthRouteContext> = {
  name: 'auth',
  routes(api, context) {
    authRoutes(api, context);
    userRoutes(api, context);
    tokenRoutes(api, context);
    auditRoutes(api, context);
  },
};
