/**
 * The fleet: what the agents report, kept in the store and announced on the event bus. The
 * gateway feeds it (hello, heartbeat, metrics, inventory, disconnect); the HTTP API reads it.
 */
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { HelloMessage, InventoryMessage, Metrics, StatusMessage } from '../../protocol/index.js';
import { FleetMetrics } from './metrics.js';
import type { Database, Page, PageRequest, Store, WorkstationsTable } from '../store/index.js';
import { ROWS_PER_STATEMENT, chunks, newId, nowIso } from '../store/index.js';
import type { EventBus } from '../events/index.js';
import { InventoryWriter } from './inventory-writer.js';
import type { AppliedMessage, InventoryWriterOptions } from './inventory-writer.js';
import { Liveness } from './liveness.js';
import { listEmulators, workstationNames } from './queries.js';
import type { EmulatorFilter } from './queries.js';
import type { EmulatorChange } from './inventory.js';
import type { EmulatorsTable } from './schema.js';
import { toEmulator, toWorkstationInfo } from './mapping.js';
import type { EmulatorCounts, WorkstationInfo } from './types.js';
import type { LiveState, LivenessWrite } from './liveness.js';

/** What the workstation API shows beside the stored row: emulator counts and the live heartbeat. */
export type WorkstationExtras = { emulators: EmulatorCounts } & Partial<LiveState>;

const BREAKER_OPEN = {
  reason: 'breaker_open',
  message: 'the circuit breaker is open after repeated transport failures or timeouts; operations for this workstation wait until it half-opens',
} as const;

export interface FleetOptions {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock?: () => number;
  /** Where `ldfleet_workstation_status` is registered (the server's `/metrics`). */
  readonly registry?: Registry;
  /** The replica this server is: it becomes the owner of the sessions it welcomes. */
  readonly replicaId?: string;
  /** How inventory messages are grouped into transactions. */
  readonly inventory?: InventoryWriterOptions;
  /** How often at most a heartbeating workstation's last-seen time and metrics are written (default 60 s). */
  readonly livenessPersistMs?: number;
}

export class Fleet {
  private readonly db: Kysely<Database>;
  private readonly bus: EventBus;
  private readonly clock: () => number;
  private readonly metrics: FleetMetrics | undefined;
  /** What each connected agent last said of its health (absent = healthy). */
  private readonly agentStatus = new Map<string, { reason: string; message: string | null }>();
  /** Workstations whose circuit breaker is open. */
  private readonly openBreakers = new Set<string>();
  private readonly replicaId: string | null;
  /** Heartbeats and metrics, fresher than the stored row. */
  private readonly liveness: Liveness;
  private readonly inventory: InventoryWriter;

  constructor(options: FleetOptions) {
    this.replicaId = options.replicaId ?? null;
    this.db = options.store.db;
    this.bus = options.bus;
    this.clock = options.clock ?? Date.now;
    this.metrics = options.registry ? new FleetMetrics(options.registry) : undefined;
    this.liveness = new Liveness(options.livenessPersistMs);
    this.inventory = new InventoryWriter(
      this.db,
      () => ({ now: this.now(), newId: () => newId(this.clock()) }),
      (applied) => this.publishApplied(applied),
      options.inventory,
    );
  }

  /**
   * A server that stopped without closing its sessions left workstations `online`. Nothing is
   * connected to a process that just started, so they are offline until their agents say hello;
   * but workstations whose sessions another live replica holds (`liveReplicas`) are theirs and
   * keep their status.
   */
  async resetStatusesAtStartup(liveReplicas: readonly string[] = []): Promise<void> {
    await this.db
      .updateTable('workstations')
      .set({ status: 'offline' })
      .where('status', '!=', 'offline')
      .$if(liveReplicas.length > 0, (query) =>
        query.where((eb) => eb.or([eb('owner_replica_id', 'is', null), eb('owner_replica_id', 'not in', [...liveReplicas])])),
      )
      .execute();
  }

