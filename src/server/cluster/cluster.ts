/**
 * This server process as one replica of several on one database: its row in the registry and
 * the heartbeat that renews its lease (and with it the lease of every agent session it owns),
 * the release of dead replicas' workstations, and on PostgreSQL the event bridge. On SQLite
 * the process is the only replica and the bus stays in-process.
 */
import { randomBytes } from 'node:crypto';
import type { EventBus, SharedSlots } from '../events/index.js';
import type { RelayedRead, ReplicaPort, SyncRead } from '../ops/index.js';
import type { Store } from '../store/index.js';
import { nowIso } from '../store/index.js';
import type { BridgeLogger, ControlMessage } from './bridge.js';
import { EventBridge, LARGE_EVENT_TTL_MS, errorOf } from './bridge.js';
import { DatabaseClock } from './clock.js';
import { ReplicaRegistry } from './registry.js';
import { ReadRelay } from './relay.js';
import { UserSlots } from './user-slots.js';
import type { SlotKind } from './user-slots.js';

/** What the cluster asks of the fleet unit. */
export interface ClusterFleet {
  resetStatusesAtStartup(liveReplicas: readonly string[]): Promise<void>;
  releaseReplicas(deadReplicas: readonly string[]): Promise<void>;
  reclaimSessions(workstationIds: readonly string[]): Promise<void>;
  /** The replica its row says holds the workstation's session (undefined when it is offline). */
  sessionOwner(workstationId: string): Promise<string | undefined>;
}

/** What another replica's request reaches: the engine's local pump and cancel, the gateway's sessions. */
export interface ClusterPeers {
  kickHere(workstationId: string): void;
  abortRunning(operationId: string): boolean;
  onlineWorkstations(): string[];
  /** A synchronous read another replica was asked for, run in this replica's read lane. */
  readHere(workstationId: string, read: SyncRead, waitMs: number): Promise<RelayedRead>;
}

export interface ClusterLogger extends BridgeLogger {
  error(object: object, message: string): void;
}

export interface ClusterOptions {
  readonly store: Store;
  /** The PostgreSQL URL (the bridge's own connections); absent on SQLite. */
  readonly databaseUrl?: string | undefined;
  readonly bus: EventBus;
  readonly fleet: ClusterFleet;
  readonly logger: ClusterLogger;
  readonly replicaId: string;
  /** The base URL this replica advertises in the registry. */
  readonly url?: string | undefined;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  /** This machine's clock (tests set it off to see the leases follow the database's instead). */
  readonly localClock?: () => number;
}

/** A replica id: time-free and unguessable, so two processes never share one. */
export function newReplicaId(): string {
  return `r_${randomBytes(8).toString('hex')}`;
}

