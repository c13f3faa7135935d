import type { ActionError } from '../../protocol/index.js';

/** Every action an operation can run; each maps to one or a few agent RPCs. */
export const ACTIONS = [
  'create',
  'clone',
  'rename',
  'modify',
  'delete',
  'start',
  'stop',
  'restart',
  'installApp',
  'uninstallApp',
  'launchApp',
  'killApp',
  'shell',
] as const;
export type Action = (typeof ACTIONS)[number];

/** Actions a batch may fan out over existing emulators (create has its own route). */
export const BATCH_ACTIONS = [
  'start',
  'stop',
  'restart',
  'delete',
  'modify',
  'rename',
  'installApp',
  'uninstallApp',
  'launchApp',
  'killApp',
  'shell',
] as const satisfies readonly Action[];
export type BatchAction = (typeof BATCH_ACTIONS)[number];

export const OPERATION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<OperationStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export function isFinal(status: OperationStatus): boolean {
  return FINAL_STATUSES.has(status);
}

/**
 * Why a queued operation is not running yet. The dispatcher writes it whenever the reason
 * changes; `since` is when the operation began waiting for this reason.
 */
export const WAITING_REASONS = [
  'workstation_offline',
  'boot_slot',
  'launch_interval',
  'mutation_lane',
  'read_slots',
  'breaker_open',
  'retry_backoff',
] as const;
export type WaitingReason = (typeof WAITING_REASONS)[number];

export interface Waiting {
  reason: WaitingReason;
  message: string;
  since: string;
}

/** A batch's status, from its children's: `partial` = some succeeded, some failed or were cancelled. */
export const BATCH_STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** An operation as the API serves it. */
export interface Operation {
  id: string;
  action: Action;
  status: OperationStatus;
  emulatorId?: string;
  workstationId: string;
  batchId?: string;
  params: Record<string, unknown>;
  attempts: number;
  result?: unknown;
  error?: ActionError;
  /** While queued: why it is not running yet; otherwise null. */
  waiting: Waiting | null;
  createdBy: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: string;
  cancelRequested?: boolean;
}

export type BatchCounts = Record<OperationStatus, number>;

/** A batch as the API serves it; `operations` is one page of children on the detail route. */
export interface Batch {
  id: string;
  action: Action;
  status: BatchStatus;
  params: Record<string, unknown>;
  target: unknown;
  total: number;
  counts: BatchCounts;
  createdBy: string;
  createdAt: string;
  finishedAt?: string;
  operations?: Operation[];
  nextCursor?: string | null;
}

/** How an action competes for a workstation's limits (see limits.ts). */
export type ActionClass = 'boot' | 'mutation' | 'read';

export function emptyCounts(): BatchCounts {
  return { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

/**
 * A batch's status from its children's counts: `cancelled` when it was cancelled as a whole (or
 * every child was), `partial` when some succeeded and others did not.
 */
export function batchStatusOf(counts: BatchCounts, total: number, cancelled: boolean): BatchStatus {
  const done = counts.succeeded + counts.failed + counts.cancelled;
  if (counts.queued + counts.running > 0 || done < total) {
    return counts.running === 0 && done === 0 ? 'queued' : 'running';
  }
  if (counts.succeeded === total) return 'succeeded';
  if (cancelled || counts.cancelled === total) return 'cancelled';
  return counts.succeeded === 0 ? 'failed' : 'partial';
}
