/**
 * What the parts of the engine share: its dependencies, the clock and logger, and the one way
 * an agent is called (through the workstation's breaker, failures typed).
 */
import type { RpcMethod, RpcMethods } from '../../protocol/index.js';
import type { EventBus } from '../events/index.js';
import type { ActionTimeouts } from './actions.js';
import type { BreakerOptions, WorkstationBreakers } from './breakers.js';
import type { Clock } from './clock.js';
import { toActionFailure } from './errors.js';
import type { WorkstationLimits } from './limits.js';
import type { EngineMetrics } from './metrics.js';
import type { AgentCalls, FleetPort, ReplicaPort } from './ports.js';
import type { OperationRepository } from './repository.js';
import type { OperationsTable } from './schema.js';
import { toOperation } from './repository.js';
import type { Uploads, UploadsOptions } from './uploads.js';
import './events.js';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface EngineOptions {
  readonly limits: WorkstationLimits;
  readonly timeouts: ActionTimeouts;
  readonly retry: RetryOptions;
  readonly breaker: BreakerOptions;
  /** Where uploaded APKs wait for their install operation on SQLite (PostgreSQL keeps them in the database). */
  readonly uploadDir: string;
  /** How often queued work is looked for even when nothing announced it. */
  readonly sweepIntervalMs: number;
  /** How long a start keeps the mutation lane after sending its launch (the launch's own duration). */
  readonly launchHoldMs: number;
  /** How long a queued operation waits for its offline workstation before it fails (per request overridable). */
  readonly offlineGraceMs: number;
  /** Synchronous reads (screenshots, app lists): in flight or waiting per user, waiting per workstation. */
  readonly syncReads: { readonly perUser: number; readonly waitingPerWorkstation: number };
  /** Uploaded APKs: bytes stored at most, and the age past which one no unfinished operation refers to is deleted. */
  readonly uploads: UploadsOptions;
  /** Unfinished (queued or running) operations one user may have. */
  readonly maxQueuedPerUser: number;
}

export const DEFAULT_ENGINE_OPTIONS: Omit<EngineOptions, 'uploadDir'> = {
  limits: { maxConcurrentBoots: 2, launchIntervalMs: 2000, maxParallelReads: 8 },
  timeouts: { callMs: 60_000, bootMs: 180_000 },
  retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 30_000 },
  breaker: { consecutiveFailures: 5, halfOpenAfterMs: 60_000 },
  sweepIntervalMs: 1000,
  launchHoldMs: 500,
  offlineGraceMs: 120_000,
  syncReads: { perUser: 4, waitingPerWorkstation: 32 },
  uploads: { quotaBytes: 4 * 1024 ** 3, orphanMaxAgeMs: 86_400_000, sweepIntervalMs: 3_600_000 },
  maxQueuedPerUser: 20_000,
};

/** The logger calls the engine makes (a pino child logger of the server's). */
export interface EngineLogger {
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
  info(object: Record<string, unknown>, message: string): void;
  debug(object: Record<string, unknown>, message: string): void;
}

export const silentEngineLogger: EngineLogger = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined };

export type OperationEvent = 'operation.created' | 'operation.updated' | 'operation.finished';

export class EngineCore {
  constructor(
    readonly repo: OperationRepository,
    readonly bus: EventBus,
    readonly agents: AgentCalls,
    readonly fleet: FleetPort,
    readonly metrics: EngineMetrics,
    readonly breakers: WorkstationBreakers,
    readonly options: EngineOptions,
    readonly clock: Clock,
    readonly log: EngineLogger,
    readonly uploads: Uploads,
    readonly replica?: ReplicaPort,
  ) {}

  /** One agent call through the workstation's breaker; every failure is an `ActionFailure`. */
  callAgent<M extends RpcMethod>(
    workstationId: string,
    method: M,
    params: RpcMethods[M]['params'],
    options: { timeoutMs: number; id: string },
  ): Promise<RpcMethods[M]['result']> {
    return this.breakers.execute(workstationId, () =>
      this.agents.call(workstationId, method, params, options).catch((error: unknown) => {
        throw toActionFailure(error);
      }),
    );
  }

  /** Announces a change of an operation and, when it has one, of its batch (debounced). */
  announce(row: OperationsTable, type: OperationEvent): void {
    this.bus.publish(type, toOperation(row));
    // Every final transition is announced once: an install's upload is not needed after it.
    if (type === 'operation.finished') this.uploads.dropFor(row);
    if (row.batch_id !== null && type !== 'operation.created') this.batchChanged?.(row.batch_id);
  }

  /** Set by the engine: a child of this batch changed. */
  batchChanged: ((batchId: string) => void) | undefined;

  /** Logs an error the engine recovers from, with the operation (or workstation) it concerns. */
  logError(error: unknown, context: { operationId?: string; workstationId?: string; batchId?: string }, message: string): void {
    this.log.warn({ ...context, err: error instanceof Error ? { message: error.message, stack: error.stack } : error }, message);
  }
}
