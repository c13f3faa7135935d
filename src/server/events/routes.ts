/**
 * `GET /api/v1/events`: the live event stream over a WebSocket. Events arrive in JSON text
 * frames, each an array of `{type, at, data}`, one frame per frame interval (~50 ms) when
 * there is something to send; with `?coalesce=1` a frame keeps only the last state of each
 * emulator (`coalesce.ts`). A client that cannot keep up is dropped instead of being buffered
 * without bound: one slow dashboard must not slow the server or the other clients. Streams are
 * capped per user and overall, clients may send only tiny frames (the stream is one-way), and
 * a stream ends when its credential does: revoked, user disabled, or access token expired.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { App, ServerUnit } from '../http/index.js';
import type { EventBus } from './bus.js';
import { FrameFanout } from './frames.js';
import type { FrameMode } from './frames.js';
import { InvalidTopicError, parseTopicFilter } from './topics.js';
import type { TopicFilter } from './topics.js';

/** Under the API prefix: `/api/v1/events`. */
export const EVENTS_PATH = '/events';

/** Close codes the stream uses (4000–4999 are the application's). */
export const EventsCloseCode = {
  /** The client read too slowly: its send buffer passed the bound. */
  slowConsumer: 4001,
  /** The client answered no ping within one interval. */
  unresponsive: 4002,
  /** The stream's session, API token or user was revoked or disabled. */
  revoked: 4003,
  /** The access token expired; the client reconnects with a fresh one. */
  expired: 4004,
  /** The user already holds the most streams one user may open. */
  tooManyStreams: 4029,
  /** The server holds the most streams it takes; try again later (RFC 6455 1013). */
  serverBusy: 1013,
  /** The client sent a frame larger than the stream accepts (RFC 6455 1009). */
  frameTooLarge: 1009,
  serverShutdown: 1001,
} as const;

/** Whoever the token names; any authenticated principal is at least a viewer. */
export interface EventsPrincipal {
  readonly userId: string;
  readonly username: string;
  /** When the credential stops being valid (ms since the epoch); absent when it does not expire. */
  readonly expiresAt?: number | undefined;
}

export interface EventsRouteOptions {
  readonly bus: EventBus;
  /** Resolves an access JWT or API token to its principal, or null when it is not valid. */
  readonly authenticate: (token: string) => Promise<EventsPrincipal | null>;
  /** Bytes queued for one client past which it is dropped at the next flush (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** How long events gather into one frame before it is sent (default 50 ms). */
  readonly frameIntervalMs?: number;
  /**
   * Events a frame holds at most (per topic filter and mode, default 10,000); past it the frame
   * is one `stream.resync` instead and its clients refetch.
   */
  readonly maxEventsPerFrame?: number;
  /** How often clients are pinged; one missing pong closes them (default 30 s). */
  readonly pingIntervalMs?: number;
  /** How long a dropped client gets to read its close frame before the socket is cut (default 5 s). */
  readonly closeGraceMs?: number;
  /** Streams one user may hold at once (default 10); the next is closed with 4029. */
  readonly maxStreamsPerUser?: number;
  /**
   * The user's slots as every replica counts them (the cluster unit's, on PostgreSQL): a stream
   * admitted here is closed with 4029 when the user's other replicas hold the rest.
   */
  readonly sharedSlots?: SharedSlots;
  /** Streams the server holds at once (default 1000); the next is closed with 1013. */
  readonly maxStreams?: number;
  /** Largest frame a client may send (default 1 KiB); a larger one closes the stream with 1009. */
  readonly maxClientFrameBytes?: number;
  /**
   * Calls the listener with a user's id whenever a credential of that user may have been
   * revoked (logout, token revoked, user disabled, deleted or changed); returns the unsubscribe.
   */
  readonly onCredentialsChanged?: (listener: (userId: string) => void) => () => void;
  /** How often every stream re-checks its credential anyway (other replicas' revocations; default 60 s). */
  readonly recheckIntervalMs?: number;
}

/** Slots a user holds (event streams, synchronous reads), counted on every replica together. */
export interface SharedSlots {
  /** Takes one of the user's `max` slots; null when all of them are taken, on any replica. */
  acquire(userId: string, max: number): Promise<string | null>;
  release(slotId: string): void;
}

