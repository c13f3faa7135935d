/**
 * The event bridge between replicas, on PostgreSQL's LISTEN/NOTIFY. Every event published on
 * this replica's bus goes out on `ldfleet_events`; every other replica's arrives on the local
 * bus for the `/events` streams. One publishing connection sends in publication order, and
 * PostgreSQL delivers notifications in commit order, so a listener sees each replica's events
 * in the order they happened (and those of one workstation all come from the replica holding
 * its session). `ldfleet_control` carries the replicas' requests to each other (kick a
 * workstation's queue, cancel a running operation, refetch after lost events, run a synchronous
 * read and say its answer is ready) on the same connection, so a kick never overtakes the
 * events announcing what it is about.
 */
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { AnyFleetEvent } from '../events/index.js';
import { EventBus, eventJson } from '../events/index.js';
import type { Database } from '../store/index.js';
import { chunks, newId, nowIso } from '../store/index.js';
import './schema.js';

export const EVENTS_CHANNEL = 'ldfleet_events';
export const CONTROL_CHANNEL = 'ldfleet_control';
/** NOTIFY refuses payloads of 8,000 bytes or more; the rest goes by id through `cluster_events`. */
const MAX_PAYLOAD_BYTES = 7_900;
/** Events waiting while the publishing connection is down; past it the oldest are dropped (and peers told to refetch). */
const MAX_QUEUED = 50_000;
/** Workstation or operation ids per control message (an id is 28 bytes). */
const IDS_PER_MESSAGE = 200;
/** Large events are read by the other replicas within this; older rows are deleted. */
export const LARGE_EVENT_TTL_MS = 60_000;

export type ControlMessage =
  | { readonly kind: 'kick'; readonly ids: readonly string[] }
  | { readonly kind: 'cancel'; readonly ids: readonly string[] }
  | { readonly kind: 'resync'; readonly reason: string }
  | RelayMessage;

/** A synchronous read asked of the replica holding the session (`to`), and its answer ready in `cluster_events` under `id`. */
export type RelayMessage =
  | { readonly kind: 'read'; readonly to: string; readonly id: string; readonly workstationId: string; readonly method: string; readonly params: unknown; readonly waitMs: number }
  | { readonly kind: 'read_done'; readonly to: string; readonly id: string };

export interface BridgeLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

export interface BridgeOptions {
  readonly connectionString: string;
  readonly replicaId: string;
  readonly bus: EventBus;
  readonly db: Kysely<Database>;
  readonly logger: BridgeLogger;
  /** Another replica's request, and the replica it came from. */
  readonly onControl: (message: ControlMessage, from: string) => void;
  /** The time `cluster_events` rows are stamped with (the database's clock). */
  readonly clock: () => number;
  /** Reconnection backoff of both connections. */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
}

type Outgoing = { readonly channel: typeof EVENTS_CHANNEL; readonly json: string } | { readonly channel: typeof CONTROL_CHANNEL; readonly message: ControlMessage };

export class EventBridge {
  private listener: pg.Client | undefined;
  private publisher: pg.Client | undefined;
  private readonly queue: Outgoing[] = [];
  private flushing = false;
  /** Outgoing events were lost (the publisher's connection dropped): peers are told to refetch. */
  private lost = false;
  private closed = false;
  private incoming: Promise<void> = Promise.resolve();
  private readonly pendingKicks = new Set<string>();
  private readonly pendingCancels = new Set<string>();
  private controlScheduled = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private readonly backoff: { baseMs: number; capMs: number };

  constructor(private readonly options: BridgeOptions) {
    this.backoff = { baseMs: 100, capMs: 5_000, ...options.backoff };
  }

  /** True while the listening connection is up (else `/readyz` fails). */
  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Listens (the database must answer now) and starts sending this replica's events. */
  async start(): Promise<void> {
    await this.connectListener();
    // Remote events are not sent back out; `stream.resync` is about this replica's own clients.
    this.unsubscribe = this.options.bus.subscribe((event) => {
      if (EventBus.isRemote(event) || event.type === 'stream.resync') return;
      this.enqueue({ channel: EVENTS_CHANNEL, json: eventJson(event) });
    });
  }

