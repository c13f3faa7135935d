/** Shapes of the operation engine's routes (operations, batches, emulator actions). */

import type { ActionError, ErrorCategory, SettingsInput } from '../protocol/index.js';
import type { Batch, BatchCounts, BatchStatus, Operation, OperationStatus, Waiting, WaitingReason } from '../server/ops/index.js';

// Type-only: the SDK loads no server code, but its shapes are the server's own.
export type { ActionError, Batch, BatchCounts, BatchStatus, Operation, OperationStatus, SettingsInput, Waiting, WaitingReason };
export type ActionErrorCategory = ErrorCategory;

export interface CreateEmulatorInput {
  name: string;
  count?: number;
  settings?: SettingsInput;
  cloneFrom?: string;
  /** A workstation id or name. */
  workstationId?: string;
  offlineGraceMs?: number;
}

/** `filter.workstation` is a workstation id or name. */
export type BatchTarget = { ids: string[] } | { filter: { workstation?: string; state?: 'stopped' | 'starting' | 'running'; q?: string } };

export interface BatchInput {
  action: string;
  target: BatchTarget;
  params?: Record<string, unknown>;
  offlineGraceMs?: number;
}

export interface OperationQuery {
  limit?: number;
  cursor?: string;
  /** Newest first (`desc`) unless asked otherwise. */
  order?: 'asc' | 'desc';
  status?: OperationStatus;
  batch?: string;
  emulator?: string;
  /** A workstation id or name. */
  workstation?: string;
  action?: string;
}

export interface BatchQuery {
  limit?: number;
  cursor?: string;
  /** Newest first (`desc`) unless asked otherwise. */
  order?: 'asc' | 'desc';
  status?: BatchStatus;
  action?: string;
}

/** One installed package of an emulator. */
export interface InstalledApp {
  packageName: string;
}

/** Options of every action: a key makes a repeated request return the first one's reply. */
export interface ActionOptions {
  idempotencyKey?: string;
  /** How long the operation may wait for its offline workstation before it fails (server default otherwise). */
  offlineGraceMs?: number;
}
