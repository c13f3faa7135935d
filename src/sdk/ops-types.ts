/** Shapes of the operation engine's routes (operations, batches, emulator actions). */

import type { ActionError, ErrorCategory } from '../protocol/index.js';
import type { Batch, BatchCounts, Operation, OperationStatus } from '../server/ops/index.js';

// Type-only: the SDK loads no server code, but its shapes are the server's own.
export type { ActionError, Batch, BatchCounts, Operation, OperationStatus };
export type ActionErrorCategory = ErrorCategory;

/** Settings as `modify` takes them; identity fields also accept `"auto"`. */
export interface SettingsInput {
  cpu?: 1 | 2 | 3 | 4;
  memoryMb?: 256 | 512 | 768 | 1024 | 1536 | 2048 | 4096 | 8192;
  resolution?: { width: number; height: number; dpi: number };
  manufacturer?: string;
  model?: string;
  phoneNumber?: string;
  imei?: string;
  imsi?: string;
  simSerial?: string;
  androidId?: string;
  mac?: string;
  autoRotate?: boolean;
  lockWindow?: boolean;
  root?: boolean;
}

export interface CreateEmulatorInput {
  name: string;
  count?: number;
  settings?: SettingsInput;
  cloneFrom?: string;
  workstationId?: string;
}

export type BatchTarget = { ids: string[] } | { filter: { workstation?: string; state?: 'stopped' | 'starting' | 'running'; q?: string } };

export interface BatchInput {
  action: string;
  target: BatchTarget;
  params?: Record<string, unknown>;
}

export interface BatchQuery {
  limit?: number;
  cursor?: string;
  status?: 'queued' | 'running' | 'succeeded' | 'partial' | 'failed' | 'cancelled';
  action?: string;
  order?: 'asc' | 'desc';
}

export interface OperationQuery {
  limit?: number;
  cursor?: string;
  status?: OperationStatus;
  batch?: string;
  emulator?: string;
  workstation?: string;
  action?: string;
}

/** Options of every action: a key makes a repeated request return the first one's reply. */
export interface ActionOptions {
  idempotencyKey?: string;
}
