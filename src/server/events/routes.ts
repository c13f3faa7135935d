/**
 * `GET /api/v1/events`: the live event stream over a WebSocket. Each event is one JSON text
 * frame `{type, at, data}`. A client that cannot keep up is dropped instead of being buffered
 * without bound: one slow dashboard must not slow the server or the other clients.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { App, ServerUnit } from '../http/index.js';
import type { EventBus } from './bus.js';
import { InvalidTopicError, parseTopics } from './topics.js';

/** Under the API prefix: `/api/v1/events`. */
export const EVENTS_PATH = '/events';

/** Close codes the stream uses (4000–4999 are the application's). */
export const EventsCloseCode = {
  /** The client read too slowly: its send buffer passed the bound. */
  slowConsumer: 4001,
  /** The client answered no ping within one interval. */
  unresponsive: 4002,
  serverShutdown: 1001,
} as const;

/** Whoever the token names; any authenticated principal is at least a viewer. */
export interface EventsPrincipal {
  readonly username: string;
}

export interface EventsRouteOptions {
  readonly bus: EventBus;
  /** Resolves an access JWT or API token to its principal, or null when it is not valid. */
  readonly authenticate: (token: string) => Promise<EventsPrincipal | null>;
  /** Bytes queued for one client past which it is dropped (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** How often clients are pinged; one missing pong closes them (default 30 s). */
  readonly pingIntervalMs?: number;
  /** How long a dropped client gets to read its close frame before the socket is cut (default 5 s). */
  readonly closeGraceMs?: number;
}

interface Subscription {
  readonly principal: EventsPrincipal;
  readonly accepts: (type: string) => boolean;
}

/** Reads the token from `Authorization: Bearer …`, else from `?token=` (browsers cannot set headers). */
function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const query = request.query as { token?: unknown } | undefined;
  return typeof query?.token === 'string' ? query.token : undefined;
}

function topicsOf(request: FastifyRequest): string | undefined {
  const topics = (request.query as { topics?: unknown } | undefined)?.topics;
  return typeof topics === 'string' ? topics : undefined;
}

async function refuse(reply: FastifyReply, status: number, code: string, message: string): Promise<void> {
  await reply.status(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

/** The `/events` stream as a server unit. */
export function eventsUnit(options: EventsRouteOptions): ServerUnit {
  return { name: 'events', routes: (api) => registerEventsRoute(api, options) };
}

export function registerEventsRoute(app: App, options: EventsRouteOptions): void {
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const closeGraceMs = options.closeGraceMs ?? 5_000;
  const subscriptions = new WeakMap<FastifyRequest, Subscription>();

  app.get(
    EVENTS_PATH,
    {
      websocket: true,
      // `?token=` is masked by the request log serializer of the HTTP unit.
      schema: {
        tags: ['events'],
        summary: 'WebSocket: live events as JSON frames {type, at, data}; ?topics=emulator.*,workstation.online',
        querystring: Type.Object({
          token: Type.Optional(Type.String({ maxLength: 4096, description: 'an access or API token, for clients that cannot send Authorization' })),
          topics: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated event types; emulator.* takes a family, * everything; none means everything' })),
        }),
      },
      // Authenticated here rather than by the core's header check, since browsers send `?token=`.
      config: { auth: 'public' },
      onRequest: async (request, reply) => {
        const token = tokenOf(request);
        const principal = token ? await options.authenticate(token) : null;
        if (!principal) return refuse(reply, 401, 'unauthorized', 'a valid access or API token is required');
        let accepts: (type: string) => boolean;
        try {
          accepts = parseTopics(topicsOf(request));
        } catch (error) {
          if (error instanceof InvalidTopicError) return refuse(reply, 400, 'validation_failed', error.message);
          throw error;
        }
        subscriptions.set(request, { principal, accepts });
      },
    },
    (socket, request) => {
      const subscription = subscriptions.get(request);
      if (!subscription) {
        socket.close(1011, 'not authenticated');
        return;
      }
      streamEvents(socket, subscription, { bus: options.bus, maxBufferedBytes, pingIntervalMs, closeGraceMs });
    },
  );
}

interface StreamLimits {
  readonly bus: EventBus;
  readonly maxBufferedBytes: number;
  readonly pingIntervalMs: number;
  readonly closeGraceMs: number;
}

function streamEvents(socket: WebSocket, subscription: Subscription, limits: StreamLimits): void {
  let alive = true;
  let graceTimer: NodeJS.Timeout | undefined;

  const drop = (code: number, reason: string) => {
    stop();
    socket.close(code, reason);
    // A client that reads nothing never sees the close frame queued behind its backlog.
    graceTimer = setTimeout(() => socket.terminate(), limits.closeGraceMs);
    graceTimer.unref();
  };

  const unsubscribe = limits.bus.subscribe((event) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > limits.maxBufferedBytes) {
      drop(EventsCloseCode.slowConsumer, 'too slow: events were dropped');
      return;
    }
    socket.send(JSON.stringify(event));
  }, subscription.accepts);

  const pinger = setInterval(() => {
    if (!alive) {
      drop(EventsCloseCode.unresponsive, 'no pong');
      return;
    }
    alive = false;
    socket.ping();
  }, limits.pingIntervalMs);
  pinger.unref();

  function stop(): void {
    unsubscribe();
    clearInterval(pinger);
  }

  socket.on('pong', () => {
    alive = true;
  });
  // The stream is one-way; anything a client sends is ignored.
  socket.on('message', () => undefined);
  socket.on('error', () => undefined);
  socket.on('close', () => {
    stop();
    clearTimeout(graceTimer);
  });
}
