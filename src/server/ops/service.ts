/**
 * What the routes ask of the engine: queue operations and batches durably (with their
 * idempotency record, in one transaction, before the reply), read them, cancel and retry.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { EventBus } from '../events/index.js';
import type { Database, Page, PageRequest } from '../store/index.js';
import { isUniqueViolation, newId, nowIso } from '../store/index.js';
import { laneOf } from './actions.js';
import type { OperationEngine } from './engine.js';
import type { BatchFilter, OperationFilter, OperationRepository, Order } from './repository.js';
import { toBatch, toOperation } from './repository.js';
import type { OperationsTable } from './schema.js';
import type { Action, Batch, Operation } from './types.js';
import { emptyCounts } from './types.js';
import { transferIdOf } from './uploads.js';
import './events.js';

/** What a retried operation starts from again. */
const RETRY_VALUES = {
  status: 'queued',
  finished_at: null,
  error: null,
  result: null,
  progress: null,
  cancel_requested: 0,
  not_before: null,
  waiting_reason: null,
  waiting_message: null,
  waiting_since: null,
} as const;

/** Rows per multi-row insert: well under both databases' bound-parameter limits. */
const ROWS_PER_INSERT = 200;
/** Rows inserted (or announced) between two yields to the event loop. */
const ROWS_PER_SLICE = 1000;

/** Lets timers and I/O run between slices of a big batch, so a 10,000-row insert never holds the loop for long. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface NewOperation {
  action: Action;
  workstationId: string;
  emulatorId?: string | undefined;
  /** The emulator's instance identity when the operation was made. */
  target?: { index: number; generation: string } | undefined;
  params: Record<string, unknown>;
  /** How long it may wait for an offline workstation; the server's default when absent. */
  offlineGraceMs?: number | undefined;
}

export interface Requester {
  /** The principal's user id: idempotency keys are scoped to it. */
  principal: string;
  /** Shown as `createdBy`. */
  name: string;
  idempotencyKey?: string | undefined;
  /** A digest of what was asked; the same key with another digest is a conflict. */
  requestHash: string;
}

export type Stored = { kind: 'operation'; operation: Operation } | { kind: 'batch'; batch: Batch };

export class IdempotencyConflictError extends Error {
  constructor() {
    super('this Idempotency-Key was used for a different request');
  }
}

/** The request would pass the user's cap of unfinished operations (HTTP 429); nothing was created. */
export class QueueLimitError extends Error {
  constructor(
    readonly limit: number,
    readonly unfinished: number,
    readonly requested: number,
  ) {
    super(`you have ${unfinished} operations queued or running and asked for ${requested} more; at most ${limit} may be unfinished at once (wait for some to finish or cancel them)`);
  }
}

export class OperationStateError extends Error {
  constructor(
    readonly code: 'not_found' | 'already_finished' | 'not_retryable' | 'nothing_to_retry' | 'upload_gone',
    message: string,
  ) {
    super(message);
  }
}

