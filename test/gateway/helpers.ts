/**
 * Helpers for the agent channel and event stream tests: a protocol-speaking fake agent over a
 * real WebSocket, an events client, and waiting with a deadline instead of sleeping.
 */
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';
import { AGENT_CONNECT_PATH, PROTOCOL_VERSION, adbSerialFor } from '../../src/protocol/index.js';
import type { AgentMessage, ObservedInstance, ServerMessage, Settings } from '../../src/protocol/index.js';

/** Polls `probe` until it returns a value other than undefined/false, or fails at the deadline. */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function wsUrl(baseUrl: string, path: string): string {
  return baseUrl.replace(/^http/, 'ws') + path;
}

/** Connects, resolving with the socket once open or rejecting with the HTTP status of a refusal. */
export function connect(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => {
      reject(Object.assign(new Error(`refused with ${response.statusCode}`), { statusCode: response.statusCode }));
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

export function closeCodeOf(socket: WebSocket): Promise<number> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

export const DEFAULT_SETTINGS: Settings = {
  cpu: 2,
  memoryMb: 2048,
  resolution: { width: 1280, height: 720, dpi: 240 },
  manufacturer: 'samsung',
  model: 'SM-G9880',
  phoneNumber: '13800000000',
  imei: '865166023456789',
  imsi: '460001234567890',
  simSerial: '89860012345678901234',
  androidId: '0123456789abcdef',
  mac: '00DB8E123456',
  autoRotate: false,
  lockWindow: false,
  root: false,
};

export function instance(index: number, overrides: Partial<ObservedInstance> = {}): ObservedInstance {
  return {
    index,
    generation: `g${index}`,
    name: index === 0 ? 'LDPlayer' : `LDPlayer-${index}`,
    state: 'stopped',
    booted: false,
    pids: null,
    settings: DEFAULT_SETTINGS,
    adbSerial: adbSerialFor(index),
    ...overrides,
  };
}

/** Answers a call with its result, or a promise of it. */
type RpcHandler = (method: string, params: unknown, id: string) => unknown;

/** An agent written against the protocol alone: what the gateway must accept from any agent. */
export class FakeAgent {
  readonly received: ServerMessage[] = [];
  private waiters: Array<{ matches: (message: ServerMessage) => boolean; resolve: (message: ServerMessage) => void }> = [];
  private heartbeat: NodeJS.Timeout | undefined;
  rpcHandler: RpcHandler | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(JSON.parse(data.toString()) as ServerMessage));
  }

  static async connect(baseUrl: string, token: string): Promise<FakeAgent> {
    const socket = await connect(wsUrl(baseUrl, AGENT_CONNECT_PATH), { headers: { authorization: `Bearer ${token}` } });
    return new FakeAgent(socket);
  }

  /** Says hello and resolves with the welcome. */
  async hello(hostname = 'WS-TEST'): Promise<Extract<ServerMessage, { type: 'welcome' }>> {
    const welcome = this.next((message) => message.type === 'welcome');
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentVersion: '0.1.0-test',
      hostname,
      os: 'Windows 10 Pro 22H2',
      ldplayer: { path: 'C:\\LDPlayer\\LDPlayer9\\ldconsole.exe', installDir: 'C:\\LDPlayer\\LDPlayer9', version: '9.0.68' },
    });
    return (await welcome) as Extract<ServerMessage, { type: 'welcome' }>;
  }

  startHeartbeats(intervalMs: number): void {
    this.heartbeat = setInterval(() => this.send({ type: 'heartbeat' }), intervalMs);
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeat);
  }

  send(message: AgentMessage): void {
    this.socket.send(JSON.stringify(message));
  }

  sendRaw(text: string): void {
    this.socket.send(text);
  }

  inventory(upserts: ObservedInstance[], options: { full?: boolean; removed?: Array<{ index: number; generation: string }> } = {}): void {
    this.send({ type: 'inventory', full: options.full ?? false, upserts, removed: options.removed ?? [] });
  }

  next(matches: (message: ServerMessage) => boolean): Promise<ServerMessage> {
    const seen = this.received.find(matches);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ matches, resolve }));
  }

  close(): Promise<number> {
    this.stopHeartbeats();
    const closed = closeCodeOf(this.socket);
    this.socket.close();
    return closed;
  }

  private receive(message: ServerMessage): void {
    this.received.push(message);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.matches(message)) return true;
      waiter.resolve(message);
      return false;
    });
    if (message.type === 'rpc.call' && this.rpcHandler) void this.answer(message);
  }

  private async answer(call: Extract<ServerMessage, { type: 'rpc.call' }>): Promise<void> {
    try {
      const result = await this.rpcHandler?.(call.method, call.params, call.id);
      this.send({ type: 'rpc.result', id: call.id, ok: true, result });
    } catch (error) {
      const e = error as { category?: 'ldconsole'; code?: string; message: string };
      this.send({
        type: 'rpc.result',
        id: call.id,
        ok: false,
        error: { category: e.category ?? 'ldconsole', code: e.code ?? 'failed', message: e.message },
      });
    }
  }
}

export interface StreamedEvent {
  type: string;
  at: string;
  data: Record<string, unknown>;
}

/** A `/events` subscriber that keeps everything it receives. */
export class EventsClient {
  readonly events: StreamedEvent[] = [];

  private constructor(readonly socket: WebSocket) {
    // A frame is an array of events.
    socket.on('message', (data) => this.events.push(...(JSON.parse(data.toString()) as StreamedEvent[])));
  }

  static async open(baseUrl: string, query: Record<string, string>, headers: Record<string, string> = {}): Promise<EventsClient> {
    const search = new URLSearchParams(query).toString();
    const socket = await connect(wsUrl(baseUrl, `/api/v1/events${search ? `?${search}` : ''}`), { headers });
    return new EventsClient(socket);
  }

  waitFor(matches: (event: StreamedEvent) => boolean, timeoutMs = 10_000, what = 'an event'): Promise<StreamedEvent> {
    return eventually(() => this.events.find(matches), timeoutMs, what);
  }

  close(): void {
    this.socket.close();
  }
}
