/**
 * The engine's queries. Portable between SQLite and PostgreSQL; the only dialect difference is
 * the claim, which on PostgreSQL locks the row it picks (`FOR UPDATE SKIP LOCKED`) so that
 * replicas on one database never claim the same operation.
 */
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { ActionError } from '../../protocol/index.js';
import type { Database, Page, PageRequest, Store, StoreKind } from '../store/index.js';
import { ROWS_PER_STATEMENT, chunks, nowIso, paginate } from '../store/index.js';
import type { BatchesTable, OperationsTable } from './schema.js';
import type { Action, ActionClass, Batch, BatchCounts, BatchStatus, Operation, OperationStatus, WaitingReason } from './types.js';
import { batchStatusOf, emptyCounts } from './types.js';

export type Db = Kysely<Database> | Transaction<Database>;

/** Batches whose shared params are cached at most. */
const SHARED_PARAMS_CACHE = 1000;

/** A child's params: the batch's shared ones under its own. */
function mergeParams(shared: string, own: string): string {
  if (own === '{}') return shared;
  return JSON.stringify({ ...(JSON.parse(shared) as Record<string, unknown>), ...(JSON.parse(own) as Record<string, unknown>) });
}

export interface OperationFilter {
  status?: OperationStatus | undefined;
  batch?: string | undefined;
  emulator?: string | undefined;
  workstation?: string | undefined;
  action?: Action | undefined;
}

export interface BatchFilter {
  status?: BatchStatus | undefined;
  action?: Action | undefined;
}

export type Order = 'asc' | 'desc';

/** One change of `transitionEach`: the operation's new values, while its status is one of `from`. */
export interface OperationTransition {
  readonly id: string;
  readonly from: readonly OperationStatus[];
  readonly values: Partial<Omit<OperationsTable, 'id'>>;
}

/** A row `claimDue` marked running, and whether an earlier attempt's call left its rpc id on it. */
export interface ClaimedOperation {
  readonly row: OperationsTable;
  readonly hadRpcId: boolean;
}

