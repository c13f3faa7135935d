/**
 * The agent's WebSocket to the server: dials out, authenticates with the enrollment token, and
 * redials forever with backoff. It knows nothing of the messages beyond JSON framing; the
 * session on top of it speaks the protocol.
 */
import WebSocket, { type RawData } from 'ws';
import { AGENT_CONNECT_PATH, parseServerMessage, type AgentMessage, type ServerMessage } from '../protocol/index.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { describeError, type AgentLogger } from './log.js';
import { isLoopbackHost, wsTrustOptions, type Trust } from '../trust/index.js';
import { serverUrlsOf } from '../servers/index.js';

export interface ConnectionOptions {
  /**
   * The server's base URL (`http(s)://host:port`, or `ws(s)://…`), or several (replicas),
   * comma-separated: a failed dial or a lost connection redials the next one.
   */
  readonly serverUrl: string;
  readonly token: string;
  readonly logger: AgentLogger;
  readonly backoff?: BackoffOptions;
  /** How long to wait before redialling after the server refused the token (401/403). */
  readonly authRetryMs?: number;
  /** A connection that lived this long counts as stable: the next failure starts the backoff over. */
  readonly stableAfterMs?: number;
  /** Upper bound on the WebSocket handshake. */
  readonly handshakeTimeoutMs?: number;
  /** Which TLS certificate to accept for `https`/`wss` (a CA file or a pinned fingerprint); the system's CAs by default. */
  readonly trust?: Trust;
  /** Largest frame accepted from the server (default 64 MiB: an APK chunk or a call is far smaller). */
  readonly maxPayloadBytes?: number;
}

export interface ConnectionEvents {
  /** A new socket is open; the session sends `hello` here. */
  readonly onOpen: () => void;
  readonly onMessage: (message: ServerMessage) => void;
  /** The socket is gone (a redial is already scheduled unless the connection was stopped). */
  readonly onClose: () => void;
}

const DEFAULT_AUTH_RETRY_MS = 60_000;
const DEFAULT_STABLE_AFTER_MS = 30_000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

/** Turns the server URL an operator types into the agent endpoint. */
export function agentEndpoint(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`unsupported server URL scheme: ${url.protocol}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${AGENT_CONNECT_PATH}`;
  return url.toString();
}