interface Subscription {
  readonly token: string;
  readonly principal: EventsPrincipal;
  readonly topics: TopicFilter;
  readonly mode: FrameMode;
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

function modeOf(request: FastifyRequest): FrameMode {
  return (request.query as { coalesce?: unknown } | undefined)?.coalesce === '1' ? 'coalesce' : 'all';
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
  const fanout = new FrameFanout(options.bus, {
    frameIntervalMs: options.frameIntervalMs ?? 50,
    maxEventsPerFrame: options.maxEventsPerFrame ?? 10_000,
  });
  app.addHook('onClose', async () => fanout.close());
  const limits: StreamLimits = {
    fanout,
    authenticate: options.authenticate,
    maxBufferedBytes,
    pingIntervalMs,
    closeGraceMs: options.closeGraceMs ?? 5_000,
    maxClientFrameBytes: options.maxClientFrameBytes ?? 1024,
    recheckIntervalMs: options.recheckIntervalMs ?? 60_000,
  };
  const maxStreamsPerUser = options.maxStreamsPerUser ?? 10;
  const registry = new StreamRegistry(maxStreamsPerUser, options.maxStreams ?? 1000);
  const unsubscribeChanges = options.onCredentialsChanged?.((userId) => registry.recheckUser(userId));
  if (unsubscribeChanges) app.addHook('onClose', async () => unsubscribeChanges());
  const subscriptions = new WeakMap<FastifyRequest, Subscription>();

  app.get(
    EVENTS_PATH,
    {
      websocket: true,
      // `?token=` is masked by the request log serializer of the HTTP unit.
      schema: {
        tags: ['events'],
        summary: 'WebSocket: live events, each frame a JSON array of {type, at, data}; ?topics=emulator.*,workstation.online; ?coalesce=1 keeps the last state of each emulator per frame',
        querystring: Type.Object({
          token: Type.Optional(Type.String({ maxLength: 4096, description: 'an access or API token, for clients that cannot send Authorization' })),
          topics: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated event types; emulator.* takes a family, * everything; none means everything; stream.* always comes' })),
          coalesce: Type.Optional(
            Type.Union([Type.Literal('0'), Type.Literal('1')], {
              description: '1: inside one frame only the last emulator.state/emulator.updated of each emulator (a state change keeps its first previousState)',
            }),
          ),
        }),
      },
      // Authenticated here rather than by the core's header check, since browsers send `?token=`.
      config: { auth: 'public' },
      onRequest: async (request, reply) => {
        const token = tokenOf(request);
        const principal = token ? await options.authenticate(token) : null;
        if (!principal) return refuse(reply, 401, 'unauthorized', 'a valid access or API token is required');
        let topics: TopicFilter;
        try {
          topics = parseTopicFilter(topicsOf(request));
        } catch (error) {
          if (error instanceof InvalidTopicError) return refuse(reply, 400, 'validation_failed', error.message);
          throw error;
        }
        subscriptions.set(request, { token: token ?? '', principal, topics, mode: modeOf(request) });
      },
    },
    (socket, request) => {
      limitClientFrames(socket, limits.maxClientFrameBytes);
      const subscription = subscriptions.get(request);
      if (!subscription) {
        socket.close(1011, 'not authenticated');
        return;
      }
      // Counted here, synchronously, so that 300 upgrades racing each other cannot all pass.
      const refusal = registry.admit(subscription.principal.userId);
      if (refusal) {
        socket.close(refusal.code, refusal.reason);
        return;
      }
      const { userId } = subscription.principal;
      // Then across replicas. The stream runs meanwhile, so an admitted client misses no event.
      const shared = options.sharedSlots;
      const slot = shared?.acquire(userId, maxStreamsPerUser);
      const stream: OpenStream = streamEvents(socket, subscription, limits, () => {
        registry.release(userId, stream);
        slot?.then(
          (id) => {
            if (id !== null) shared?.release(id);
          },
          () => undefined,
        );
      });
      registry.track(userId, stream);
      slot?.then(
        (id) => {
          if (id === null) stream.close(EventsCloseCode.tooManyStreams, `a user may hold ${maxStreamsPerUser} streams on all replicas together`);
        },
        () => stream.close(EventsCloseCode.serverBusy, 'the streams of other replicas cannot be counted now; try again'),
      );
    },
  );
}

interface StreamLimits {
  readonly fanout: FrameFanout;
  readonly authenticate: (token: string) => Promise<EventsPrincipal | null>;
  readonly maxBufferedBytes: number;
  readonly pingIntervalMs: number;
  readonly closeGraceMs: number;
  readonly maxClientFrameBytes: number;
  readonly recheckIntervalMs: number;
}

/** A live stream as the registry sees it: re-check its credential on demand. */
interface LiveStream {
  recheck(): void;
}

/** A stream as its route holds it. */
interface OpenStream extends LiveStream {
  readonly ended: boolean;
  /** Closes it (no-op once ended). */
  close(code: number, reason: string): void;
}

/** The open streams per user, with the caps that bound them. */
class StreamRegistry {
  private total = 0;
  private readonly perUser = new Map<string, number>();
  private readonly streams = new Map<string, Set<LiveStream>>();