  kick(workstationId: string): void {
    this.pendingKicks.add(workstationId);
    this.scheduleControl();
  }

  cancel(operationId: string): void {
    this.pendingCancels.add(operationId);
    this.scheduleControl();
  }

  /**
   * A relayed read's request or answer, after the events published before it. False when it is
   * too large for one notification (nothing is sent).
   */
  relay(message: RelayMessage): boolean {
    if (Buffer.byteLength(JSON.stringify({ r: this.options.replicaId, ...message })) > MAX_PAYLOAD_BYTES) return false;
    this.enqueue({ channel: CONTROL_CHANNEL, message });
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const clients = [this.listener, this.publisher];
    this.listener = undefined;
    this.publisher = undefined;
    await Promise.allSettled(clients.map((client) => (client ? client.end() : Promise.resolve())));
  }

  // ------------------------------------------------------------------------------------------
  // sending

  /** Kicks and cancels of one turn of the event loop go out together, after the events before them. */
  private scheduleControl(): void {
    if (this.controlScheduled) return;
    this.controlScheduled = true;
    setImmediate(() => {
      this.controlScheduled = false;
      for (const [kind, ids] of [['kick', this.pendingKicks], ['cancel', this.pendingCancels]] as const) {
        const all = [...ids];
        ids.clear();
        for (const slice of chunks(all, IDS_PER_MESSAGE)) this.enqueue({ channel: CONTROL_CHANNEL, message: { kind, ids: slice } });
      }
    });
  }

  private enqueue(item: Outgoing): void {
    if (this.closed) return;
    this.queue.push(item);
    if (this.queue.length > MAX_QUEUED) {
      this.queue.splice(0, this.queue.length - MAX_QUEUED);
      this.lost = true;
    }
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const client = await this.publisherClient();
        if (!client) return;
        if (this.lost) {
          this.lost = false;
          this.queue.unshift({ channel: CONTROL_CHANNEL, message: { kind: 'resync', reason: 'another replica could not send some of its events' } });
        }
        try {
          await this.sendNext(client);
        } catch (error) {
          // What was being sent is gone with the connection; peers refetch once it is back.
          this.options.logger.warn({ err: errorOf(error) }, 'the cluster publisher lost its database connection');
          this.lost = true;
          this.dropPublisher(client);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** One NOTIFY: as many queued events as fit, or one large event by id, or one control message. */
  private async sendNext(client: pg.Client): Promise<void> {
    const { replicaId } = this.options;
    const head = this.queue[0];
    if (!head) return;
    if (head.channel === CONTROL_CHANNEL) {
      this.queue.shift();
      await client.query('select pg_notify($1, $2)', [CONTROL_CHANNEL, JSON.stringify({ r: replicaId, ...head.message })]);
      return;
    }
    const header = `${replicaId}\n`;
    if (Buffer.byteLength(header) + Buffer.byteLength(head.json) > MAX_PAYLOAD_BYTES) {
      this.queue.shift();
      const id = newId();
      await client.query('insert into cluster_events (id, payload, created_at) values ($1, $2, $3)', [id, head.json, nowIso(this.options.clock())]);
      await client.query('select pg_notify($1, $2)', [EVENTS_CHANNEL, `${header}@${id}`]);
      return;
    }
    // JSON text never holds a raw newline, so events are joined with one.
    let payload = header;
    let bytes = Buffer.byteLength(header);
    let first = true;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next?.channel !== EVENTS_CHANNEL) break;
      const size = Buffer.byteLength(next.json) + (first ? 0 : 1);
      if (bytes + size > MAX_PAYLOAD_BYTES) break;
      payload += (first ? '' : '\n') + next.json;
      bytes += size;
      first = false;
      this.queue.shift();
    }
    await client.query('select pg_notify($1, $2)', [EVENTS_CHANNEL, payload]);
  }