/** A stable digest of a request: method, route and body. */
export function requestDigest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class OperationService {
  constructor(
    private readonly repo: OperationRepository,
    private readonly engine: OperationEngine,
    private readonly bus: EventBus,
  ) {}

  /** True when an operation refers to this uploaded file (so it must be kept). */
  async transferQueued(transferId: string): Promise<boolean> {
    const pattern = `%"transferId":"${transferId}"%`;
    const row = await this.repo.db.selectFrom('operations').select('id').where('action', '=', 'installApp').where('params', 'like', pattern).executeTakeFirst();
    return row !== undefined;
  }

  /** The stored reply of an earlier request with the same key, if any. */
  async replay(requester: Requester): Promise<Stored | undefined> {
    if (requester.idempotencyKey === undefined) return undefined;
    const record = await this.repo.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('principal', '=', requester.principal)
      .where('key', '=', requester.idempotencyKey)
      .executeTakeFirst();
    if (!record) return undefined;
    if (record.request_hash !== requester.requestHash) throw new IdempotencyConflictError();
    if (record.kind === 'batch') {
      const batch = await this.getBatch(record.resource_id, { limit: 100 });
      return batch ? { kind: 'batch', batch } : undefined;
    }
    const operation = await this.getOperation(record.resource_id);
    return operation ? { kind: 'operation', operation } : undefined;
  }

  async submitOperation(requester: Requester, operation: NewOperation): Promise<Operation> {
    const stored = await this.store(requester, async (trx, now) => {
      await this.checkQueueLimit(trx, requester, 1);
      const row = operationRow(operation, undefined, requester, now);
      await trx.insertInto('operations').values(row).execute();
      return { kind: 'operation' as const, id: row.id, rows: [row] };
    });
    if (stored.kind !== 'operation') throw new IdempotencyConflictError();
    return stored.operation;
  }

  async submitBatch(
    requester: Requester,
    batch: { action: Action; params: Record<string, unknown>; target: unknown },
    operations: readonly NewOperation[],
  ): Promise<Batch> {
    const stored = await this.store(requester, async (trx, now) => {
      await this.checkQueueLimit(trx, requester, operations.length);
      const id = newId(now);
      const shared = sharedParams(operations);
      await trx
        .insertInto('batches')
        .values({
          id,
          action: batch.action,
          params: JSON.stringify(batch.params),
          target: JSON.stringify(batch.target),
          total: operations.length,
          created_by: requester.name,
          created_at: nowIso(now),
          // An empty batch is finished from the start.
          finished_at: operations.length === 0 ? nowIso(now) : null,
          status: operations.length === 0 ? 'succeeded' : 'queued',
          cancel_requested: 0,
          child_params: shared === undefined ? null : JSON.stringify(shared),
        })
        .execute();
      // Rows as announced (whole params) and as stored (only what differs from the shared ones).
      const rows: OperationsTable[] = [];
      for (let start = 0; start < operations.length; start += ROWS_PER_INSERT) {
        const chunk = operations.slice(start, start + ROWS_PER_INSERT).map((operation) => operationRow(operation, id, requester, now));
        rows.push(...chunk);
        const stored = shared === undefined ? chunk : chunk.map((row, i) => ({ ...row, params: JSON.stringify(ownParams(operations[start + i]?.params ?? {}, shared)) }));
        await trx.insertInto('operations').values(stored).execute();
        if ((start + ROWS_PER_INSERT) % ROWS_PER_SLICE === 0) await yieldToLoop();
      }
      return { kind: 'batch' as const, id, rows };
    });
    if (stored.kind !== 'batch') throw new IdempotencyConflictError();
    return stored.batch;
  }

  async getOperation(id: string): Promise<Operation | undefined> {
    const row = await this.repo.get(id);
    return row ? toOperation(row) : undefined;
  }

  async listOperations(filter: OperationFilter, page: PageRequest, order: Order = 'desc'): Promise<Page<Operation>> {
    const result = await this.repo.list(filter, page, order);
    return { ...result, items: result.items.map(toOperation) };
  }

  /** Batches with their counts (no children). */
  async listBatches(filter: BatchFilter, page: PageRequest, order: Order = 'desc'): Promise<Page<Batch>> {
    const result = await this.repo.listBatches(filter, page, order);
    const counts = await this.repo.countsOf(result.items.map((row) => row.id));
    return { ...result, items: result.items.map((row) => toBatch(row, counts.get(row.id) ?? emptyCounts())) };
  }

  /** The batch with its counts and one page of its children. */
  async getBatch(id: string, page: PageRequest): Promise<Batch | undefined> {
    const row = await this.repo.getBatch(id);
    if (!row) return undefined;
    const [counts, children] = await Promise.all([this.repo.batchCounts(id), this.repo.list({ batch: id }, page)]);
    return { ...toBatch(row, counts), operations: children.items.map(toOperation), nextCursor: children.nextCursor };
  }

  /**
   * Queued ⇒ cancelled at once. Running ⇒ cancel requested: the engine stops waiting where it
   * can and does not retry. Finished ⇒ `already_finished`.
   */
  async cancel(id: string): Promise<Operation> {
    const now = this.engine.clock.now();
    const cancelled = await this.repo.transition(id, ['queued'], { status: 'cancelled', finished_at: nowIso(now), not_before: null }, now);
    if (cancelled) {
      this.engine.announce(cancelled, 'operation.finished');
      return toOperation(cancelled);
    }
    const requested = await this.repo.transition(id, ['running'], { cancel_requested: 1 }, now);
    if (requested) {
      this.engine.announce(requested, 'operation.updated');
      this.engine.cancelRunning(id);
      return toOperation(requested);
    }
    const row = await this.repo.get(id);
    if (!row) throw new OperationStateError('not_found', 'operation not found');
    throw new OperationStateError('already_finished', `operation ${id} is already ${row.status}`);
  }

  /** Failed or cancelled ⇒ queued again; its attempts go on counting. An install whose upload was deleted cannot be. */
  async retry(id: string): Promise<Operation> {
    const previous = await this.repo.get(id);
    const transferId = previous ? transferIdOf(previous) : undefined;
    if (transferId !== undefined && !(await this.engine.uploads.exists(transferId))) {
      throw new OperationStateError('upload_gone', `the APK of operation ${id} was deleted when it ended; upload it again`);
    }
    const now = this.engine.clock.now();
    const row = await this.repo.transition(
      id,
      ['failed', 'cancelled'],
      RETRY_VALUES,
      now,
    );
    if (!row) {
      const existing = await this.repo.get(id);
      if (!existing) throw new OperationStateError('not_found', 'operation not found');
      throw new OperationStateError('not_retryable', `operation ${id} is ${existing.status}; only failed or cancelled ones can be retried`);
    }
    if (row.batch_id !== null) await this.repo.reopenBatch(row.batch_id);
    this.engine.announce(row, 'operation.updated');
    this.engine.kick(row.workstation_id);
    return toOperation(row);
  }

  /**
   * Cancels the rest of a batch: queued children are cancelled at once, running ones are asked
   * to stop (as `cancel` does for one). A finished batch is `already_finished`.
   */
  async cancelBatch(id: string): Promise<Batch> {
    const batch = await this.repo.getBatch(id);
    if (!batch) throw new OperationStateError('not_found', 'batch not found');
    if (batch.finished_at !== null) throw new OperationStateError('already_finished', `batch ${id} is already finished`);
    await this.repo.markBatchCancelled(id);
    const now = this.engine.clock.now();
    const queued = await this.repo.childrenIn(id, ['queued']);
    for (const row of await this.repo.transitionMany(queued, ['queued'], { status: 'cancelled', finished_at: nowIso(now), not_before: null }, now)) {
      this.engine.announce(row, 'operation.finished');
    }
    const running = await this.repo.childrenIn(id, ['running']);
    for (const row of await this.repo.transitionMany(running, ['running'], { cancel_requested: 1 }, now)) {
      this.engine.announce(row, 'operation.updated');
      this.engine.cancelRunning(row.id);
    }
    return this.batchNow(id);
  }

  /** Queues a batch's failed children again (attempts go on counting); `nothing_to_retry` without any. */
  async retryBatch(id: string): Promise<Batch> {
    const batch = await this.repo.getBatch(id);
    if (!batch) throw new OperationStateError('not_found', 'batch not found');
    const failed = await this.repo.childrenIn(id, ['failed']);
    if (failed.length === 0) throw new OperationStateError('nothing_to_retry', `batch ${id} has no failed operations`);
    const now = this.engine.clock.now();
    const rows = await this.repo.transitionMany(failed, ['failed'], RETRY_VALUES, now);
    await this.repo.reopenBatch(id);
    for (const row of rows) this.engine.announce(row, 'operation.updated');
    for (const workstationId of new Set(rows.map((row) => row.workstation_id))) this.engine.kick(workstationId);
    return this.batchNow(id);
  }

  /** The batch as it is now, its status recorded (the list filter reads it). */
  private async batchNow(id: string): Promise<Batch> {
    const row = await this.repo.getBatch(id);
    if (!row) throw new OperationStateError('not_found', 'batch not found');
    const batch = toBatch(row, await this.repo.batchCounts(id));
    await this.repo.setBatchStatus(id, batch.status);
    return batch;
  }

  /** Refuses (nothing written) a request that would pass the user's cap of unfinished operations. */
  private async checkQueueLimit(trx: Transaction<Database>, requester: Requester, requested: number): Promise<void> {
    const limit = this.engine.options.maxQueuedPerUser;
    if (requested === 0) return;
    const unfinished = await this.repo.unfinishedOf(trx, requester.principal);
    if (unfinished + requested > limit) throw new QueueLimitError(limit, unfinished, requested);
  }

  /**
   * Writes the idempotency record and the rows in one transaction, then announces them and
   * wakes the dispatcher. Two concurrent requests with one key: the loser's insert of the key
   * fails, its transaction rolls back, and it returns the winner's reply.
   */
  private async store(
    requester: Requester,
    write: (trx: Transaction<Database>, now: number) => Promise<{ kind: 'operation' | 'batch'; id: string; rows: OperationsTable[] }>,
  ): Promise<Stored> {
    const now = this.engine.clock.now();
    let written: { kind: 'operation' | 'batch'; id: string; rows: OperationsTable[] };
    try {
      written = await this.repo.db.transaction().execute(async (trx) => {
        const result = await write(trx, now);
        if (requester.idempotencyKey !== undefined) {
          await trx
            .insertInto('idempotency_keys')
            .values({
              principal: requester.principal,
              key: requester.idempotencyKey,
              request_hash: requester.requestHash,
              kind: result.kind,
              resource_id: result.id,
              created_at: nowIso(now),
            })
            .execute();
        }
        return result;
      });
    } catch (error) {
      if (requester.idempotencyKey !== undefined && isUniqueViolation(error)) {
        const stored = await this.replay(requester);
        if (stored) return stored;
      }
      throw error;
    }
    return this.announceWritten(written);
  }

  /**
   * Events in the order a client can follow: a batch's `batch.created` before its children's
   * `operation.created`, and those before the dispatcher is woken.
   */
  private async announceWritten(written: { kind: 'operation' | 'batch'; id: string; rows: OperationsTable[] }): Promise<Stored> {
    const summary = written.kind === 'batch' ? await this.batchNow(written.id) : undefined;
    if (summary) this.bus.publish('batch.created', summary);
    for (const [i, row] of written.rows.entries()) {
      this.engine.announce(row, 'operation.created');
      if ((i + 1) % ROWS_PER_SLICE === 0) await yieldToLoop();
    }
    if (summary?.finishedAt !== undefined) this.bus.publish('batch.finished', summary);
    for (const workstationId of new Set(written.rows.map((row) => row.workstation_id))) this.engine.kick(workstationId);
    if (written.kind === 'operation') {
      const [row] = written.rows;
      if (!row) throw new Error('an operation was written without its row');
      return { kind: 'operation', operation: toOperation(row) };
    }
    const batch = await this.getBatch(written.id, { limit: 100 });
    if (!batch) throw new Error(`batch ${written.id} vanished after it was written`);
    return { kind: 'batch', batch };
  }
}

