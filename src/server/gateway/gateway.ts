/**
 * The gateway: one live session per workstation, and the API the rest of the server uses to
 * reach agents (`call`, `sendFile`, `isOnline`, session hooks).
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { rechunk } from '../../protocol/index.js';
import type { RpcMethod, RpcMethods } from '../../protocol/index.js';
import { RpcError } from './errors.js';
import { AgentSession } from './session.js';
import { AgentCloseCode, DEFAULT_INTERVALS } from './types.js';
import type { AgentIntervals, AgentSink, EnrolledWorkstation, GatewayLogger, SessionLimits } from './types.js';

export interface GatewayOptions {
  /** The fleet: what agents report goes there. */
  readonly sink: AgentSink;
  readonly logger: GatewayLogger;
  readonly intervals?: Partial<AgentIntervals>;
  readonly missedHeartbeats?: number;
  readonly maxBadFrames?: number;
  readonly badFrameWindowMs?: number;
  readonly rpcGraceMs?: number;
  readonly fileChunkBytes?: number;
  readonly sendHighWaterBytes?: number;
  readonly maxQueuedReports?: number;
  readonly maxInventoryFrames?: number;
  readonly inventoryWindowMs?: number;
  /** Timeout of a call that names none (default 60 s). */
  readonly defaultCallTimeoutMs?: number;
}

export interface CallOptions {
  /** How long the agent may take (sent to it as the call's `timeoutMs`). */
  readonly timeoutMs?: number;
  /**
   * Names one execution: the agent runs an id at most once, so re-sending a call with the same
   * id (after a reconnect or a server restart) returns the first run's result. Default: random.
   */
  readonly id?: string;
  /** Stops waiting (the agent has no cancel message; it finishes the action regardless). */
  readonly signal?: AbortSignal;
}

export interface SendFileOptions {
  readonly signal?: AbortSignal;
}

/** Bytes of an upload: a Node `Readable`, a web stream, or any async iterable of chunks. */
export type FileSource = AsyncIterable<Uint8Array | string>;

export type SessionListener = (workstationId: string) => void;

export class Gateway {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly openListeners = new Set<SessionListener>();
  private readonly closeListeners = new Set<SessionListener>();
  private readonly limits: SessionLimits;
  private readonly defaultCallTimeoutMs: number;
  private readonly offlineWrites = new Set<Promise<void>>();

  constructor(private readonly options: GatewayOptions) {
    this.limits = {
      intervals: { ...DEFAULT_INTERVALS, ...options.intervals },
      missedHeartbeats: options.missedHeartbeats ?? 3,
      maxBadFrames: options.maxBadFrames ?? 10,
      badFrameWindowMs: options.badFrameWindowMs ?? 60_000,
      rpcGraceMs: options.rpcGraceMs ?? 2_000,
      fileChunkBytes: options.fileChunkBytes ?? 256 * 1024,
      sendHighWaterBytes: options.sendHighWaterBytes ?? 1024 * 1024,
      maxQueuedReports: options.maxQueuedReports ?? 256,
      maxInventoryFrames: options.maxInventoryFrames ?? 100,
      inventoryWindowMs: options.inventoryWindowMs ?? 10_000,
    };
    this.defaultCallTimeoutMs = options.defaultCallTimeoutMs ?? 60_000;
  }

  get intervals(): AgentIntervals {
    return this.limits.intervals;
  }

  /** Takes an authenticated agent connection; an older session of the same workstation is closed. */
  accept(socket: WebSocket, workstation: EnrolledWorkstation): AgentSession {
    const previous = this.sessions.get(workstation.id);
    const session = new AgentSession(socket, workstation, this.options.sink, this.limits, this.options.logger, {
      onReady: (ready) => this.sessionReady(ready),
      onEnd: (ended) => this.sessionEnded(ended),
    });
    this.sessions.set(workstation.id, session);
    previous?.end(AgentCloseCode.replaced, 'replaced by a newer connection');
    return session;
  }

  /** True when the workstation's agent is connected and has been welcomed. */
  isOnline(workstationId: string): boolean {
    return this.sessions.get(workstationId)?.isReady ?? false;
  }

  onlineWorkstations(): string[] {
    return [...this.sessions.values()].filter((session) => session.isReady).map((session) => session.workstationId);
  }

