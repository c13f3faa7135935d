/**
 * A batch's progress from its child operations: overall and per workstation, with the
 * failures to show inline.
 */
import type { Batch, BatchCounts, Operation } from '../../sdk/index.js';

export interface Progress {
  total: number;
  done: number;
  counts: BatchCounts;
  /** 0–100, finished children over all. */
  percent: number;
}

export interface WorkstationProgress extends Progress {
  workstationId: string;
}

const FINAL = new Set<Operation['status']>(['succeeded', 'failed', 'cancelled']);

export function emptyCounts(): BatchCounts {
  return { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

export function progressOf(counts: BatchCounts, total = Object.values(counts).reduce((sum, n) => sum + n, 0)): Progress {
  const done = counts.succeeded + counts.failed + counts.cancelled;
  return { total, done, counts, percent: total === 0 ? 100 : Math.floor((done * 100) / total) };
}

/** Per workstation, sorted by name of id; operations are the batch's children, latest state each. */
export function byWorkstation(operations: Iterable<Operation>): WorkstationProgress[] {
  const groups = new Map<string, BatchCounts>();
  for (const operation of operations) {
    let counts = groups.get(operation.workstationId);
    if (!counts) groups.set(operation.workstationId, (counts = emptyCounts()));
    counts[operation.status] += 1;
  }
  return [...groups.entries()]
    .map(([workstationId, counts]) => ({ workstationId, ...progressOf(counts) }))
    .sort((a, b) => a.workstationId.localeCompare(b.workstationId));
}

export function failures(operations: Iterable<Operation>): Operation[] {
  return [...operations].filter((operation) => operation.status === 'failed');
}

/** The children map after an event about one operation; stale updates (older state) are ignored. */
export function applyOperation(children: ReadonlyMap<string, Operation>, operation: Operation): Map<string, Operation> {
  const next = new Map(children);
  const known = next.get(operation.id);
  // A final state is not undone by a late `running` event, except by a retry (more attempts).
  if (known && FINAL.has(known.status) && !FINAL.has(operation.status) && operation.attempts <= known.attempts && operation.status !== 'queued') return next;
  next.set(operation.id, operation);
  return next;
}

export function batchStatus(batch: Pick<Batch, 'counts' | 'total' | 'finishedAt'> & { status?: string }): string {
  if (batch.status) return batch.status;
  const { counts } = batch;
  if (counts.queued + counts.running > 0) return counts.running > 0 || counts.succeeded + counts.failed > 0 ? 'running' : 'queued';
  if (counts.failed === 0 && counts.cancelled === 0) return 'succeeded';
  if (counts.succeeded === 0 && counts.failed > 0) return 'failed';
  if (counts.succeeded === 0 && counts.failed === 0) return 'cancelled';
  return 'partial';
}
