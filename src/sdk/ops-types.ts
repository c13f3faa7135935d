/** Shapes of the operation engine's routes (operations, batches, emulator actions). */

export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type ActionErrorCategory = 'transport' | 'ldconsole' | 'timeout' | 'conflict' | 'circuit_open';

export interface ActionError {
  category: ActionErrorCategory;
  code: string;
  message: string;
}

export interface Operation {
  id: string;
  action: string;
  status: OperationStatus;
  emulatorId?: string;
  workstationId: string;
  batchId?: string;
  params: Record<string, unknown>;
  attempts: number;
  result?: unknown;
  error?: ActionError;
  createdBy: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: string;
  cancelRequested?: boolean;
}

export interface BatchCounts {
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface Batch {
  id: string;
  action: string;
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