  /**
   * Runs one RPC method on a workstation's agent. Rejects with an `RpcError`:
   * `transport/agent_offline`, `transport/disconnected`, `timeout/rpc_timeout`, or the agent's error.
   */
  call<M extends RpcMethod>(
    workstationId: string,
    method: M,
    params: RpcMethods[M]['params'],
    options: CallOptions = {},
  ): Promise<RpcMethods[M]['result']> {
    const session = this.sessions.get(workstationId);
    if (!session?.isReady) return Promise.reject(RpcError.agentOffline(workstationId));
    const timeoutMs = options.timeoutMs ?? this.defaultCallTimeoutMs;
    const id = options.id ?? randomUUID();
    return session.call(id, method, params, timeoutMs, options.signal) as Promise<RpcMethods[M]['result']>;
  }

  /**
   * Streams a file to an agent as `file.chunk` messages, before the call that names
   * `transferId`. Waits for the socket to drain whenever too much is queued. Rejects with
   * `transport/agent_offline` or `transport/disconnected` like `call`.
   */
  async sendFile(workstationId: string, transferId: string, source: FileSource, options: SendFileOptions = {}): Promise<{ bytes: number }> {
    const session = this.sessions.get(workstationId);
    if (!session?.isReady) throw RpcError.agentOffline(workstationId);
    let bytes = 0;
    // One chunk is held back so the final one can carry `last: true`.
    let held: Buffer | null = null;
    for await (const chunk of rechunk(source, this.limits.fileChunkBytes)) {
      options.signal?.throwIfAborted();
      if (held) await session.sendWithBackpressure(fileChunk(transferId, held, false));
      held = chunk;
      bytes += chunk.length;
    }
    options.signal?.throwIfAborted();
    await session.sendWithBackpressure(fileChunk(transferId, held ?? Buffer.alloc(0), true));
    return { bytes };
  }

  /** Asks a workstation's agent for a fresh full inventory; false when it is not connected. */
  requestResync(workstationId: string): boolean {
    const session = this.sessions.get(workstationId);
    if (!session?.isReady) return false;
    session.requestResync();
    return true;
  }

  /** Closes a workstation's session, e.g. when it is deleted or its token rotated. */
  disconnect(workstationId: string, reason = 'enrollment revoked'): void {
    this.sessions.get(workstationId)?.end(AgentCloseCode.revoked, reason);
  }

  /** Called after an agent is welcomed: the operation engine resumes that workstation's work here. */
  onSessionOpen(listener: SessionListener): () => void {
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  /** Called when a workstation's current session ends (not when a newer one replaces it). */
  onSessionClose(listener: SessionListener): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Ends every session and waits until their workstations are recorded offline. */
  async close(): Promise<void> {
    for (const session of [...this.sessions.values()]) session.end(AgentCloseCode.serverShutdown, 'server shutting down');
    await Promise.allSettled([...this.offlineWrites]);
  }

  private sessionReady(session: AgentSession): void {
    if (this.sessions.get(session.workstationId) !== session) return;
    this.notify(this.openListeners, session.workstationId);
  }

  private sessionEnded(session: AgentSession): void {
    if (this.sessions.get(session.workstationId) !== session) return;
    this.sessions.delete(session.workstationId);
    this.notify(this.closeListeners, session.workstationId);
    const write = this.recordOffline(session).finally(() => this.offlineWrites.delete(write));
    this.offlineWrites.add(write);
  }

  /** After the session's last reports, unless a newer session has come up meanwhile. */
  private async recordOffline(session: AgentSession): Promise<void> {
    try {
      await session.reportsApplied();
      if (this.sessions.has(session.workstationId)) return;
      await this.options.sink.workstationOffline(session.workstationId);
    } catch (error) {
      this.options.logger.error({ err: error, workstationId: session.workstationId }, 'could not record the workstation offline');
    }
  }

  private notify(listeners: ReadonlySet<SessionListener>, workstationId: string): void {
    for (const listener of [...listeners]) {
      try {
        listener(workstationId);
      } catch (error) {
        this.options.logger.error({ err: error, workstationId }, 'session listener failed');
      }
    }
  }
}

function fileChunk(transferId: string, data: Buffer, last: boolean) {
  return { type: 'file.chunk' as const, transferId, data: data.toString('base64'), last };
}
