import type { HelloMessage, InventoryMessage, Metrics, StatusMessage } from '../../protocol/index.js';

/** A workstation an enrollment token belongs to. */
export interface EnrolledWorkstation {
  readonly id: string;
  readonly name: string;
}

/**
 * Where a session's observations go: the fleet. The gateway carries messages and keeps sessions
 * alive; what the messages mean for the inventory is the sink's business.
 */
export interface AgentSink {
  workstationOnline(workstationId: string, hello: HelloMessage): Promise<unknown>;
  workstationOffline(workstationId: string): Promise<unknown>;
  workstationSeen(workstationId: string): Promise<void>;
  recordMetrics(workstationId: string, metrics: Metrics): Promise<void>;
  /** The agent's own word on whether it can do its job (`degraded` with a reason, or not). */
  workstationStatus(workstationId: string, status: Omit<StatusMessage, 'type'>): Promise<unknown>;
  applyInventory(workstationId: string, message: InventoryMessage): Promise<unknown>;
}

export interface GatewayLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** The intervals the server tells each agent in `welcome`. */
export interface AgentIntervals {
  readonly heartbeatMs: number;
  readonly inventoryPollMs: number;
  readonly metricsMs: number;
}

export const DEFAULT_INTERVALS: AgentIntervals = { heartbeatMs: 5_000, inventoryPollMs: 2_000, metricsMs: 10_000 };

/** Close codes of the agent channel (4000–4999 are the application's). */
export const AgentCloseCode = {
  /** Another connection with the same workstation's token took over. */
  replaced: 4000,
  /** Nothing arrived for `missedHeartbeats` heartbeat intervals. */
  heartbeatTimeout: 4001,
  /** Too many frames that were not protocol messages. */
  badFrames: 4002,
  unsupportedProtocol: 4003,
  /** No `hello` within the heartbeat timeout. */
  helloTimeout: 4004,
  /** The workstation was removed or its token rotated. */
  revoked: 4005,
  /** The agent sent reports faster than the server applies them, or too many inventory frames. */
  flooding: 4006,
  serverShutdown: 1001,
} as const;

export interface SessionLimits {
  readonly intervals: AgentIntervals;
  /** Heartbeat intervals without any frame before the session is closed (default 3). */
  readonly missedHeartbeats: number;
  /** Bad frames within `badFrameWindowMs` that close the session (default 10 per minute). */
  readonly maxBadFrames: number;
  readonly badFrameWindowMs: number;
  /** Added to an RPC's timeout before the server gives up, so the agent's own timeout error can arrive first. */
  readonly rpcGraceMs: number;
  /** Raw bytes per `file.chunk` (default 256 KiB; base64 makes the frame a third larger). */
  readonly fileChunkBytes: number;
  /** Bytes queued on the socket past which a file transfer waits for it to drain (default 1 MiB). */
  readonly sendHighWaterBytes: number;
  /** Reports received but not yet applied past which the session is closed (default 256). */
  readonly maxQueuedReports: number;
  /** Inventory frames within `inventoryWindowMs` past which the session is closed (default 100 per 10 s). */
  readonly maxInventoryFrames: number;
  readonly inventoryWindowMs: number;
}