  /**
   * Replicas whose lease lapsed held these sessions: their workstations go offline (announced
   * once, by whichever live replica's update takes the row) until their agents connect again.
   */
  async releaseReplicas(deadReplicas: readonly string[]): Promise<void> {
    if (deadReplicas.length === 0) return;
    const rows = await this.db
      .updateTable('workstations')
      .set({ status: 'offline', status_reason: null, status_message: null, updated_at: this.now() })
      .where('owner_replica_id', 'in', [...deadReplicas])
      .where('status', '!=', 'offline')
      .returningAll()
      .execute();
    for (const row of rows) {
      this.metrics?.statusChanged(row);
      this.bus.publish('workstation.offline', toWorkstationInfo(row));
    }
  }

  /**
   * This replica's lease had lapsed (its database was unreachable for longer) and others may
   * have recorded its workstations offline: those whose sessions it still holds are its again.
   */
  async reclaimSessions(workstationIds: readonly string[]): Promise<void> {
    if (workstationIds.length === 0 || this.replicaId === null) return;
    const rows = await this.db
      .updateTable('workstations')
      .set({ status: 'online', owner_replica_id: this.replicaId, updated_at: this.now() })
      .where('id', 'in', [...workstationIds])
      .where((eb) => eb.or([eb('status', '=', 'offline'), eb('owner_replica_id', 'is', null), eb('owner_replica_id', '!=', this.replicaId)]))
      .returningAll()
      .execute();
    for (const row of rows) {
      this.metrics?.statusChanged(row);
      this.bus.publish('workstation.online', toWorkstationInfo(row));
      if (this.openBreakers.has(row.id) || this.agentStatus.has(row.id)) await this.applyStatus(row.id);
    }
  }

  /** The replica its row says holds the workstation's session; undefined when it is offline. */
  async sessionOwner(workstationId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('workstations').select(['status', 'owner_replica_id']).where('id', '=', workstationId).executeTakeFirst();
    if (!row || row.status === 'offline') return undefined;
    return row.owner_replica_id ?? undefined;
  }

  /** An agent said hello: record what it told and mark its workstation online. */
  async workstationOnline(workstationId: string, hello: HelloMessage): Promise<WorkstationInfo | null> {
    this.agentStatus.delete(workstationId);
    const now = this.now();
    const row = await this.updateWorkstation(workstationId, {
      hostname: hello.hostname,
      os: hello.os,
      agent_version: hello.agentVersion,
      ldplayer_path: hello.ldplayer.path,
      ldplayer_version: hello.ldplayer.version,
      status: 'online',
      status_reason: null,
      status_message: null,
      last_seen_at: now,
      updated_at: now,
      owner_replica_id: this.replicaId,
    });
    this.liveness.persisted(workstationId, now, this.clock());
    if (row) this.metrics?.statusChanged(row);
    const info = row ? this.bus.publish('workstation.online', this.info(row)).data : null;
    if (this.openBreakers.has(workstationId)) await this.applyStatus(workstationId);
    return info;
  }

  /** The agent said whether it can do its job: a reason makes the workstation `degraded`, null lifts it. */
  async workstationStatus(workstationId: string, status: Omit<StatusMessage, 'type'>): Promise<WorkstationInfo | null> {
    if (status.reason === null) this.agentStatus.delete(workstationId);
    else this.agentStatus.set(workstationId, { reason: status.reason, message: status.message });
    return this.applyStatus(workstationId);
  }

  /** The operation engine's breaker for the workstation opened (`degraded`, `breaker_open`) or closed. */
  breakerChanged(workstationId: string, open: boolean): void {
    if (open === this.openBreakers.has(workstationId)) return;
    if (open) this.openBreakers.add(workstationId);
    else this.openBreakers.delete(workstationId);
    this.applyStatus(workstationId).catch(() => undefined);
  }