  constructor(
    private readonly maxPerUser: number,
    private readonly maxTotal: number,
  ) {}

  /** Takes a slot for the user, or says why not. */
  admit(userId: string): { code: number; reason: string } | null {
    if (this.total >= this.maxTotal) return { code: EventsCloseCode.serverBusy, reason: `the server holds its limit of ${this.maxTotal} streams` };
    const held = this.perUser.get(userId) ?? 0;
    if (held >= this.maxPerUser) return { code: EventsCloseCode.tooManyStreams, reason: `a user may hold ${this.maxPerUser} streams` };
    this.perUser.set(userId, held + 1);
    this.total += 1;
    return null;
  }

  track(userId: string, stream: OpenStream): void {
    if (stream.ended) return;
    let set = this.streams.get(userId);
    if (!set) this.streams.set(userId, (set = new Set()));
    set.add(stream);
  }

  release(userId: string, stream?: LiveStream): void {
    this.total -= 1;
    const held = (this.perUser.get(userId) ?? 1) - 1;
    if (held <= 0) this.perUser.delete(userId);
    else this.perUser.set(userId, held);
    const set = this.streams.get(userId);
    if (stream) set?.delete(stream);
    if (set?.size === 0) this.streams.delete(userId);
  }

  recheckUser(userId: string): void {
    for (const stream of [...(this.streams.get(userId) ?? [])]) stream.recheck();
  }
}

/**
 * ws bounds incoming frames per server, and the agents' server must take large inventories:
 * the events socket is given its own, tiny bound. ws checks the frame header against it before
 * buffering any payload, so a half-sent 31 MiB frame costs nothing.
 */
function limitClientFrames(socket: WebSocket, maxBytes: number): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') {
    throw new Error('ws changed its internals: the events stream cannot bound client frames');
  }
  receiver._maxPayload = maxBytes;
}

function streamEvents(socket: WebSocket, subscription: Subscription, limits: StreamLimits, onEnd: () => void): OpenStream {
  let alive = true;
  let ended = false;
  let graceTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;

  const drop = (code: number, reason: string) => {
    stop();
    socket.close(code, reason);
    // A client that reads nothing never sees the close frame queued behind its backlog.
    graceTimer = setTimeout(() => socket.terminate(), limits.closeGraceMs);
    graceTimer.unref();
  };

  const unsubscribe = limits.fanout.join(subscription.topics, subscription.mode, {
    deliver: (frame) => {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > limits.maxBufferedBytes) {
        drop(EventsCloseCode.slowConsumer, 'too slow: events were dropped');
        return;
      }
      // The group's one Buffer, sent as a text frame: ws writes it without copying or re-encoding.
      socket.send(frame, { binary: false });
    },
  });

  const recheck = () => {
    if (ended) return;
    limits.authenticate(subscription.token).then(
      (principal) => {
        if (!ended && principal?.userId !== subscription.principal.userId) drop(EventsCloseCode.revoked, 'the credential was revoked');
      },
      () => undefined,
    );
  };
  const rechecker = setInterval(recheck, limits.recheckIntervalMs);
  rechecker.unref();
  const expiresAt = subscription.principal.expiresAt;
  if (expiresAt !== undefined) {
    // Node fires timers longer than ~24.8 days at once; the periodic re-check covers those.
    const inMs = Math.max(0, expiresAt - Date.now());
    if (inMs < 2 ** 31 - 1) {
      expiryTimer = setTimeout(() => drop(EventsCloseCode.expired, 'the access token expired; reconnect with a fresh one'), inMs);
      expiryTimer.unref();
    }
  }

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
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(pinger);
    clearInterval(rechecker);
    clearTimeout(expiryTimer);
    onEnd();
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
  return {
    recheck,
    close: (code, reason) => {
      if (!ended) drop(code, reason);
    },
    get ended() {
      return ended;
    },
  };
}