/** The params every operation has with the same value, or undefined when they share none. */
function sharedParams(operations: readonly NewOperation[]): Record<string, unknown> | undefined {
  const [first] = operations;
  if (!first) return undefined;
  const shared: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(first.params)) {
    const text = JSON.stringify(value);
    if (operations.every((operation) => key in operation.params && (operation.params[key] === value || JSON.stringify(operation.params[key]) === text))) shared[key] = value;
  }
  return Object.keys(shared).length === 0 ? undefined : shared;
}

/** What an operation's params add to the shared ones. */
function ownParams(params: Record<string, unknown>, shared: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([key]) => !(key in shared)));
}

function operationRow(operation: NewOperation, batchId: string | undefined, requester: Requester, now: number): OperationsTable {
  const at = nowIso(now);
  return {
    id: newId(now),
    action: operation.action,
    status: 'queued',
    lane: laneOf(operation.action, operation.params),
    emulator_id: operation.emulatorId ?? null,
    workstation_id: operation.workstationId,
    batch_id: batchId ?? null,
    params: JSON.stringify(operation.params),
    attempts: 0,
    result: null,
    error: null,
    progress: null,
    created_by: requester.name,
    owner_id: requester.principal,
    created_at: at,
    started_at: null,
    finished_at: null,
    updated_at: at,
    cancel_requested: 0,
    not_before: null,
    rpc_id: null,
    target_index: operation.target?.index ?? null,
    target_generation: operation.target?.generation ?? null,
    waiting_reason: null,
    waiting_message: null,
    waiting_since: null,
    offline_grace_ms: operation.offlineGraceMs ?? null,
  };
}
