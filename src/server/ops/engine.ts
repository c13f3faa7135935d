/**
 * The operation engine: the one object the routes and the wiring hold. It assembles the parts
 * (core.ts: shared dependencies and the agent call; dispatch.ts: claiming and running;
 * action-context.ts: what a running action may do; targets.ts: which emulator it acts on;
 * outcomes.ts: what becomes of an ended attempt and of batches).
 */
import { randomUUID } from 'node:crypto';
import type { RpcMethod, RpcMethods } from '../../protocol/index.js';
import type { EventBus } from '../events/index.js';
import type { BreakerState } from './breakers.js';
import { WorkstationBreakers } from './breakers.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { EngineLogger, EngineOptions, OperationEvent } from './core.js';
import { EngineCore, silentEngineLogger } from './core.js';
import { Dispatcher } from './dispatch.js';
import type { EngineMetrics } from './metrics.js';
import type { AgentCalls, FleetPort } from './ports.js';
import type { OperationRepository } from './repository.js';
import type { OperationsTable } from './schema.js';

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
}

export class OperationEngine {
  readonly breakers: WorkstationBreakers;
  readonly options: EngineOptions;
  readonly clock: Clock;
  private readonly core: EngineCore;
  private readonly dispatcher: Dispatcher;

  constructor(deps: EngineDeps) {
    this.options = deps.options;
    this.clock = deps.clock ?? systemClock;
    this.breakers = new WorkstationBreakers(deps.options.breaker, (workstationId, state) => {
      deps.metrics.breakerState(workstationId, state);
      deps.fleet.breakerChanged?.(workstationId, state === 'open');
    });
    this.core = new EngineCore(
      deps.repo,
      deps.bus,
      deps.agents,
      deps.fleet,
      deps.metrics,
      this.breakers,
      deps.options,
      this.clock,
      deps.logger ?? silentEngineLogger,
    );
    this.dispatcher = new Dispatcher(this.core);
  }

  start(): void {
    this.dispatcher.start();
  }

  stop(): void {
    this.dispatcher.stop();
  }

  isOnline(workstationId: string): boolean {
    return this.core.agents.isOnline(workstationId);
  }

  /**
   * A synchronous read for a request that waits for it (screenshots, app lists): through the
   * same breaker and call timeout as operations, outside the queue.
   */
  callNow<M extends RpcMethod>(workstationId: string, method: M, params: RpcMethods[M]['params']): Promise<RpcMethods[M]['result']> {
    return this.core.callAgent(workstationId, method, params, { timeoutMs: this.options.timeouts.callMs, id: `sync:${randomUUID()}` });
  }

  breakerState(workstationId: string): BreakerState {
    return this.breakers.state(workstationId);
  }

  /** Something may be runnable on `workstationId` (or anywhere, without one). */
  kick(workstationId?: string): void {
    this.dispatcher.kick(workstationId);
  }

  /** Stops waiting for a running operation of this process; true when there was one. */
  abortRunning(operationId: string): boolean {
    return this.dispatcher.abortRunning(operationId);
  }

  /** Announces a change of an operation and, when it has one, of its batch. */
  announce(row: OperationsTable, type: OperationEvent): void {
    this.core.announce(row, type);
  }
}