export class Cluster {
  private peers: ClusterPeers | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private beating: Promise<void> = Promise.resolve();
  private readonly relay: ReadRelay | undefined;
  /** Event-stream slots every replica counts (PostgreSQL); undefined when this process is the only replica. */
  readonly streamSlots: SharedSlots | undefined;
  private readonly readSlots: SharedSlots | undefined;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly clock: DatabaseClock,
    private readonly registry: ReplicaRegistry,
    private readonly bridge: EventBridge | undefined,
  ) {
    this.relay = bridge
      ? new ReadRelay({
          db: options.store.db,
          replicaId: options.replicaId,
          clock: () => clock.now(),
          send: (message) => bridge.relay(message),
          ownerOf: (workstationId) => this.liveOwnerOf(workstationId),
          readHere: (workstationId, read, waitMs) => this.readHere(workstationId, read, waitMs),
          logger: options.logger,
        })
      : undefined;
    this.streamSlots = this.userSlots('stream');
    this.readSlots = this.userSlots('read');
  }

  /**
   * Registers the replica, resets the statuses of workstations no live replica holds, and on
   * PostgreSQL starts listening. Fails when the database does not answer.
   */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const { store } = options;
    const clock = new DatabaseClock(store, options.localClock);
    await clock.sync();
    const registry = new ReplicaRegistry(store.db, options.replicaId, options.url ?? null, options.leaseMs, () => clock.now());
    // SQLite: one process, so whatever rows earlier runs left are of dead processes.
    if (store.kind === 'sqlite') await registry.forgetOthers();
    await registry.register();
    const others = [...(await registry.live())].filter((id) => id !== options.replicaId);
    await options.fleet.resetStatusesAtStartup(others);
    // The bridge exists before the cluster it reports to.
    const built: { cluster?: Cluster } = {};
    const bridge =
      store.kind === 'postgres' && options.databaseUrl !== undefined
        ? new EventBridge({
            connectionString: options.databaseUrl,
            replicaId: options.replicaId,
            bus: options.bus,
            db: store.db,
            logger: options.logger,
            onControl: (message, from) => built.cluster?.control(message, from),
            clock: () => clock.now(),
          })
        : undefined;
    const cluster = new Cluster(options, clock, registry, bridge);
    built.cluster = cluster;
    try {
      await bridge?.start();
    } catch (error) {
      await registry.forget([options.replicaId]).catch(() => undefined);
      throw error;
    }
    cluster.schedule();
    return cluster;
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  /** The replica as the operation engine sees it. */
  get replica(): ReplicaPort {
    return {
      id: this.options.replicaId,
      liveReplicas: () => this.registry.live(),
      kick: (workstationId) => this.bridge?.kick(workstationId),
      cancel: (operationId) => this.bridge?.cancel(operationId),
      readElsewhere: async (workstationId, read, bounds, signal) => this.relay?.read(workstationId, read, bounds, signal),
      readSlots: this.readSlots,
    };
  }

  /** Where other replicas' kicks and cancels go (set once the engine and gateway exist). */
  attach(peers: ClusterPeers): void {
    this.peers = peers;
  }

  /** Why this replica should not take traffic, or undefined when it may. */
  notReady(): string | undefined {
    if (this.bridge && !this.bridge.listening) return 'the listener of the other replicas\' events is down';
    return undefined;
  }

  /** Stops heartbeating and leaves the registry, so others take over this replica's work at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.relay?.close();
    await this.beating;
    await this.bridge?.close();
    await this.registry.forget([this.options.replicaId]).catch((error: unknown) => {
      this.options.logger.warn({ err: errorOf(error) }, 'could not leave the replica registry');
    });
  }

  /** A user's slots of one kind counted across replicas (PostgreSQL); undefined when this process is the only replica. */
  private userSlots(kind: SlotKind): SharedSlots | undefined {
    const { store, replicaId, leaseMs, logger } = this.options;
    if (store.kind !== 'postgres') return undefined;
    return new UserSlots(store.db, kind, replicaId, leaseMs, (error, message) => logger.warn({ err: errorOf(error) }, message), () => this.clock.now());
  }

  /** The replica holding the workstation's session, when its lease holds. */
  private async liveOwnerOf(workstationId: string): Promise<string | undefined> {
    const owner = await this.options.fleet.sessionOwner(workstationId);
    if (owner === undefined) return undefined;
    return (await this.registry.live()).has(owner) ? owner : undefined;
  }

  private async readHere(workstationId: string, read: SyncRead, waitMs: number): Promise<RelayedRead> {
    const peers = this.peers;
    if (!peers) return { ok: false, failure: { category: 'transport', code: 'workstation_offline', message: 'the replica asked is still starting' } };
    return peers.readHere(workstationId, read, waitMs);
  }

  private control(message: ControlMessage, from: string): void {
    const peers = this.peers;
    switch (message.kind) {
      case 'kick':
        for (const id of message.ids) peers?.kickHere(id);
        return;
      case 'cancel':
        for (const id of message.ids) peers?.abortRunning(id);
        return;
      case 'resync':
        this.options.bus.publish('stream.resync', { reason: message.reason });
        return;
      case 'read':
        if (message.to === this.options.replicaId) void this.relay?.serve(message, from);
        return;
      case 'read_done':
        if (message.to === this.options.replicaId) this.relay?.answered(message.id);
        return;
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.beating = this.tick().finally(() => this.schedule());
    }, this.options.heartbeatMs);
  }

  /** One heartbeat: renew the lease, release the dead replicas' workstations, drop old large events. */
  private async tick(): Promise<void> {
    try {
      await this.clock.sync();
      const kept = await this.registry.beat();
      if (!kept) {
        this.options.logger.warn({ replicaId: this.replicaId }, 'this replica had been taken for dead; it holds its sessions again');
        await this.options.fleet.reclaimSessions(this.peers?.onlineWorkstations() ?? []);
      }
      const dead = await this.registry.dead();
      if (dead.length > 0) {
        this.options.logger.warn({ replicas: dead }, 'replicas stopped heartbeating; their workstations are offline until their agents reconnect');
        this.relay?.ownersGone(dead);
        await this.options.fleet.releaseReplicas(dead);
        await this.registry.forget(dead);
      }
      if (this.bridge) {
        // By the stamp of the database's clock: ids carry the time of whichever replica made them.
        await this.options.store.db.deleteFrom('cluster_events').where('created_at', '<', nowIso(this.clock.now() - LARGE_EVENT_TTL_MS)).execute();
      }
    } catch (error) {
      // The database is out of reach; the next heartbeat tries again.
      this.options.logger.warn({ err: errorOf(error) }, 'replica heartbeat failed');
    }
  }
}
