import type { FastifyInstance, FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../http/errors.js';
import { hasRole, isRole } from './roles.js';
import type { RouteAuth } from './roles.js';
import type { Principal } from './principal.js';
import type { AuthService } from './service.js';
import { changesOf } from './audit.js';
import type { AuditDetail, AuditLog, AuditTarget } from './audit.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: `public` or the least role. Required on every /api/v1 route. */
    auth?: RouteAuth;
    /** Set to false when the handler writes its own audit entry (login). */
    audit?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes and before authentication. */
    principal: Principal | null;
    /**
     * Tells the audit entry of this request what it acted on and what it changed:
     * `request.audit({ target: { type: 'user', id, name }, changes: { role: { from, to } } })`.
     * Later calls add to earlier ones. Without it the entry names the `:id` of the path (or the
     * `id` of the created resource in the reply) and the body's fields as changes.
     */
    audit(detail: AuditDetail): void;
  }
}

export const API_PREFIX = '/api/v1';

export interface RegisteredRoute {
  method: string;
  url: string;
  auth: RouteAuth;
}

/**
 * Makes every route state its access rule, and enforces it. A route under /api/v1 registered
 * without `config.auth` fails at start-up, so no endpoint can be left open by omission.
 * Routes elsewhere (health, metrics, docs) are public unless they say otherwise.
 */
export function installAuthGuard(app: FastifyInstance, auth: AuthService, routes: RegisteredRoute[]): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    const rule = route.config?.auth;
    if (route.url.startsWith(API_PREFIX) && rule === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} has no config.auth: say 'public' or the least role`);
    }
    if (rule !== undefined && rule !== 'public' && !isRole(rule)) {
      throw new Error(`route ${route.url} has an unknown config.auth ${String(rule)}`);
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      routes.push({ method, url: route.url, auth: rule ?? 'public' });
    }
  });

  // onRequest runs before the body is read: unauthenticated callers cannot make us parse anything.
  app.addHook('onRequest', async (request) => {
    const rule = request.routeOptions.config.auth;
    if (rule === undefined || rule === 'public') return;
    const principal = await authenticate(request, auth);
    request.principal = principal;
    if (!hasRole(principal.role, rule)) throw forbidden(`this requires the ${rule} role`);
  });
}

async function authenticate(request: FastifyRequest, auth: AuthService): Promise<Principal> {
  const header = request.headers.authorization;
  if (typeof header !== 'string') throw unauthorized();
  const match = /^Bearer +(\S{1,4096})\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized('the Authorization header must be "Bearer <token>"');
  const principal = await auth.authenticate(match[1]);
  if (!principal) throw unauthorized('the token is invalid, expired or revoked');
  return principal;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `/api/v1/batches/:id/cancel` → `batch`; `/api/v1/users` → `user`. */
export function targetTypeOf(url: string): string {
  const resource = url.slice(API_PREFIX.length).split('/').find((segment) => segment !== '') ?? 'api';
  if (/(?:ch|sh|x|ss)es$/.test(resource)) return resource.slice(0, -2);
  return resource.endsWith('s') ? resource.slice(0, -1) : resource;
}

/** What the entry names when the route said nothing: the path's `:id`, else the created resource. */
function defaultTarget(url: string, params: unknown, created: { id?: unknown; name?: unknown } | undefined): AuditTarget | null {
  const id = (params as { id?: unknown } | undefined)?.id;
  if (typeof id === 'string') return { type: targetTypeOf(url), id, name: null };
  if (created && typeof created.id === 'string') {
    return { type: targetTypeOf(url), id: created.id, name: typeof created.name === 'string' ? created.name : null };
  }
  return null;
}

/**
 * Writes an audit entry for every mutating request that reached a route, whatever its outcome,
 * with what the route told `request.audit` (target, changes; secrets redacted when stored).
 */
export function installAuditHook(app: FastifyInstance, audit: AuditLog): void {
  const details = new WeakMap<FastifyRequest, AuditDetail>();
  const created = new WeakMap<FastifyRequest, { id?: unknown; name?: unknown }>();
  app.decorateRequest('audit', function (this: FastifyRequest, detail: AuditDetail) {
    details.set(this, { ...details.get(this), ...detail });
  });
  app.addHook('preSerialization', async (request, reply, payload) => {
    if (MUTATING.has(request.method) && reply.statusCode < 300 && payload !== null && typeof payload === 'object') {
      created.set(request, payload);
    }
    return payload;
  });
  // Written before the reply leaves (onSend, not onResponse): a client that reads the audit log
  // right after its change finds the change there.
  app.addHook('onSend', async (request, reply, payload) => {
    const config = request.routeOptions.config;
    const url = request.routeOptions.url;
    if (!MUTATING.has(request.method) || url === undefined || config.audit === false) return payload;
    const detail = details.get(request) ?? {};
    const entry = {
      actorId: request.principal?.userId ?? null,
      actorName: request.principal?.username ?? null,
      action: `${request.method} ${url}`,
      target: detail.target !== undefined ? detail.target : defaultTarget(url, request.params, created.get(request)),
      changes: detail.changes !== undefined ? detail.changes : changesOf(request.body),
      ip: request.ip,
      statusCode: reply.statusCode,
      requestId: request.id,
    };
    try {
      if (request.principal === null && reply.statusCode === 401) {
        if (await audit.recordRefusal(entry)) request.log.warn({ ip: request.ip, action: entry.action }, 'refused an anonymous request (sampled)');
      } else {
        await audit.record(entry);
      }
    } catch (error) {
      request.log.error({ err: error }, 'audit entry could not be written');
    }
    return payload;
  });
}