  /**
   * Writes the status a connected workstation has now: the agent's own reason first, then an
   * open breaker, else online. Only a change is written and published (`workstation.degraded`
   * or `workstation.online`); an offline workstation stays offline.
   */
  private async applyStatus(workstationId: string): Promise<WorkstationInfo | null> {
    const agent = this.agentStatus.get(workstationId);
    const status = agent ?? (this.openBreakers.has(workstationId) ? BREAKER_OPEN : { reason: null, message: null });
    const current = await this.db.selectFrom('workstations').selectAll().where('id', '=', workstationId).executeTakeFirst();
    if (!current || current.status === 'offline') return null;
    const next = status.reason === null ? 'online' : 'degraded';
    const message = status.reason === null ? null : status.message;
    if (current.status === next && current.status_reason === status.reason && current.status_message === message) return null;
    const row = await this.updateWorkstation(workstationId, {
      ...this.liveness.unwritten(workstationId, this.clock()),
      status: next,
      status_reason: status.reason,
      status_message: message,
      updated_at: this.now(),
    });
    if (!row) return null;
    this.metrics?.statusChanged(row);
    return this.bus.publish(next === 'degraded' ? 'workstation.degraded' : 'workstation.online', this.info(row)).data;
  }

  /**
   * The session ended. Only the replica that owns the session records it: when the agent has
   * already connected to another replica, that one is the owner and the workstation stays online.
   */
  async workstationOffline(workstationId: string): Promise<WorkstationInfo | null> {
    this.agentStatus.delete(workstationId);
    // Going offline is a change of status: what only memory knew of the session goes into the row.
    const unwritten = this.liveness.unwritten(workstationId, this.clock());
    this.liveness.forget(workstationId);
    const row = await this.db
      .updateTable('workstations')
      .set({ ...unwritten, status: 'offline', status_reason: null, status_message: null, updated_at: this.now() })
      .where('id', '=', workstationId)
      .$if(this.replicaId !== null, (query) => query.where('owner_replica_id', '=', this.replicaId ?? ''))
      .returningAll()
      .executeTakeFirst();
    if (row) this.metrics?.statusChanged(row);
    return row ? this.bus.publish('workstation.offline', toWorkstationInfo(row)).data : null;
  }

  /** Publishes `workstation.updated` after an operator changed a workstation. */
  async workstationUpdated(workstationId: string): Promise<void> {
    const row = await this.db.selectFrom('workstations').selectAll().where('id', '=', workstationId).executeTakeFirst();
    if (row) this.bus.publish('workstation.updated', this.info(row));
  }

  /** A heartbeat: liveness stays in memory; the row is written at most once per `livenessPersistMs`. */
  async workstationSeen(workstationId: string): Promise<void> {
    await this.persistLiveness(workstationId, this.liveness.seen(workstationId, this.now(), this.clock()));
  }

  /** Host metrics: announced at once, served from memory, written like heartbeats. */
  async recordMetrics(workstationId: string, metrics: Metrics): Promise<void> {
    const write = this.liveness.seen(workstationId, this.now(), this.clock(), metrics);
    this.bus.publish('workstation.metrics', { workstationId, metrics });
    await this.persistLiveness(workstationId, write);
  }

  private async persistLiveness(workstationId: string, write: LivenessWrite | null): Promise<void> {
    if (write === null) return;
    await this.db.updateTable('workstations').set(write).where('id', '=', workstationId).execute();
  }

  /**
   * Applies one inventory message: it is written with the other agents' messages of the same
   * tick in one transaction (`InventoryWriter`) and settles after the commit. Events go out
   * after the commit, one per real change, in the order of the messages.
   */
  async applyInventory(workstationId: string, message: InventoryMessage): Promise<EmulatorChange[]> {
    return this.inventory.submit(workstationId, message);
  }

  // -------------------------------------------------------------------------------------------
  // Reads of stored emulator rows for the other units (the operation engine): they read the
  // inventory through these, never the `emulators` table itself.

