/**
 * The engine's queries. Portable between SQLite and PostgreSQL; the only dialect difference is
 * the claim, which on PostgreSQL locks the row it picks (`FOR UPDATE SKIP LOCKED`) so that
 * replicas on one database never claim the same operation.
 */
import type { Kysely, Transaction } from 'kysely';
import type { ActionError } from '../../protocol/index.js';
import type { Database, Page, PageRequest, Store } from '../store/index.js';
import { nowIso, paginate } from '../store/index.js';
import type { BatchesTable, OperationsTable } from './schema.js';
import type { Action, ActionClass, Batch, BatchCounts, Operation, OperationStatus } from './types.js';
import { emptyCounts } from './types.js';

export type Db = Kysely<Database> | Transaction<Database>;

export interface OperationFilter {
  status?: OperationStatus | undefined;
  batch?: string | undefined;
  emulator?: string | undefined;
  workstation?: string | undefined;
  action?: Action | undefined;
}

export function toOperation(row: OperationsTable): Operation {
  const operation: Operation = {
    id: row.id,
    action: row.action as Action,
    status: row.status as OperationStatus,
    workstationId: row.workstation_id,
    params: JSON.parse(row.params) as Record<string, unknown>,
    attempts: Number(row.attempts),
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
  if (row.emulator_id !== null) operation.emulatorId = row.emulator_id;
  if (row.batch_id !== null) operation.batchId = row.batch_id;
  if (row.result !== null) operation.result = JSON.parse(row.result) as unknown;
  if (row.error !== null) operation.error = JSON.parse(row.error) as ActionError;
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

  constructor(private readonly store: Store) {
    this.db = store.db;
  }

  async get(id: string, db: Db = this.db): Promise<OperationsTable | undefined> {
    return db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: OperationFilter, page: PageRequest): Promise<Page<OperationsTable>> {
    let query = this.db.selectFrom('operations').selectAll();
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.batch !== undefined) query = query.where('batch_id', '=', filter.batch);
    if (filter.emulator !== undefined) query = query.where('emulator_id', '=', filter.emulator);
    if (filter.workstation !== undefined) query = query.where('workstation_id', '=', filter.workstation);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    return paginate(query, 'id', page);
  }

  /**
   * Takes the oldest queued operation of `workstationId` in `lane` that is due, and marks
   * it running with one more attempt. Returns undefined when there is none (or another replica
   * took it first).
   */
  async claimNext(workstationId: string, lane: ActionClass, now: number): Promise<OperationsTable | undefined> {
    const at = nowIso(now);
    return this.db.transaction().execute(async (trx) => {
      const candidate = await trx
        .selectFrom('operations')
        .select('id')
        .where('workstation_id', '=', workstationId)
        .where('status', '=', 'queued')
        .where('lane', '=', lane)
        .where((eb) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', at)]))
        .orderBy('id')
        .limit(1)
        .$if(this.store.kind === 'postgres', (query) => query.forUpdate().skipLocked())
        .executeTakeFirst();
      if (!candidate) return undefined;
      return trx
        .updateTable('operations')
        .set((eb) => ({
          status: 'running',
          attempts: eb('attempts', '+', 1),
          started_at: eb.fn.coalesce('started_at', eb.val(at)),
          not_before: null,
          updated_at: at,
        }))
        .where('id', '=', candidate.id)
        .where('status', '=', 'queued')
        .returningAll()
        .executeTakeFirst();
    });
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

  async runningOf(workstationId: string): Promise<OperationsTable[]> {
    return this.db
      .selectFrom('operations')
      .selectAll()
      .where('workstation_id', '=', workstationId)
      .where('status', '=', 'running')
      .orderBy('id')
      .execute();
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
    return this.db
      .updateTable('operations')
      .set({ ...values, updated_at: nowIso(now) })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .returningAll()
      .executeTakeFirst();
  }

  async setRpcId(id: string, rpcId: string | null): Promise<void> {
    await this.db.updateTable('operations').set({ rpc_id: rpcId }).where('id', '=', id).execute();
  }

  async setProgress(id: string, progress: string, now: number): Promise<OperationsTable | undefined> {
    return this.db
      .updateTable('operations')
      .set({ progress, updated_at: nowIso(now) })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
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

  /** Marks a batch finished once, when its last child reached a final status. */
  async finishBatchIfDone(batchId: string, now: number): Promise<BatchesTable | undefined> {
    const counts = await this.batchCounts(batchId);
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
    await this.db.updateTable('batches').set({ finished_at: null }).where('id', '=', batchId).execute();
  }

  async workstationLimits(workstationId: string): Promise<unknown> {
    const row = await this.db.selectFrom('workstations').select('limits').where('id', '=', workstationId).executeTakeFirst();
    return row ? (JSON.parse(row.limits) as unknown) : {};
  }
}
