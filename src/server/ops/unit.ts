/** Assembles the engine, its service and routes from the server's context. */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import type { EventBus } from '../events/index.js';
import type { ServerUnit } from '../http/index.js';
import type { Store } from '../store/index.js';
import type { Clock } from './clock.js';
import type { EngineLogger } from './core.js';
import type { EngineOptions } from './engine.js';
import { DEFAULT_ENGINE_OPTIONS, OperationEngine } from './engine.js';
import { EngineMetrics } from './metrics.js';
import { Placement } from './placement.js';
import type { AgentCalls, FleetPort, ReplicaPort } from './ports.js';
import { OperationRepository } from './repository.js';
import { registerOpsRoutes } from './routes.js';
import { OperationService } from './service.js';

export interface OperationsDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly gateway: AgentCalls;
  readonly fleet: FleetPort;
  readonly registry?: Registry;
  readonly options: EngineOptions;
  readonly uploadMaxBytes: number;
  /** The engine logs what it recovers from here (a child of the server's logger). */
  readonly logger?: EngineLogger;
  /** Tests move time instead of sleeping. */
  readonly clock?: Clock;
  /** The replica this server is (the cluster unit). */
  readonly replica?: ReplicaPort;
}

export interface Operations {
  readonly engine: OperationEngine;
  readonly service: OperationService;
  readonly unit: ServerUnit;
  /** `breaker` of each workstation, for the workstation API. */
  workstationExtras(ids: readonly string[]): Map<string, { breaker: string }>;
}

/** The engine's settings from the server's configuration; `overrides` (tests) win. */
export function engineOptionsFromConfig(config: Config, overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    ...DEFAULT_ENGINE_OPTIONS,
    limits: {
      ...DEFAULT_ENGINE_OPTIONS.limits,
      maxConcurrentBoots: config.maxConcurrentBoots,
      launchIntervalMs: config.launchIntervalMs,
    },
    timeouts: { callMs: config.actionTimeoutMs, bootMs: config.bootTimeoutMs },
    retry: { ...DEFAULT_ENGINE_OPTIONS.retry, maxAttempts: config.retryMaxAttempts, baseDelayMs: config.retryBaseDelayMs },
    breaker: { consecutiveFailures: config.breakerFailures, halfOpenAfterMs: config.breakerHalfOpenMs },
    offlineGraceMs: config.offlineGraceMs,
    syncReads: { perUser: config.maxConcurrentReadsPerUser, waitingPerWorkstation: config.maxWaitingReadsPerWorkstation },
    uploads: { ...DEFAULT_ENGINE_OPTIONS.uploads, quotaBytes: config.uploadQuotaBytes, orphanMaxAgeMs: config.uploadOrphanMaxAgeMs },
    maxQueuedPerUser: config.maxQueuedOperationsPerUser,
    uploadDir: join(config.dataDir, 'uploads'),
    ...overrides,
  };
}

export function createOperations(deps: OperationsDeps): Operations {
  const repo = new OperationRepository(deps.store);
  const engine = new OperationEngine({ repo, bus: deps.bus, agents: deps.gateway, fleet: deps.fleet, metrics: new EngineMetrics(deps.registry), options: deps.options, logger: deps.logger, clock: deps.clock, replica: deps.replica });
  const service = new OperationService(repo, engine, deps.bus);
  const placement = new Placement(repo, deps.gateway, deps.fleet);
  return {
    engine,
    service,
    unit: {
      name: 'operations',
      routes: (api) =>
        registerOpsRoutes(api, { service, engine, placement, fleet: deps.fleet, uploads: engine.uploads, uploadMaxBytes: deps.uploadMaxBytes }),
    },
    workstationExtras: (ids) => new Map(ids.map((id) => [id, { breaker: engine.breakerState(id) }])),
  };
}