export function toOperation(row: OperationsTable): Operation {
  const operation: Operation = {
    id: row.id,
    action: row.action as Action,
    status: row.status as OperationStatus,
    workstationId: row.workstation_id,
    params: JSON.parse(row.params) as Record<string, unknown>,
    attempts: Number(row.attempts),
    waiting: null,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
  if (row.emulator_id !== null) operation.emulatorId = row.emulator_id;
  if (row.batch_id !== null) operation.batchId = row.batch_id;
  if (row.result !== null) operation.result = JSON.parse(row.result) as unknown;
  if (row.error !== null) operation.error = JSON.parse(row.error) as ActionError;
  operation.waiting =
    row.status === 'queued' && row.waiting_reason !== null
      ? { reason: row.waiting_reason as WaitingReason, message: row.waiting_message ?? '', since: row.waiting_since ?? row.updated_at }
      : null;
  if (row.started_at !== null) operation.startedAt = row.started_at;
  if (row.finished_at !== null) operation.finishedAt = row.finished_at;
  if (row.progress !== null) operation.progress = row.progress;
  if (Number(row.cancel_requested) === 1 && row.status === 'running') operation.cancelRequested = true;
  return operation;
}

export function toBatch(row: BatchesTable, counts: BatchCounts): Batch {
  const batch: Batch = {
    id: row.id,
    action: row.action as Action,
    status: batchStatusOf(counts, Number(row.total), Number(row.cancel_requested) === 1),
    params: JSON.parse(row.params) as Record<string, unknown>,
    target: JSON.parse(row.target) as unknown,
    total: Number(row.total),
    counts,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
  if (row.finished_at !== null) batch.finishedAt = row.finished_at;
  return batch;
}

export class OperationRepository {
  readonly db: Kysely<Database>;
  readonly storeKind: StoreKind;
  private readonly shared = new Map<string, string | null>();

  constructor(private readonly store: Store) {
    this.db = store.db;
    this.storeKind = store.kind;
  }

  async get(id: string, db: Db = this.db): Promise<OperationsTable | undefined> {
    return this.one(await db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst());
  }

  /**
   * A batch's children store only what differs between them; the params they share are stored
   * once, in the batch (`child_params`). Every row the repository returns has its whole params
   * again. A batch's shared params never change, so they are cached by batch id.
   */
  async withParams(rows: OperationsTable[]): Promise<OperationsTable[]> {
    const missing = [...new Set(rows.flatMap((row) => (row.batch_id !== null && !this.shared.has(row.batch_id) ? [row.batch_id] : [])))];
    if (missing.length > 0) {
      if (this.shared.size + missing.length > SHARED_PARAMS_CACHE) this.shared.clear();
      for (const slice of chunks(missing, ROWS_PER_STATEMENT)) {
        const batches = await this.db.selectFrom('batches').select(['id', 'child_params']).where('id', 'in', slice).execute();
        for (const batch of batches) this.shared.set(batch.id, batch.child_params);
      }
    }
    return rows.map((row) => {
      const shared = row.batch_id === null ? null : (this.shared.get(row.batch_id) ?? null);
      return shared === null ? row : { ...row, params: mergeParams(shared, row.params) };
    });
  }

  private async one(row: OperationsTable | undefined): Promise<OperationsTable | undefined> {
    return row === undefined ? undefined : (await this.withParams([row]))[0];
  }

  /** Transfer ids of uploads that queued or running installs refer to. */
  async unfinishedTransfers(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('operations').select('params').where('action', '=', 'installApp').where('status', 'in', ['queued', 'running']).execute();
    const ids = new Set<string>();
    for (const row of rows) {
      const transferId = (JSON.parse(row.params) as { transferId?: unknown }).transferId;
      if (typeof transferId === 'string') ids.add(transferId);
    }
    return ids;
  }

  /**
   * Operations of this user not finished yet. On PostgreSQL it first takes a transaction lock
   * on the user, so two requests of one user cannot both pass the cap (SQLite's writes are
   * serialised already).
   */
  async unfinishedOf(trx: Transaction<Database>, ownerId: string): Promise<number> {
    if (this.store.kind === 'postgres') await sql`SELECT pg_advisory_xact_lock(hashtext(${`ldfleet-owner:${ownerId}`}))`.execute(trx);
    const row = await trx
      .selectFrom('operations')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('owner_id', '=', ownerId)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async list(filter: OperationFilter, page: PageRequest, order: Order = 'asc'): Promise<Page<OperationsTable>> {
    let query = this.db.selectFrom('operations').selectAll();
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.batch !== undefined) query = query.where('batch_id', '=', filter.batch);
    if (filter.emulator !== undefined) query = query.where('emulator_id', '=', filter.emulator);
    if (filter.workstation !== undefined) query = query.where('workstation_id', '=', filter.workstation);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    const result = await paginate(query, 'id', page, order);
    return { ...result, items: await this.withParams(result.items) };
  }

  async listBatches(filter: BatchFilter, page: PageRequest, order: Order): Promise<Page<BatchesTable>> {
    let query = this.db.selectFrom('batches').selectAll();
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    return paginate(query, 'id', page, order);
  }

  /** The children's counts of several batches in one query. */
  async countsOf(batchIds: readonly string[]): Promise<Map<string, BatchCounts>> {
    const result = new Map(batchIds.map((id) => [id, emptyCounts()]));
    if (batchIds.length === 0) return result;
    const rows = await this.db
      .selectFrom('operations')
      .select((eb) => ['batch_id', 'status', eb.fn.countAll<number | string | bigint>().as('n')])
      .where('batch_id', 'in', [...batchIds])
      .groupBy(['batch_id', 'status'])
      .execute();
    for (const row of rows) {
      const counts = row.batch_id === null ? undefined : result.get(row.batch_id);
      if (counts) counts[row.status as OperationStatus] = Number(row.n);
    }
    return result;
  }

  /** Records the batch's status (for list filters) when it changed. */
  async setBatchStatus(batchId: string, status: BatchStatus): Promise<void> {
    await this.db.updateTable('batches').set({ status }).where('id', '=', batchId).where('status', '!=', status).execute();
  }

  async markBatchCancelled(batchId: string): Promise<BatchesTable | undefined> {
    return this.db.updateTable('batches').set({ cancel_requested: 1 }).where('id', '=', batchId).returningAll().executeTakeFirst();
  }

  /** Ids of a batch's children in one of `statuses`. */
  async childrenIn(batchId: string, statuses: readonly OperationStatus[]): Promise<string[]> {
    const rows = await this.db.selectFrom('operations').select('id').where('batch_id', '=', batchId).where('status', 'in', [...statuses]).orderBy('id').execute();
    return rows.map((row) => row.id);
  }

  /**
   * Marks the due queued operations of a workstation's lane as waiting for `reason`, leaving
   * those already waiting for it alone (so `since` stays when the wait began). Returns the rows
   * it changed, for their events.
   */
  async markWaiting(workstationId: string, lane: ActionClass | undefined, reason: WaitingReason, message: string, now: number): Promise<OperationsTable[]> {
    const at = nowIso(now);
    const rows = await this.db
      .updateTable('operations')
      .set({ waiting_reason: reason, waiting_message: message, waiting_since: at, updated_at: at })
      .where('workstation_id', '=', workstationId)
      .where('status', '=', 'queued')
      .$if(lane !== undefined, (query) => query.where('lane', '=', lane ?? 'mutation'))
      .where((eb) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', at)]))
      .where((eb) => eb.or([eb('waiting_reason', 'is', null), eb('waiting_reason', '!=', reason)]))
      .returningAll()
      .execute();
    return this.withParams(rows);
  }

  /** Queued operations of workstations that are offline now (by the fleet's record), not yet marked so. */
  async queuedOnOffline(limit: number): Promise<{ workstation_id: string }[]> {
    return this.db
      .selectFrom('operations')
      .innerJoin('workstations', 'workstations.id', 'operations.workstation_id')
      .select('operations.workstation_id')
      .distinct()
      .where('operations.status', '=', 'queued')
      .where('workstations.status', '=', 'offline')
      .where((eb) => eb.or([eb('operations.waiting_reason', 'is', null), eb('operations.waiting_reason', '!=', 'workstation_offline')]))
      .limit(limit)
      .execute();
  }

  /** Operations waiting for an offline workstation, with what their grace needs. */
  async waitingOffline(): Promise<Pick<OperationsTable, 'id' | 'workstation_id' | 'waiting_since' | 'offline_grace_ms'>[]> {
    return this.db
      .selectFrom('operations')
      .innerJoin('workstations', 'workstations.id', 'operations.workstation_id')
      .select(['operations.id', 'operations.workstation_id', 'operations.waiting_since', 'operations.offline_grace_ms'])
      .where('operations.status', '=', 'queued')
      .where('operations.waiting_reason', '=', 'workstation_offline')
      .where('workstations.status', '=', 'offline')
      .execute();
  }

  /** Restarts the offline clock of every waiting operation: a server that was down could not tell how long. */
  async restartOfflineWaits(now: number): Promise<void> {
    await this.db.updateTable('operations').set({ waiting_since: nowIso(now) }).where('status', '=', 'queued').where('waiting_reason', '=', 'workstation_offline').execute();
  }

  /** Operations `running` on these workstations (to find those no attempt of this process is behind). */
  async runningOn(workstationIds: readonly string[]): Promise<OperationsTable[]> {
    if (workstationIds.length === 0) return [];
    return this.withParams(
      await this.db.selectFrom('operations').selectAll().where('status', '=', 'running').where('workstation_id', 'in', [...workstationIds]).orderBy('id').execute(),
    );
  }

  /**
   * Takes up to `limit` of the oldest due queued operations of `workstationId` in `lane` in one
   * transaction, and marks them running with one more attempt and the rpc id of the attempt
   * (the one they kept from a lost call, else `<id>:<attempt>`), so the id is durable before
   * any call goes out. Fewer (or none) when fewer are due or another replica took them first.
   * Each claimed row comes with whether it had an rpc id before (a call of an earlier attempt
   * whose outcome is unknown).
   */
  async claimDue(workstationId: string, lane: ActionClass, limit: number, now: number, replicaId?: string): Promise<ClaimedOperation[]> {
    const at = nowIso(now);
    // PostgreSQL locks the candidates until the update (replicas skip them); SQLite runs one
    // statement at a time on one connection, and the update's `status = 'queued'` keeps a row
    // from being claimed twice, so it needs no transaction (most claims find nothing to take).
    const inTransaction = <T>(work: (db: Db) => Promise<T>): Promise<T> =>
      this.store.kind === 'postgres' ? this.db.transaction().execute(work) : work(this.db);
    const claimed = await inTransaction(async (trx) => {
      const candidates = await trx
        .selectFrom('operations')
        .select(['id', 'rpc_id'])
        .where('workstation_id', '=', workstationId)
        // A replica claims only for a workstation whose session it owns: a stale session that
        // another replica has taken over claims nothing.
        .$if(replicaId !== undefined, (query) =>
          query.where((eb) =>
            eb.exists(eb.selectFrom('workstations').select('id').where('id', '=', workstationId).where('owner_replica_id', '=', replicaId ?? '')),
          ),
        )
        .where('status', '=', 'queued')
        .where('lane', '=', lane)
        .where((eb) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', at)]))
        .orderBy('id')
        .limit(limit)
        .$if(this.store.kind === 'postgres', (query) => query.forUpdate().skipLocked())
        .execute();
      if (candidates.length === 0) return [];
      const rows = await trx
        .updateTable('operations')
        .set((eb) => ({
          status: 'running',
          attempts: eb('attempts', '+', 1),
          started_at: eb.fn.coalesce('started_at', eb.val(at)),
          rpc_id: eb.fn.coalesce('rpc_id', sql<string>`${eb.ref('id')} || ':' || (${eb.ref('attempts')} + 1)`),
          not_before: null,
          waiting_reason: null,
          waiting_message: null,
          waiting_since: null,
          updated_at: at,
          ...(replicaId !== undefined ? { replica_id: replicaId } : {}),
        }))
        .where(
          'id',
          'in',
          candidates.map((candidate) => candidate.id),
        )
        .where('status', '=', 'queued')
        .returningAll()
        .execute();
      const before = new Map(candidates.map((candidate) => [candidate.id, candidate.rpc_id]));
      // The claim order (oldest first), whatever order the update returned them in.
      return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((row) => ({ row, hadRpcId: (before.get(row.id) ?? null) !== null }));
    });
    const rows = await this.withParams(claimed.map((claim) => claim.row));
    return rows.map((row, n) => ({ row, hadRpcId: claimed[n]?.hadRpcId ?? false }));
  }

  /** Workstations with queued operations (due now or later), for the dispatcher's sweep. */
  async workstationsWithQueued(): Promise<string[]> {
    const rows = await this.db.selectFrom('operations').select('workstation_id').distinct().where('status', '=', 'queued').execute();
    return rows.map((row) => row.workstation_id);
  }

  /**
   * The earliest `not_before` still in the future, so the dispatcher knows when to look again
   * (retries already due are picked up by the pumps).
   */
  async nextDueRetry(now: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('operations')
      .select((eb) => eb.fn.min('not_before').as('due'))
      .where('status', '=', 'queued')
      .where('not_before', '>', nowIso(now))
      .executeTakeFirst();
    return row?.due ?? undefined;
  }

  /**
   * Of these `running` rows, those this replica may resume: its own, those no replica is
   * recorded on, and those of replicas whose lease has lapsed, which it takes over (a
   * compare-and-set on `replica_id`, so of two replicas only one takes a row). A live
   * replica's rows are left to it.
   */
  async takeOver(rows: readonly OperationsTable[], replicaId: string, live: ReadonlySet<string>): Promise<OperationsTable[]> {
    const taken: OperationsTable[] = [];
    for (const row of rows) {
      const holder = row.replica_id ?? null;
      if (holder === null || holder === replicaId) taken.push(row);
      else if (!live.has(holder)) {
        const result = await this.db
          .updateTable('operations')
          .set({ replica_id: replicaId })
          .where('id', '=', row.id)
          .where('status', '=', 'running')
          .where('replica_id', '=', holder)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) taken.push({ ...row, replica_id: replicaId });
      }
    }
    return taken;
  }

  async runningOf(workstationId: string): Promise<OperationsTable[]> {
    return this.withParams(
      await this.db.selectFrom('operations').selectAll().where('workstation_id', '=', workstationId).where('status', '=', 'running').orderBy('id').execute(),
    );
  }

  /**
   * Changes an operation only while its status is one of `from`; returns the new row, or
   * undefined when it had moved on (so two writers never both finish one operation).
   */
  async transition(
    id: string,
    from: readonly OperationStatus[],
    values: Partial<Omit<OperationsTable, 'id'>>,
    now: number,
  ): Promise<OperationsTable | undefined> {
    return this.one(
      await this.db
        .updateTable('operations')
        .set({ ...values, updated_at: nowIso(now) })
        .where('id', '=', id)
        .where('status', 'in', [...from])
        .returningAll()
        .executeTakeFirst(),
    );
  }

  /**
   * Several `transition`s in one transaction (one commit for all); one result each, in order,
   * undefined for an operation that had moved on.
   */
  async transitionEach(changes: readonly OperationTransition[], now: number): Promise<(OperationsTable | undefined)[]> {
    const at = nowIso(now);
    const rows = await this.db.transaction().execute(async (trx) => {
      const changed: (OperationsTable | undefined)[] = [];
      for (const change of changes) {
        changed.push(
          await trx
            .updateTable('operations')
            .set({ ...change.values, updated_at: at })
            .where('id', '=', change.id)
            .where('status', 'in', [...change.from])
            .returningAll()
            .executeTakeFirst(),
        );
      }
      return changed;
    });
    const merged = await this.withParams(rows.filter((row) => row !== undefined));
    const byId = new Map(merged.map((row) => [row.id, row]));
    return rows.map((row) => (row === undefined ? undefined : byId.get(row.id)));
  }

  /** `transition` for many operations at once; returns the rows that changed. */
  async transitionMany(
    ids: readonly string[],
    from: readonly OperationStatus[],
    values: Partial<Omit<OperationsTable, 'id'>>,
    now: number,
  ): Promise<OperationsTable[]> {
    const changed: OperationsTable[] = [];
    for (const chunk of chunks(ids, ROWS_PER_STATEMENT)) {
      changed.push(
        ...(await this.db
          .updateTable('operations')
          .set({ ...values, updated_at: nowIso(now) })
          .where('id', 'in', chunk)
          .where('status', 'in', [...from])
          .returningAll()
          .execute()),
      );
    }
    return this.withParams(changed);
  }

  async setRpcId(id: string, rpcId: string | null): Promise<void> {
    await this.db.updateTable('operations').set({ rpc_id: rpcId }).where('id', '=', id).execute();
  }

  /** The operation follows its instance to the emulator id the inventory gives it now. */
  async setEmulatorId(id: string, emulatorId: string): Promise<void> {
    await this.db.updateTable('operations').set({ emulator_id: emulatorId }).where('id', '=', id).execute();
  }

  async setProgress(id: string, progress: string, now: number): Promise<OperationsTable | undefined> {
    return this.one(await this.db.updateTable('operations').set({ progress, updated_at: nowIso(now) }).where('id', '=', id).returningAll().executeTakeFirst());
  }

  async getBatch(id: string): Promise<BatchesTable | undefined> {
    return this.db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async batchCounts(batchId: string): Promise<BatchCounts> {
    const rows = await this.db
      .selectFrom('operations')
      .select((eb) => ['status', eb.fn.countAll<number | string | bigint>().as('n')])
      .where('batch_id', '=', batchId)
      .groupBy('status')
      .execute();
    const counts = emptyCounts();
    for (const row of rows) counts[row.status as OperationStatus] = Number(row.n);
    return counts;
  }

  /** Marks a batch finished once, when its last child reached a final status (`counts` when the caller has them). */
  async finishBatchIfDone(batchId: string, now: number, known?: BatchCounts): Promise<BatchesTable | undefined> {
    const counts = known ?? (await this.batchCounts(batchId));
    if (counts.queued + counts.running > 0) return undefined;
    return this.db
      .updateTable('batches')
      .set({ finished_at: nowIso(now) })
      .where('id', '=', batchId)
      .where('finished_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  /** Reopens a finished batch when one of its children is retried. */
  async reopenBatch(batchId: string): Promise<void> {
    await this.db.updateTable('batches').set({ finished_at: null, cancel_requested: 0 }).where('id', '=', batchId).execute();
  }

  async workstationLimits(workstationId: string): Promise<unknown> {
    const row = await this.db.selectFrom('workstations').select('limits').where('id', '=', workstationId).executeTakeFirst();
    return row ? (JSON.parse(row.limits) as unknown) : {};
  }
}
