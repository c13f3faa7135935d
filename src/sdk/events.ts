/**
 * The live event stream (`GET /api/v1/events`) as a typed subscription that reconnects by
 * itself, and helpers that follow one operation or batch to its end over that stream.
 *
 * It runs in browsers and in Node: the WebSocket class is the global one unless one is given
 * (Node 20 has none without a flag; pass `ws`'s `WebSocket`).
 */
import type { AnyFleetEvent } from '../server/events/index.js';
import type { Batch, Operation } from './ops-types.js';
import { ApiError, type LdfleetClient } from './client.js';

// Type-only: the events and their payloads are the server's own shapes.
export type FleetStreamEvent = AnyFleetEvent;
export type FleetEventType = AnyFleetEvent['type'];

/** What the subscription needs of a WebSocket: the browser interface, which `ws` also offers. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructorLike = new (url: string) => WebSocketLike;

export type StreamStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SubscribeOptions {
  /** Event types or families, e.g. `['emulator.*', 'batch.*']`; none means every event. */
  topics?: readonly string[];
  /**
   * Ask the server to keep, inside each frame (~50 ms), only the last `emulator.state` /
   * `emulator.updated` of each emulator (a merged `emulator.state` keeps the first
   * `previousState`): for views that show the current state, not every step.
   */
  coalesce?: boolean;
  /** Every event, `stream.resync` included (which also calls `onResync`). */
  onEvent: (event: FleetStreamEvent) => void;
  /** Each change of the connection's state; `closed` carries why it gave up. */
  onStatus?: (status: StreamStatus, detail?: { code?: number; reason?: string; error?: unknown }) => void;
  /**
   * Events may have been missed, so refetch what is shown: called each time the stream is open
   * again after a drop (reason `reconnected`) and when the server sends `stream.resync` (a
   * replica's listener reconnected, or a frame overflowed).
   */
  onResync?: (detail: { reason: string }) => void;
  WebSocket?: WebSocketConstructorLike;
  /** First delay before reconnecting, doubled up to `maxDelayMs`, with full jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
}

export interface EventSubscription {
  /** Resolves once the stream is open the first time (rejects if it gives up before). */
  readonly opened: Promise<void>;
  close(): void;
}

const NORMAL_CLOSE = 1000;

/**
 * Subscribes to the event stream. A frame is an array of events `{type, at, data}` (older
 * servers sent one event per frame; both are read).
 * After a drop it reconnects with backoff; before each reconnect it checks the credential with
 * `GET /auth/me`, which refreshes an expired access token, and gives up when it is refused.
 */
export function subscribeEvents(client: LdfleetClient, options: SubscribeOptions): EventSubscription {
  const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
  if (!Socket) throw new Error('no WebSocket class: pass options.WebSocket (e.g. the ws package) on Node 20');
  const initialDelayMs = options.initialDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 15_000;
  const topics = options.topics && options.topics.length > 0 ? options.topics.join(',') : undefined;
  const streamUrl = () => {
    const url = new URL(client.eventsUrl(topics));
    if (options.coalesce) url.searchParams.set('coalesce', '1');
    return url.toString();
  };

  let socket: WebSocketLike | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let everOpened = false;
  let failures = 0;
  let settleOpened: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const opened = new Promise<void>((resolve, reject) => {
    settleOpened = { resolve, reject };
  });
  // A caller that never awaits `opened` must not see an unhandled rejection.
  opened.catch(() => undefined);

  const giveUp = (detail: { code?: number; reason?: string; error?: unknown }) => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    socket?.close(NORMAL_CLOSE);
    options.onStatus?.('closed', detail);
    settleOpened?.reject(detail.error ?? new Error(`event stream closed: ${detail.reason ?? detail.code ?? 'stopped'}`));
  };

  const connect = () => {
    if (closed) return;
    options.onStatus?.(everOpened || failures > 0 ? 'reconnecting' : 'connecting');
    const current = new Socket(streamUrl());
    socket = current;
    current.onopen = () => {
      failures = 0;
      options.onStatus?.('open');
      if (everOpened) options.onResync?.({ reason: 'reconnected' });
      everOpened = true;
      settleOpened?.resolve();
    };
    current.onmessage = (message) => {
      for (const event of parseFrame(message.data)) {
        if (closed || socket !== current) return;
        options.onEvent(event);
        if (event.type === 'stream.resync') options.onResync?.({ reason: event.data.reason });
      }
    };
    current.onerror = () => undefined; // a close follows, which decides what to do
    current.onclose = () => {
      if (socket !== current || closed) return;
      socket = undefined;
      failures += 1;
      options.onStatus?.('reconnecting');
      const delay = Math.random() * Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures - 1, 16));
      timer = setTimeout(() => void reconnect(), delay);
    };
  };

  const reconnect = async () => {
    try {
      await client.me();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        giveUp({ code: error.status, reason: error.message, error });
        return;
      }
      // The server is unreachable or busy: try the stream anyway, its close brings the next backoff.
    }
    connect();
  };

  const close = () => giveUp({ code: NORMAL_CLOSE, reason: 'closed by the client' });
  if (options.signal?.aborted) close();
  else {
    options.signal?.addEventListener('abort', close, { once: true });
    connect();
  }
  return { opened, close };
}

