import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import Fastify from 'fastify';
import type { FastifyInstance, FastifySchema, FastifyServerOptions } from 'fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import type { Config } from '../config/index.js';
import { HttpError, sendError, notFound } from './errors.js';
import type { App, TypeBoxTypeProvider } from './type-provider.js';
import type { Store } from '../store/index.js';
import { formatSchemaErrors, schemaController } from './validation.js';

/** Query parameters that may carry credentials (compared decoded and lower-cased); masked in request logs. */
const SECRET_PARAMS = new Set(['token', 'access_token', 'refreshtoken', 'refresh_token']);

/**
 * The URL with the values of credential parameters masked. Names are compared after
 * percent-decoding, so `?%74oken=` is masked like `?token=`; a name that does not decode is
 * masked too, rather than logged in doubt.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const pairs = url.slice(start + 1).split('&').map((pair) => {
    const equals = pair.indexOf('=');
    const rawName = equals < 0 ? pair : pair.slice(0, equals);
    let name: string | undefined;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' ')).trim().toLowerCase();
    } catch {
      name = undefined;
    }
    return name !== undefined && !SECRET_PARAMS.has(name) ? pair : `${rawName}=[redacted]`;
  });
  return `${url.slice(0, start)}?${pairs.join('&')}`;
}

/** A client's `x-request-id` is kept only when short and plain; anything else gets a fresh id. */
const REQUEST_ID = /^[A-Za-z0-9-]{1,64}$/;

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function loggerOptions(config: Config, stream: NodeJS.WritableStream | undefined): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.refreshToken', '*.token', '*.enrollmentToken'],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, url: redactUrl(request.url), ip: request.ip, id: request.id };
      },
    },
  };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Options of Node's HTTP(S) server that Fastify does not name: the headers timeout and how
 * often Node checks the timeouts (30 s by default, far too coarse for a 15 s bound); TLS.
 */
function serverOptions(config: Config): { http: object } | { https: object } {
  const headersTimeout = Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  const timing = { headersTimeout, connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(headersTimeout / 4))) };
  if (config.tlsCert === undefined || config.tlsKey === undefined) return { http: timing };
  return { https: { ...timing, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } };
}

/** The Fastify instance with the error model, security headers, CORS and the OpenAPI document. */
export async function buildApp(config: Config, logStream?: NodeJS.WritableStream): Promise<App> {
  const app = Fastify({
    logger: loggerOptions(config, logStream),
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimit,
    // Slow clients cannot hold sockets: a whole request must arrive within requestTimeoutMs,
    // its headers within headersTimeoutMs, and a silent connection is closed after idleTimeoutMs.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.idleTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    ...serverOptions(config),
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Errors the router raises before any route (a too-long path parameter, a bad URL) get the error model too.
    frameworkErrors: (error, request, reply) => {
      void sendError(request, reply, error);
    },
    // Requests are accepted into at most this many query parameters, so `?a&a&a…` costs little.
    routerOptions: { maxParamLength: 500 },
    schemaController,
    schemaErrorFormatter: formatSchemaErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON is the only body this API reads; anything else is answered 415 rather than parsed.
  app.removeContentTypeParser('text/plain');
  acceptEmptyJson(app);
  // No body is an empty object: `POST …/start` needs none, and a route that does need fields
  // says which ("must have required property 'name'") rather than "body must be object".
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && BODY_METHODS.has(request.method)) request.body = {};
  });
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, notFound(`route ${request.method} ${request.url.split('?')[0]}`)));
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  // Over plain HTTP (a farm's LAN) `upgrade-insecure-requests` would send /docs' assets to an
  // https:// that does not exist, and HSTS is ignored by browsers anyway; both only under TLS.
  await app.register(helmet, {
    global: true,
    strictTransportSecurity: false,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
  app.addHook('onSend', async (request, reply) => {
    if (request.protocol === 'https') void reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
  });
  await app.register(cors, { origin: config.corsOrigins.length > 0 ? config.corsOrigins : false, credentials: false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'ldfleet API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // @fastify/websocket hides its routes; one with a summary is meant to be read (`/api/v1/events`).
    transform: ({ schema, url, route }) => {
      // A route registered without a schema comes here with `schema` undefined, whatever the type says.
      const given = schema as FastifySchema | undefined;
      const documented = (route as { websocket?: boolean }).websocket === true && typeof given?.summary === 'string';
      return { schema: documented ? { ...schema, hide: false } : schema, url };
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/g, ''),
  });
  return app;
}

/**
 * `content-type: application/json` with no body (what `curl -X POST -H 'content-type:
 * application/json'` sends) reads as no body, like a request without the header, instead of a 400.
 */
function acceptEmptyJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    // Fastify's default JSON parser answers through `done` and returns nothing; its type also
    // admits the promise-returning kind of parser, hence the `void`.
    void parse(request, text, done);
  });
}

const NO_QUERY = Type.Object({}, { description: 'this route takes no query parameters' });

/**
 * Routes under `prefix` that declare no query schema take no query parameters: `?limit=5` on a
 * route that does not page is refused, not ignored. WebSocket routes read their own query.
 */
export function closeUndeclaredQueries(app: App, prefix: string): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(prefix) || (route as { websocket?: boolean }).websocket === true) return;
    if (route.schema?.querystring !== undefined) return;
    route.schema = { ...route.schema, querystring: NO_QUERY };
  });
}

/** `/healthz` (the process answers), `/readyz` (the store answers), `/metrics`, `/openapi.json`. */
export function registerOperationalRoutes(
  app: App,
  store: Store,
  metrics: () => Promise<string>,
  contentType: string,
  metricsToken?: string,
  /** Why the server should take no traffic besides the store (a replica's listener is down), or undefined. */
  notReady: () => string | undefined = () => undefined,
): void {
  const hide = { hide: true };
  app.get('/healthz', { config: { auth: 'public' }, schema: { ...hide, response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({
    status: 'ok',
  }));
  app.get('/readyz', { config: { auth: 'public' }, schema: hide }, async (_request, reply) => {
    const reason = (await store.ping()) ? notReady() : 'the store does not answer';
    return reply
      .status(reason === undefined ? 200 : 503)
      .send(reason === undefined ? { status: 'ready', store: store.kind } : { error: { code: 'not_ready', message: reason } });
  });
  const allowed = metricsToken === undefined ? () => true : bearerMatcher(metricsToken);
  app.get('/metrics', { config: { auth: 'public' }, schema: hide }, async (request, reply) => {
    if (!allowed(request.headers.authorization)) {
      return sendError(request, reply, new HttpError(401, 'unauthorized', '/metrics requires "Authorization: Bearer <metricsToken>"'));
    }
    return reply.type(contentType).send(await metrics());
  });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: hide }, async () => (app as unknown as FastifyInstance).swagger());
}

/** Compares `Bearer <token>` in constant time (digests of equal length, whatever was sent). */
function bearerMatcher(token: string): (header: string | undefined) => boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  const expected = digest(`Bearer ${token}`);
  return (header) => typeof header === 'string' && timingSafeEqual(digest(header.trim()), expected);
}
