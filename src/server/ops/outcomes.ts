/**
 * Outcomes: what becomes of an attempt that ended. Success and final failure are written once
 * (a transition from `running`); a transient failure goes back to the queue with a backoff; a
 * batch is re-announced (debounced) when its children change and finished with its last one.
 */
import { nowIso } from '../store/index.js';
import { isRepeatable } from './actions.js';
import type { EngineCore } from './core.js';
import type { ActionFailure } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { toBatch as toBatchOf } from './repository.js';
import type { OperationTransition } from './repository.js';
import type { OperationsTable } from './schema.js';
import { INVENTORY_GLITCH } from './targets.js';
import type { Action, OperationStatus } from './types.js';

const BATCH_UPDATE_DELAY_MS = 200;

export type FinalStatus = Extract<OperationStatus, 'succeeded' | 'failed' | 'cancelled'>;

export class Outcomes {
  /** The final writes of attempts that end together share one transaction. */
  private readonly finals: GroupCommit<OperationTransition, OperationsTable | undefined>;

  constructor(
    private readonly core: EngineCore,
    /** Wakes the workstation's pump at a time (a retry's backoff ends). */
    private readonly wakeAt: (workstationId: string, at: number) => void,
  ) {
    this.finals = new GroupCommit((changes) => core.repo.transitionEach(changes, core.clock.now()));
  }

  async succeeded(row: OperationsTable, result: unknown): Promise<void> {
    await this.finish(row, 'succeeded', { result: JSON.stringify(result ?? null) });
  }

  async failed(row: OperationsTable, failure: ActionFailure, signal: AbortSignal): Promise<void> {
    const current = await this.core.repo.get(row.id);
    if (signal.aborted || current?.cancel_requested === 1) {
      await this.finish(row, 'cancelled', { error: null });
      return;
    }
    const attempts = Number(current?.attempts ?? row.attempts);
    if (isTransient(row, failure) && attempts < this.core.options.retry.maxAttempts) {
      await this.scheduleRetry(row, failure, attempts);
      return;
    }
    await this.finish(row, 'failed', { error: JSON.stringify(failure.toJSON()) });
  }

  private async scheduleRetry(row: OperationsTable, failure: ActionFailure, attempts: number): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.core.options.retry;
    const now = this.core.clock.now();
    // Full jitter: spreads the retries of a batch that failed together.
    const delay = Math.round(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1)));
    const notBefore = now + delay;
    const updated = await this.core.repo.transition(
      row.id,
      ['running'],
      {
        status: 'queued',
        not_before: nowIso(notBefore),
        error: JSON.stringify(failure.toJSON()),
        progress: `retrying after ${failure.category}`,
        waiting_reason: 'retry_backoff',
        waiting_message: `attempt ${attempts} failed (${failure.category}/${failure.code}); the next one goes at ${nowIso(notBefore)}`,
        waiting_since: nowIso(now),
        // Only a lost connection leaves the outcome unknown; then the same id must go again.
        ...(failure.category === 'transport' ? {} : { rpc_id: null }),
      },
      now,
    );
    if (!updated) return;
    this.core.metrics.retryScheduled(row.action, failure.category);
    this.core.announce(updated, 'operation.updated');
    this.wakeAt(row.workstation_id, notBefore);
  }

  async finish(row: OperationsTable, status: FinalStatus, values: { result?: string; error?: string | null }): Promise<void> {
    const now = this.core.clock.now();
    const updated = await this.finals.submit({
      id: row.id,
      from: ['running'],
      values: { status, finished_at: nowIso(now), rpc_id: null, progress: null, not_before: null, ...values },
    });
    if (!updated) return;
    this.core.metrics.operationFinished(row.action, status, (now - Date.parse(row.created_at)) / 1000);
    // Announcing the end also drops an install's upload (core.announce).
    this.core.announce(updated, 'operation.finished');
  }
}

/**
 * `transport` always (the call is re-sent with its id); `timeout` and a momentary blind spot
 * of the agent's inventory only for repeatable actions (with a new id).
 */
function isTransient(row: OperationsTable, failure: ActionFailure): boolean {
  if (failure.category === 'transport') return true;
  const repeatable = isRepeatable(row.action as Action);
  return repeatable && (failure.category === 'timeout' || failure.code === INVENTORY_GLITCH);
}

/** Re-announces batches whose children changed, at most once per `BATCH_UPDATE_DELAY_MS` each. */
export class BatchProgress {
  private readonly pending = new Map<string, () => void>();
  private stopped = false;

  constructor(private readonly core: EngineCore) {}

  changed(batchId: string): void {
    if (this.pending.has(batchId) || this.stopped) return;
    const cancel = this.core.clock.schedule(() => {
      this.pending.delete(batchId);
      this.publish(batchId).catch((error: unknown) => this.core.logError(error, { batchId }, 'batch update failed'));
    }, BATCH_UPDATE_DELAY_MS);
    this.pending.set(batchId, cancel);
  }

  start(): void {
    this.stopped = false;
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.pending.values()) cancel();
    this.pending.clear();
  }

  async publish(batchId: string): Promise<void> {
    const { repo, bus, clock } = this.core;
    const row = await repo.getBatch(batchId);
    if (!row) return;
    const counts = await repo.batchCounts(batchId);
    // One grouped count of the children serves both the event and the finish check.
    const finished = await repo.finishBatchIfDone(batchId, clock.now(), counts);
    const batch = toBatchOf(finished ?? row, counts);
    await repo.setBatchStatus(batchId, batch.status);
    bus.publish('batch.updated', batch);
    if (finished) bus.publish('batch.finished', batch);
  }
}