  async emulator(id: string): Promise<EmulatorsTable | undefined> {
    return this.db.selectFrom('emulators').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The rows of the given ids that exist, in id order. */
  async emulators(ids: readonly string[]): Promise<EmulatorsTable[]> {
    const rows: EmulatorsTable[] = [];
    for (const chunk of chunks([...ids], ROWS_PER_STATEMENT)) {
      rows.push(...(await this.db.selectFrom('emulators').selectAll().where('id', 'in', chunk).orderBy('id').execute()));
    }
    return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The emulator of one instance identity (workstation, index, generation). */
  async instance(workstationId: string, index: number, generation: string): Promise<EmulatorsTable | undefined> {
    return this.db
      .selectFrom('emulators')
      .selectAll()
      .where('workstation_id', '=', workstationId)
      .where('idx', '=', index)
      .where('generation', '=', generation)
      .executeTakeFirst();
  }

  /** Emulators of a workstation named `name` that the store knew before `before` (ISO time). */
  async namedBefore(workstationId: string, name: string, before: string): Promise<EmulatorsTable[]> {
    return this.db
      .selectFrom('emulators')
      .selectAll()
      .where('workstation_id', '=', workstationId)
      .where('name', '=', name)
      .where('created_at', '<', before)
      .execute();
  }

  /** A workstation given by id or by name, as its id (an id wins over another's equal name). */
  async workstationId(ref: string): Promise<string | undefined> {
    const rows = await this.db
      .selectFrom('workstations')
      .select(['id', 'name'])
      .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
      .execute();
    return (rows.find((row) => row.id === ref) ?? rows[0])?.id;
  }

  /** The ids of the emulators a list filter matches, with the total (for batches over a filter). */
  async matching(filter: EmulatorFilter, page: PageRequest): Promise<Page<string>> {
    const result = await listEmulators(this.db, filter, page);
    return { ...result, items: result.items.map((emulator) => emulator.id) };
  }

  /** Total and running emulators of each given workstation (absent ones have none). */
  async emulatorCounts(workstationIds: readonly string[]): Promise<Map<string, EmulatorCounts>> {
    const counts = new Map<string, EmulatorCounts>();
    if (workstationIds.length === 0) return counts;
    const rows = await this.db
      .selectFrom('emulators')
      .select((eb) => [
        'workstation_id',
        eb.fn.countAll<number | string | bigint>().as('total'),
        eb.fn.sum<number | string | bigint | null>(eb.case().when('state', '=', 'running').then(1).else(0).end()).as('running'),
      ])
      .where('workstation_id', 'in', [...workstationIds])
      .groupBy('workstation_id')
      .execute();
    for (const row of rows) counts.set(row.workstation_id, { total: Number(row.total), running: Number(row.running ?? 0) });
    return counts;
  }

  /** What the workstation API shows beside the core fields: `emulators: {total, running}`. */
  async workstationExtras(workstationIds: readonly string[]): Promise<Map<string, WorkstationExtras>> {
    const counts = await this.emulatorCounts(workstationIds);
    return new Map(
      workstationIds.map((id) => [id, { emulators: counts.get(id) ?? { total: 0, running: 0 }, ...this.liveness.get(id) }]),
    );
  }

  /** A stored workstation as events show it, with the liveness only memory has yet. */
  private info(row: WorkstationsTable): WorkstationInfo {
    return { ...toWorkstationInfo(row), ...this.liveness.get(row.id) };
  }

  /** After an inventory commit: one read of the workstations' names, then the events in order. */
  private async publishApplied(applied: readonly AppliedMessage[]): Promise<void> {
    const ids = applied.filter((item) => item.changes.length > 0).map((item) => item.workstationId);
    if (ids.length === 0) return;
    const names = await workstationNames(this.db, ids);
    for (const item of applied) this.publishChanges(names.get(item.workstationId), item.changes);
  }

  private publishChanges(name: string | undefined, changes: readonly EmulatorChange[]): void {
    for (const change of changes) {
      const emulator = toEmulator(change.row, name);
      if (change.kind === 'state') {
        this.bus.publish('emulator.state', {
          ...emulator,
          previousState: toEmulator(change.previous, name).state,
          previousBooted: change.previous.booted === 1,
        });
      } else {
        this.bus.publish(`emulator.${change.kind}`, emulator);
      }
    }
  }

  private async updateWorkstation(
    workstationId: string,
    values: Partial<Omit<WorkstationsTable, 'id'>>,
  ): Promise<WorkstationsTable | undefined> {
    return this.db.updateTable('workstations').set(values).where('id', '=', workstationId).returningAll().executeTakeFirst();
  }

  private now(): string {
    return nowIso(this.clock());
  }
}
