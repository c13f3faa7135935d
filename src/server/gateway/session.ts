/**
 * One agent's live connection: the hello/welcome exchange, liveness, frame validation, the
 * in-order handling of what the agent reports, and the RPCs and file transfers sent to it.
 */
import type { WebSocket } from 'ws';
import { PROTOCOL_VERSION, isProtocolRpcMethod, parseAgentMessage, rpcResultProblem } from '../../protocol/index.js';
import type { AgentMessage, HelloMessage, RpcResultMessage, ServerMessage } from '../../protocol/index.js';
import { RpcError } from './errors.js';
import { PendingCalls } from './pending.js';
import { AgentCloseCode } from './types.js';
import type { AgentSink, EnrolledWorkstation, GatewayLogger, SessionLimits } from './types.js';

export interface SessionHooks {
  /** The agent said hello and was welcomed. */
  onReady(session: AgentSession): void;
  /** The session ended, for whatever reason; called once. */
  onEnd(session: AgentSession): void;
}

type Phase = 'awaiting-hello' | 'ready' | 'ended';

export class AgentSession {
  readonly workstationId: string;
  readonly connectedAt = Date.now();
  private phase: Phase = 'awaiting-hello';
  private hello: HelloMessage | null = null;
  private helloReceived = false;
  private lastFrameAt = Date.now();
  private lastCheckAt = Date.now();
  private badFrameTimes: number[] = [];
  private readonly pending = new PendingCalls();
  /** Reports are applied one after another, in the order the agent sent them. */
  private reportQueue: Promise<void> = Promise.resolve();
  /** Reports received and not applied yet: bounded, so a flood cannot grow the queue without end. */
  private queuedReports = 0;
  private inventoryTimes: number[] = [];
  private readonly watchdog: NodeJS.Timeout;
  private endReason: { code: number; reason: string } | null = null;

  constructor(
    private readonly socket: WebSocket,
    readonly workstation: EnrolledWorkstation,
    private readonly sink: AgentSink,
    private readonly limits: SessionLimits,
    private readonly logger: GatewayLogger,
    private readonly hooks: SessionHooks,
  ) {
    this.workstationId = workstation.id;
    this.watchdog = setInterval(() => this.checkLiveness(), Math.max(10, Math.floor(limits.intervals.heartbeatMs / 2)));
    this.watchdog.unref();
    // ws hands a text frame over as one Buffer, whatever its binaryType; only binary frames vary.
    socket.on('message', (data, isBinary) => this.receive(isBinary ? null : (data as Buffer).toString()));
    socket.on('close', () => this.end(AgentCloseCode.serverShutdown, 'socket closed', { alreadyClosed: true }));
    socket.on('error', (error) => this.logger.warn({ err: error, workstationId: this.workstationId }, 'agent socket error'));
  }

  get isReady(): boolean {
    return this.phase === 'ready';
  }

  get isEnded(): boolean {
    return this.phase === 'ended';
  }

  get agentHello(): HelloMessage | null {
    return this.hello;
  }

  get pendingCallCount(): number {
    return this.pending.size;
  }

  /** Sends `rpc.call` (unless the same id is already in flight, which it joins) and awaits its result. */
  call(id: string, method: string, params: unknown, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (!this.isReady) return Promise.reject(RpcError.agentOffline(this.workstationId));
    const joining = this.pending.has(id);
    const result = this.pending.wait(id, { method, timeoutMs, deadlineMs: timeoutMs + this.limits.rpcGraceMs, signal });
    if (!joining) this.send({ type: 'rpc.call', id, method, params, timeoutMs });
    return result.then((value) => {
      const problem = isProtocolRpcMethod(method) ? rpcResultProblem(method, value) : null;
      if (problem === null) return value;
      this.logger.warn({ workstationId: this.workstationId, id, method, problem }, 'agent sent an invalid rpc result; the call fails');
      throw RpcError.invalidResult(method, problem);
    });
  }

  /**
   * Sends one frame and, when the socket has more than the high-water mark queued, waits until
   * this frame has been handed to the OS: a large upload never piles up in server memory.
   */
  async sendWithBackpressure(message: ServerMessage): Promise<void> {
    this.assertOpen();
    const written = new Promise<void>((resolve, reject) => {
      this.socket.send(JSON.stringify(message), (error) => (error ? reject(RpcError.disconnected(this.workstationId)) : resolve()));
    });
    if (this.socket.bufferedAmount <= this.limits.sendHighWaterBytes) {
      written.catch(() => undefined);
      return;
    }
    await written;
    this.assertOpen();
  }

  /** Asks the agent for a fresh full inventory. */
  requestResync(): void {
    if (this.isReady) this.send({ type: 'inventory.resync' });
  }

