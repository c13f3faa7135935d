/**
 * This server process as one replica of several on one database: its row in the registry and
 * the heartbeat that renews its lease (and with it the lease of every agent session it owns),
 * the release of dead replicas' workstations, and on PostgreSQL the event bridge. On SQLite
 * the process is the only replica and the bus stays in-process.
 */
import { randomBytes } from 'node:crypto';
import type { EventBus, SharedStreamSlots } from '../events/index.js';
import type { ReplicaPort } from '../ops/index.js';
import type { Store } from '../store/index.js';
import type { BridgeLogger, ControlMessage } from './bridge.js';
import { EventBridge, LARGE_EVENT_TTL_MS, errorOf } from './bridge.js';
import { ReplicaRegistry } from './registry.js';
import { StreamSlots } from './stream-slots.js';

/** What the cluster asks of the fleet unit. */
export interface ClusterFleet {
  resetStatusesAtStartup(liveReplicas: readonly string[]): Promise<void>;
  releaseReplicas(deadReplicas: readonly string[]): Promise<void>;
  reclaimSessions(workstationIds: readonly string[]): Promise<void>;
}

/** What another replica's request reaches: the engine's local pump and cancel, the gateway's sessions. */
export interface ClusterPeers {
  kickHere(workstationId: string): void;
  abortRunning(operationId: string): boolean;
  onlineWorkstations(): string[];
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
}

/** A replica id: time-free and unguessable, so two processes never share one. */
export function newReplicaId(): string {
  return `r_${randomBytes(8).toString('hex')}`;
}

export class Cluster {
  private peers: ClusterPeers | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private slots: StreamSlots | undefined;
  private beating: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: ClusterOptions,
    private readonly registry: ReplicaRegistry,
    private readonly bridge: EventBridge | undefined,
  ) {}

  /**
   * Registers the replica, resets the statuses of workstations no live replica holds, and on
   * PostgreSQL starts listening. Fails when the database does not answer.
   */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const { store } = options;
    const registry = new ReplicaRegistry(store.db, options.replicaId, options.url ?? null, options.leaseMs, Date.now);
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
            onControl: (message) => built.cluster?.control(message),
          })
        : undefined;
    const cluster = new Cluster(options, registry, bridge);
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
    };
  }

  /** Event-stream slots every replica counts (PostgreSQL); undefined when this process is the only replica. */
  get streamSlots(): SharedStreamSlots | undefined {
    if (this.options.store.kind !== 'postgres') return undefined;
    this.slots ??= new StreamSlots(this.options.store.db, this.options.replicaId, this.options.leaseMs, (error, message) =>
      this.options.logger.warn({ err: errorOf(error) }, message),
    );
    return this.slots;
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
    await this.beating;
    await this.bridge?.close();
    await this.registry.forget([this.options.replicaId]).catch((error: unknown) => {
      this.options.logger.warn({ err: errorOf(error) }, 'could not leave the replica registry');
    });
  }

  private control(message: ControlMessage): void {
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
      const kept = await this.registry.beat();
      if (!kept) {
        this.options.logger.warn({ replicaId: this.replicaId }, 'this replica had been taken for dead; it holds its sessions again');
        await this.options.fleet.reclaimSessions(this.peers?.onlineWorkstations() ?? []);
      }
      const dead = await this.registry.dead();
      if (dead.length > 0) {
        this.options.logger.warn({ replicas: dead }, 'replicas stopped heartbeating; their workstations are offline until their agents reconnect');
        await this.options.fleet.releaseReplicas(dead);
        await this.registry.forget(dead);
      }
      if (this.bridge) {
        const before = (Date.now() - LARGE_EVENT_TTL_MS).toString(16).padStart(12, '0');
        await this.options.store.db.deleteFrom('cluster_events').where('id', '<', before).execute();
      }
    } catch (error) {
      // The database is out of reach; the next heartbeat tries again.
      this.options.logger.warn({ err: errorOf(error) }, 'replica heartbeat failed');
    }
  }
}
