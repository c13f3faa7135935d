/**
 * The operation engine: durable operations and batches, per-workstation limits, retries,
 * circuit breakers, idempotency keys, cancellation and recovery after a restart.
 */
export { OperationEngine, DEFAULT_ENGINE_OPTIONS } from './engine.js';
export type { EngineOptions, RetryOptions, EngineDeps } from './engine.js';
export { OperationService, IdempotencyConflictError, OperationStateError, QueueLimitError, requestDigest } from './service.js';
export type { NewOperation, Requester, Stored } from './service.js';
export { OperationRepository, toOperation, toBatch } from './repository.js';
export type { OperationFilter } from './repository.js';
export { batchParamsMigration, operationsMigration, operationTargetMigration, operationWaitingMigration, uploadsMigration } from './schema.js';
export type { OperationsTable, BatchesTable, IdempotencyKeysTable } from './schema.js';
export { EngineMetrics } from './metrics.js';
export { WorkstationBreakers, DEFAULT_BREAKER } from './breakers.js';
export type { BreakerState, BreakerOptions } from './breakers.js';
export { DEFAULT_LIMITS, resolveLimits, WorkstationLane } from './limits.js';
export type { WorkstationLimits } from './limits.js';
export { ActionFailure, ReadRefusedError } from './errors.js';
export { UploadQuotaError } from './uploads.js';
export type { Uploads } from './uploads.js';
export type { AgentCalls, FleetPort, RelayedRead, ReplicaPort, SyncRead, SyncReadMethod } from './ports.js';
export { SYNC_READ_METHODS } from './ports.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export * from './types.js';
export { createOperations, engineOptionsFromConfig } from './unit.js';
export type { Operations, OperationsDeps } from './unit.js';