function parseFrame(data: unknown): FleetStreamEvent[] {
  const text = typeof data === 'string' ? data : data instanceof Uint8Array ? new TextDecoder().decode(data) : String(data);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  return items.filter(isEvent);
}

function isEvent(value: unknown): value is FleetStreamEvent {
  const event = value as { type?: unknown; at?: unknown } | null;
  return typeof event?.type === 'string' && typeof event.at === 'string' && 'data' in (event as object);
}

export interface WaitOptions {
  WebSocket?: WebSocketConstructorLike;
  signal?: AbortSignal;
  /** A poll that backs the stream up, in case an event is missed (default 10 s). */
  pollIntervalMs?: number;
  onStatus?: SubscribeOptions['onStatus'];
}

const FINAL_OPERATION_STATUSES: ReadonlySet<Operation['status']> = new Set(['succeeded', 'failed', 'cancelled']);

export function isFinalOperation(operation: Operation): boolean {
  return FINAL_OPERATION_STATUSES.has(operation.status);
}

export function isFinishedBatch(batch: Batch): boolean {
  return batch.finishedAt !== undefined;
}

/**
 * Follows one operation over the stream until it has ended; `onUpdate` sees each state.
 * Resolves with the final operation; rejects when `signal` aborts or the stream is refused.
 */
export function waitForOperation(
  client: LdfleetClient,
  id: string,
  options: WaitOptions & { onUpdate?: (operation: Operation) => void } = {},
): Promise<Operation> {
  return follow<Operation>(client, options, {
    topics: ['operation.*'],
    fetch: () => client.getOperation(id),
    fromEvent: (event) => (event.type.startsWith('operation.') && (event.data as Operation).id === id ? (event.data as Operation) : undefined),
    isFinal: isFinalOperation,
    onUpdate: options.onUpdate,
  });
}

/**
 * Follows a batch until every child has ended: `onUpdate` sees the batch's counts as they
 * change and `onOperation` each change of one of its operations (failures as they happen).
 */
export function waitForBatch(
  client: LdfleetClient,
  id: string,
  options: WaitOptions & { onUpdate?: (batch: Batch) => void; onOperation?: (operation: Operation) => void } = {},
): Promise<Batch> {
  return follow<Batch>(client, options, {
    topics: ['batch.*', 'operation.*'],
    fetch: () => client.getBatch(id, { limit: 1 }),
    fromEvent: (event) => {
      if (event.type.startsWith('operation.')) {
        const operation = event.data as Operation;
        if (operation.batchId === id) options.onOperation?.(operation);
        return undefined;
      }
      return event.type.startsWith('batch.') && (event.data as Batch).id === id ? (event.data as Batch) : undefined;
    },
    isFinal: isFinishedBatch,
    onUpdate: options.onUpdate,
  });
}

interface Follower<T> {
  topics: string[];
  fetch: () => Promise<T>;
  fromEvent: (event: FleetStreamEvent) => T | undefined;
  isFinal: (value: T) => boolean;
  onUpdate?: (value: T) => void;
}

function follow<T>(client: LdfleetClient, options: WaitOptions, follower: Follower<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (outcome: { value: T } | { error: unknown }) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      subscription.close();
      if ('value' in outcome) resolve(outcome.value);
      else reject(outcome.error);
    };
    const see = (value: T) => {
      if (done) return;
      follower.onUpdate?.(value);
      if (follower.isFinal(value)) finish({ value });
    };
    // Fetching after the stream opens (and after each reconnect) closes the gap in which the
    // last event could have passed before anyone listened.
    const refetch = () => {
      follower.fetch().then(see, (error: unknown) => {
        if (error instanceof ApiError && error.status < 500) finish({ error });
      });
    };
    const poll = setInterval(refetch, options.pollIntervalMs ?? 10_000);
    const subscription = subscribeEvents(client, {
      topics: follower.topics,
      WebSocket: options.WebSocket,
      onStatus: (status, detail) => {
        options.onStatus?.(status, detail);
        if (status === 'closed' && !done) finish({ error: detail?.error ?? new Error('event stream closed') });
      },
      onEvent: (event) => {
        const value = follower.fromEvent(event);
        if (value !== undefined) see(value);
      },
      onResync: refetch,
    });
    subscription.opened.then(refetch, () => undefined);
    if (options.signal) {
      if (options.signal.aborted) finish({ error: options.signal.reason });
      options.signal.addEventListener('abort', () => finish({ error: options.signal?.reason }), { once: true });
    }
  });
}