  /** The publishing connection, connected (again) with backoff; undefined once closed. */
  private async publisherClient(): Promise<pg.Client | undefined> {
    if (this.publisher) return this.publisher;
    await this.untilConnected('the cluster publisher', async () => {
      const client = this.newClient();
      client.on('error', (error) => {
        this.options.logger.warn({ err: errorOf(error) }, 'the cluster publisher connection failed');
        this.dropPublisher(client);
      });
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      // close() may have run while connect was awaited.
      if (this.closed) await client.end();
      else this.publisher = client;
    });
    return this.publisher;
  }

  private dropPublisher(client: pg.Client): void {
    if (this.publisher !== client) return;
    this.publisher = undefined;
    client.end().catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // receiving

  private async connectListener(): Promise<void> {
    const client = this.newClient();
    client.on('notification', (message) => {
      // One after the other, so a large event fetched by id does not let later ones overtake it.
      this.incoming = this.incoming.then(() => this.receive(message.channel, message.payload ?? '')).catch((error: unknown) => {
        this.options.logger.warn({ err: errorOf(error) }, 'a cluster notification could not be delivered');
      });
    });
    client.on('error', (error) => this.listenerLost(client, error));
    client.on('end', () => this.listenerLost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      await client.query(`LISTEN ${CONTROL_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.listener = client;
  }

  private listenerLost(client: pg.Client, error?: unknown): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.options.logger.warn({ err: error === undefined ? undefined : errorOf(error) }, 'the cluster listener lost its database connection; listening again');
    client.end().catch(() => undefined);
    void this.relisten();
  }

  /** Listens again with backoff; then this replica's clients refetch what they may have missed. */
  private async relisten(): Promise<void> {
    if (!(await this.untilConnected('the cluster listener', () => this.connectListener()))) return;
    this.options.logger.info({}, 'the cluster listener is listening again');
    this.options.bus.publish('stream.resync', { reason: 'the server lost its link to the other replicas for a moment; refetch' });
  }

  /**
   * Runs `connect` until it succeeds, waiting between failures with doubling backoff; false
   * when the bridge closed first (or meanwhile).
   */
  private async untilConnected(what: string, connect: () => Promise<void>): Promise<boolean> {
    let delay = this.backoff.baseMs;
    while (!this.closed) {
      try {
        await connect();
        // close() may have run while connect was awaited.
        return !this.closed;
      } catch (error) {
        this.options.logger.warn({ err: errorOf(error), retryInMs: delay }, `${what} cannot connect`);
        await this.pause(delay);
        delay = Math.min(this.backoff.capMs, delay * 2);
      }
    }
    return false;
  }

  private async receive(channel: string, payload: string): Promise<void> {
    if (channel === CONTROL_CHANNEL) {
      const { r: from, ...message } = JSON.parse(payload) as ControlMessage & { r: string };
      if (from !== this.options.replicaId) this.options.onControl(message, from);
      return;
    }
    const split = payload.indexOf('\n');
    if (split < 0 || payload.slice(0, split) === this.options.replicaId) return;
    const body = payload.slice(split + 1);
    const lines = body.startsWith('@') ? await this.largeEvent(body.slice(1)) : body.split('\n');
    for (const line of lines) this.options.bus.deliver(JSON.parse(line) as AnyFleetEvent, line);
  }

  private async largeEvent(id: string): Promise<string[]> {
    const row = await this.options.db.selectFrom('cluster_events').select('payload').where('id', '=', id).executeTakeFirst();
    if (row) return [row.payload];
    this.options.logger.warn({ id }, 'a large event of another replica was gone before it was read');
    this.options.bus.publish('stream.resync', { reason: 'an event of another replica could not be read; refetch' });
    return [];
  }

  private newClient(): pg.Client {
    return new pg.Client({ connectionString: this.options.connectionString, keepAlive: true });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/** An error as the logs take it: its message only. */
export function errorOf(error: unknown): { message: string } {
  return { message: error instanceof Error ? error.message : String(error) };
}