  /** Ends the session: pending calls fail at once, the socket closes, the gateway is told. */
  end(code: number, reason: string, options: { alreadyClosed?: boolean; peerMayBeDead?: boolean } = {}): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.endReason = { code, reason };
    clearInterval(this.watchdog);
    this.pending.rejectAll(RpcError.disconnected(this.workstationId));
    if (!options.alreadyClosed) {
      this.socket.close(code, reason);
      // A dead peer never answers the close handshake; cut it soon instead of after ws's 30 s.
      if (options.peerMayBeDead) setTimeout(() => this.socket.terminate(), this.limits.intervals.heartbeatMs).unref();
    }
    this.logger.info({ workstationId: this.workstationId, code, reason }, 'agent session ended');
    this.hooks.onEnd(this);
  }

  /** Settles once every report received so far has been applied. */
  reportsApplied(): Promise<void> {
    return this.reportQueue;
  }

  get closeReason(): { code: number; reason: string } | null {
    return this.endReason;
  }

  private assertOpen(): void {
    if (this.phase !== 'ready' || this.socket.readyState !== this.socket.OPEN) {
      throw RpcError.disconnected(this.workstationId);
    }
  }

  private send(message: ServerMessage): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  private checkLiveness(): void {
    const now = Date.now();
    const limitMs = this.limits.intervals.heartbeatMs * this.limits.missedHeartbeats;
    const stalledMs = now - this.lastCheckAt;
    this.lastCheckAt = now;
    // When this process's own loop stalled, the agent's frames may sit unread behind this timer:
    // the silence is ours, so the agent gets a fresh window instead of being cut off.
    if (stalledMs > limitMs / 2) {
      this.lastFrameAt = Math.max(this.lastFrameAt, now);
      return;
    }
    if (now - this.lastFrameAt <= limitMs) return;
    // Judge after one I/O turn, so frames that arrived during this timer phase count.
    setImmediate(() => {
      if (this.phase !== 'ended' && Date.now() - this.lastFrameAt > limitMs) this.timeOut();
    });
  }

  private timeOut(): void {
    if (this.phase === 'awaiting-hello') this.end(AgentCloseCode.helloTimeout, 'no hello', { peerMayBeDead: true });
    else this.end(AgentCloseCode.heartbeatTimeout, 'no heartbeat', { peerMayBeDead: true });
  }

  private receive(text: string | null): void {
    if (this.phase === 'ended') return;
    const message = text === null ? null : parseAgentMessage(text);
    if (message === null || !this.acceptsInPhase(message)) {
      this.countBadFrame(text);
      return;
    }
    this.lastFrameAt = Date.now();
    if (message.type === 'rpc.result') {
      // Results skip the report queue: a caller must not wait behind a large inventory write.
      this.settleCall(message);
      return;
    }
    this.enqueue(message);
  }

  /** `hello` comes first and only once; reports after it queue behind its handling. */
  private acceptsInPhase(message: AgentMessage): boolean {
    if (message.type !== 'hello') return this.helloReceived;
    if (this.helloReceived) return false;
    this.helloReceived = true;
    return true;
  }

  private countBadFrame(text: string | null): void {
    const now = Date.now();
    this.badFrameTimes = this.badFrameTimes.filter((at) => now - at < this.limits.badFrameWindowMs);
    this.badFrameTimes.push(now);
    this.logger.warn(
      { workstationId: this.workstationId, phase: this.phase, frame: text === null ? '<binary>' : text.slice(0, 200) },
      'agent sent a frame that is not a protocol message here; ignored',
    );
    if (this.badFrameTimes.length > this.limits.maxBadFrames) this.end(AgentCloseCode.badFrames, 'too many bad frames');
  }

  private enqueue(message: Exclude<AgentMessage, RpcResultMessage>): void {
    if (message.type === 'inventory' && !this.inventoryWithinRate()) {
      this.end(AgentCloseCode.flooding, `more than ${this.limits.maxInventoryFrames} inventory frames in ${this.limits.inventoryWindowMs} ms`);
      return;
    }
    if (this.queuedReports >= this.limits.maxQueuedReports) {
      this.end(AgentCloseCode.flooding, `more than ${this.limits.maxQueuedReports} reports waiting to be applied`);
      return;
    }
    this.queuedReports += 1;
    this.reportQueue = this.reportQueue
      .then(() => (this.phase === 'ended' ? undefined : this.handle(message)))
      .catch((error: unknown) => {
        this.logger.error({ err: error, workstationId: this.workstationId, type: message.type }, 'agent report failed');
      })
      .finally(() => {
        this.queuedReports -= 1;
      });
  }

  private inventoryWithinRate(): boolean {
    const now = Date.now();
    this.inventoryTimes = this.inventoryTimes.filter((at) => now - at < this.limits.inventoryWindowMs);
    this.inventoryTimes.push(now);
    return this.inventoryTimes.length <= this.limits.maxInventoryFrames;
  }

  private async handle(message: Exclude<AgentMessage, RpcResultMessage>): Promise<void> {
    switch (message.type) {
      case 'hello':
        return this.welcome(message);
      case 'heartbeat':
        return this.sink.workstationSeen(this.workstationId);
      case 'metrics':
        return this.sink.recordMetrics(this.workstationId, message.metrics);
      case 'status':
        await this.sink.workstationStatus(this.workstationId, { reason: message.reason, message: message.message });
        return;
      case 'inventory':
        await this.sink.applyInventory(this.workstationId, message);
        return;
    }
  }

  private async welcome(hello: HelloMessage): Promise<void> {
    if (hello.protocol !== PROTOCOL_VERSION) {
      this.end(AgentCloseCode.unsupportedProtocol, `protocol ${hello.protocol} is not ${PROTOCOL_VERSION}`);
      return;
    }
    this.hello = hello;
    await this.sink.workstationOnline(this.workstationId, hello);
    if (this.phase !== 'awaiting-hello') return;
    this.phase = 'ready';
    this.send({ type: 'welcome', workstationId: this.workstationId, ...this.limits.intervals });
    this.logger.info(
      { workstationId: this.workstationId, hostname: hello.hostname, agentVersion: hello.agentVersion },
      'agent session ready',
    );
    this.hooks.onReady(this);
  }

  private settleCall(message: RpcResultMessage): void {
    const outcome = message.ok
      ? { ok: true as const, result: message.result }
      : { ok: false as const, error: new RpcError(message.error.category, message.error.code, message.error.message) };
    if (!this.pending.settle(message.id, outcome)) {
      this.logger.debug({ workstationId: this.workstationId, id: message.id }, 'result of a call nobody waits for');
    }
  }
}
