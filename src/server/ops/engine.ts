/**
 * The operation engine: the one object the routes and the wiring hold. It assembles the parts
 * (core.ts: shared dependencies and the agent call; dispatch.ts: claiming and running;
 * action-context.ts: what a running action may do; targets.ts: which emulator it acts on;
 * outcomes.ts: what becomes of an ended attempt and of batches).
 */
import type { RpcMethods } from '../../protocol/index.js';
import type { EventBus } from '../events/index.js';
import type { BreakerState } from './breakers.js';
import { WorkstationBreakers } from './breakers.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { EngineLogger, EngineOptions, OperationEvent } from './core.js';
import { EngineCore, silentEngineLogger } from './core.js';
import { Dispatcher } from './dispatch.js';
import type { EngineMetrics } from './metrics.js';
import type { AgentCalls, FleetPort, RelayedRead, ReplicaPort, SyncRead, SyncReadMethod } from './ports.js';
import type { OperationRepository } from './repository.js';
import type { OperationsTable } from './schema.js';
import type { Uploads } from './uploads.js';
import { createUploads } from './uploads.js';
import { SyncReads } from './sync-reads.js';

export { DEFAULT_ENGINE_OPTIONS } from './core.js';
export type { EngineOptions, RetryOptions } from './core.js';

export interface EngineDeps {
  readonly repo: OperationRepository;
  readonly bus: EventBus;
  readonly agents: AgentCalls;
  readonly fleet: FleetPort;
  readonly metrics: EngineMetrics;
  readonly options: EngineOptions;
  readonly clock?: Clock;
  readonly logger?: EngineLogger;
  /** The replica this engine runs in (the cluster unit); absent for a lone process. */
  readonly replica?: ReplicaPort;
}

export class OperationEngine {
  readonly breakers: WorkstationBreakers;
  readonly options: EngineOptions;
  readonly clock: Clock;
  readonly uploads: Uploads;
  private readonly core: EngineCore;
  private readonly dispatcher: Dispatcher;
  private readonly syncReads: SyncReads;

  constructor(deps: EngineDeps) {
    this.options = deps.options;
    this.clock = deps.clock ?? systemClock;
    this.breakers = new WorkstationBreakers(deps.options.breaker, (workstationId, state) => {
      deps.metrics.breakerState(workstationId, state);
      deps.fleet.breakerChanged?.(workstationId, state === 'open');
    });
    const logger = deps.logger ?? silentEngineLogger;
    this.uploads = createUploads(deps.repo, deps.options, this.clock, (error, message) =>
      logger.warn({ err: error instanceof Error ? { message: error.message } : error }, message),
    );
    this.core = new EngineCore(
      deps.repo,
      deps.bus,
      deps.agents,
      deps.fleet,
      deps.metrics,
      this.breakers,
      deps.options,
      this.clock,
      logger,
      this.uploads,
      deps.replica,
    );
    this.dispatcher = new Dispatcher(this.core);
    this.syncReads = new SyncReads(this.core, this.dispatcher);
  }

  start(): void {
    this.dispatcher.start();
    this.uploads.start();
  }

  stop(): void {
    this.dispatcher.stop();
    this.uploads.stop();
  }

  isOnline(workstationId: string): boolean {
    return this.core.agents.isOnline(workstationId);
  }

  /** A synchronous read for a request that waits for it (`sync-reads.ts`). */
  read<M extends SyncReadMethod>(userId: string, workstationId: string, method: M, params: RpcMethods[M]['params'], signal?: AbortSignal): Promise<RpcMethods[M]['result']> {
    return this.syncReads.read(userId, workstationId, method, params, signal);
  }

  /** A synchronous read another replica asked this one for (it holds the session). */
  readRelayed(workstationId: string, read: SyncRead, waitMs: number): Promise<RelayedRead> {
    return this.syncReads.relayed(workstationId, read, waitMs);
  }

  breakerState(workstationId: string): BreakerState {
    return this.breakers.state(workstationId);
  }

  /**
   * Something may be runnable on `workstationId` (or anywhere, without one). A workstation whose
   * session another replica holds is kicked there, so it does not wait for that replica's sweep.
   */
  kick(workstationId?: string): void {
    this.dispatcher.kick(workstationId);
    if (workstationId !== undefined && !this.isOnline(workstationId)) this.core.replica?.kick(workstationId);
  }

  /** `kick` for this process only (what another replica's kick asks of this one). */
  kickHere(workstationId: string): void {
    this.dispatcher.kick(workstationId);
  }

  /** Stops waiting for a running operation of this process; true when there was one. */
  abortRunning(operationId: string): boolean {
    return this.dispatcher.abortRunning(operationId);
  }

  /** Stops a running operation here, or asks the other replicas to (the one running it does). */
  cancelRunning(operationId: string): void {
    if (!this.dispatcher.abortRunning(operationId)) this.core.replica?.cancel(operationId);
  }

  /** Announces a change of an operation and, when it has one, of its batch. */
  announce(row: OperationsTable, type: OperationEvent): void {
    this.core.announce(row, type);
  }
}