export class AgentConnection {
  private readonly endpoints: readonly string[];
  /** Which of `endpoints` the next dial goes to. */
  private current = 0;
  private readonly backoff: Backoff;
  private socket: WebSocket | undefined;
  private redialTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private lastInboundAt = 0;
  private lastCheckAt = Date.now();
  private stopped = true;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.endpoints = serverUrlsOf(options.serverUrl, ['http:', 'https:', 'ws:', 'wss:']).map(agentEndpoint);
    for (const endpoint of this.endpoints) {
      const url = new URL(endpoint);
      if (url.protocol !== 'ws:' || isLoopbackHost(url.hostname)) continue;
      options.logger.warn(
        { endpoint },
        'the server URL is not TLS: the enrollment token and all traffic cross the network in clear; use https:// (ldfleet server --tls-cert/--tls-key)',
      );
    }
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.dial();
  }

  /** Closes the socket and stops redialling; resolves once the socket is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.redialTimer);
    clearTimeout(this.stableTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      if (socket.readyState === WebSocket.OPEN) {
        socket.close(1001, 'agent stopping');
        // A server that never answers the close frame must not hold the agent's exit.
        setTimeout(() => socket.terminate(), 2_000).unref();
      } else {
        socket.terminate();
      }
    });
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Sends one message; false when there is no open socket (the caller resends state on the next open). */
  send(message: AgentMessage): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  /**
   * Pings the server and drops the socket when nothing (message, ping or pong) came in for
   * `maxSilenceMs`: a half-open TCP connection otherwise looks alive forever.
   */
  checkAlive(maxSilenceMs: number): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    const sinceLastCheck = now - this.lastCheckAt;
    this.lastCheckAt = now;
    // After a stall of this process's own loop the server's frames may sit unread behind this
    // timer: that silence is ours, so the server gets a fresh window.
    if (sinceLastCheck > maxSilenceMs / 2) this.lastInboundAt = Math.max(this.lastInboundAt, now);
    if (now - this.lastInboundAt > maxSilenceMs) {
      // Judged after one I/O turn, so frames that arrived meanwhile count.
      setImmediate(() => {
        if (this.socket !== socket || Date.now() - this.lastInboundAt <= maxSilenceMs) return;
        this.options.logger.warn({ silentForMs: Date.now() - this.lastInboundAt }, 'server went silent; reconnecting');
        socket.terminate();
      });
      return;
    }
    socket.ping();
  }

  /** Closes the current socket so that a fresh one is dialled (e.g. the server never said welcome). */
  drop(reason: string): void {
    this.options.logger.warn({ reason }, 'dropping the connection');
    this.socket?.terminate();
  }

  /** The server endpoint the current (or next) socket dials. */
  get endpoint(): string {
    return this.endpoints[this.current] ?? '';
  }

  private dial(): void {
    const socket = new WebSocket(this.endpoint, {
      headers: { authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxPayload: this.options.maxPayloadBytes ?? 64 * 1024 * 1024,
      ...(wsTrustOptions(this.options.trust) as { createConnection?: never }),
    });
    this.socket = socket;
    let opened = false;
    let refusedStatus: number | undefined;
    let lastError: string | undefined;

    socket.on('unexpected-response', (_request, response) => {
      refusedStatus = response.statusCode;
      response.resume();
      socket.terminate();
    });
    socket.on('open', () => {
      opened = true;
      this.lastInboundAt = Date.now();
      this.options.logger.info({ endpoint: this.endpoint }, 'connected to the server');
      this.stableTimer = setTimeout(() => this.backoff.reset(), this.options.stableAfterMs ?? DEFAULT_STABLE_AFTER_MS);
      this.events.onOpen();
    });
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('ping', () => (this.lastInboundAt = Date.now()));
    socket.on('pong', () => (this.lastInboundAt = Date.now()));
    socket.on('error', (error) => (lastError = describeError(error)));
    socket.on('close', (code, reason) => {
      clearTimeout(this.stableTimer);
      if (this.socket === socket) this.socket = undefined;
      if (opened) this.events.onClose();
      // Another replica may be up where this one is not: the redial goes to the next URL.
      this.current = (this.current + 1) % this.endpoints.length;
      if (!this.stopped) this.scheduleRedial({ refusedStatus, lastError, closeCode: opened ? code : undefined, closeReason: reason.toString() });
    });
  }

  private receive(data: RawData, isBinary: boolean): void {
    this.lastInboundAt = Date.now();
    if (isBinary) {
      this.options.logger.warn({}, 'ignoring a binary frame from the server');
      return;
    }
    const text = rawDataToBuffer(data).toString('utf8');
    const message = parseServerMessage(text);
    if (message === null) {
      this.options.logger.warn({ frame: text.slice(0, 200) }, 'ignoring a frame that is not a known server message');
      return;
    }
    this.events.onMessage(message);
  }

  private scheduleRedial(why: { refusedStatus?: number; lastError?: string; closeCode?: number; closeReason?: string }): void {
    const refusal = refusalOf(why.refusedStatus, why.closeCode);
    const delayMs = refusal ? this.slowRetryDelay() : this.backoff.nextDelayMs();
    if (refusal) {
      this.options.logger.error({ status: why.refusedStatus, closeCode: why.closeCode, reason: why.closeReason, retryInMs: delayMs }, `${refusal}; retrying slowly`);
    } else {
      this.options.logger.warn(
        { status: why.refusedStatus, error: why.lastError, closeCode: why.closeCode, retryInMs: delayMs, next: this.endpoint },
        'not connected to the server; retrying',
      );
    }
    this.redialTimer = setTimeout(() => this.dial(), delayMs);
  }

  /** Slow and jittered, so a fleet whose tokens were all rotated does not hammer the server. */
  private slowRetryDelay(): number {
    const base = this.options.authRetryMs ?? DEFAULT_AUTH_RETRY_MS;
    return Math.floor(base / 2 + Math.random() * (base / 2));
  }
}

/** Close codes of the server's gateway that a quick redial cannot fix. */
const CLOSE_REPLACED = 4000;
const CLOSE_UNSUPPORTED_PROTOCOL = 4003;
const CLOSE_REVOKED = 4005;

/**
 * Why the server will not take this agent, when redialling soon cannot help: an operator has to
 * fix the token, upgrade the agent, or stop the second agent running with the same token.
 */
export function refusalOf(status: number | undefined, closeCode: number | undefined): string | undefined {
  if (status === 401 || status === 403 || closeCode === CLOSE_REVOKED) {
    return 'the server refused the enrollment token (rotated or revoked?); fix --token';
  }
  if (closeCode === CLOSE_UNSUPPORTED_PROTOCOL) return 'the server does not speak this agent\'s protocol version; upgrade the agent';
  if (closeCode === CLOSE_REPLACED) return 'another agent connected with the same token and replaced this one';
  return undefined;
}

function rawDataToBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? Buffer.from(data) : data;
}
