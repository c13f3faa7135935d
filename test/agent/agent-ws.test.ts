/**
 * The agent's side of the channel, over a real WebSocket. The test plays a minimal server (auth
 * header check, welcome, a few calls) only to watch what the agent sends and does; the real
 * gateway and its end-to-end tests are elsewhere.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { Agent, type AgentLogger } from '../../src/agent/index.js';
import { AGENT_CONNECT_PATH, parseAgentMessage, type AgentMessage, type ServerMessage } from '../../src/protocol/index.js';
import { SIM_BIN } from '../../src/sim/index.js';
import { newSimHome, until } from './helpers.js';

/** A stand-in for the server's agent endpoint that records every frame per connection. */
class FakeGateway {
  readonly connections: { socket: WebSocket; frames: AgentMessage[]; authorization: string | undefined }[] = [];
  refusals = 0;
  acceptedToken: string;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(token: string) {
    this.acceptedToken = token;
    this.http = createServer();
    this.http.on('upgrade', (request, socket, head) => {
      if (request.url !== AGENT_CONNECT_PATH || request.headers.authorization !== `Bearer ${this.acceptedToken}`) {
        this.refusals += 1;
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        const connection = { socket: ws, frames: [] as AgentMessage[], authorization: request.headers.authorization };
        this.connections.push(connection);
        ws.on('message', (data) => {
          const message = parseAgentMessage(data.toString());
          if (message === null) throw new Error(`agent sent an invalid frame: ${data.toString()}`);
          connection.frames.push(message);
        });
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  latest() {
    const connection = this.connections.at(-1);
    if (!connection) throw new Error('no connection yet');
    return connection;
  }

  send(message: ServerMessage): void {
    this.latest().socket.send(JSON.stringify(message));
  }

  welcome(): void {
    this.send({ type: 'welcome', workstationId: 'ws-1', heartbeatMs: 100, inventoryPollMs: 100, metricsMs: 150 });
  }

  framesOf<T extends AgentMessage['type']>(type: T): Extract<AgentMessage, { type: T }>[] {
    return this.latest().frames.filter((frame): frame is Extract<AgentMessage, { type: T }> => frame.type === type);
  }

  async close(): Promise<void> {
    for (const { socket } of this.connections) socket.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

function collectingLogger(lines: string[]): AgentLogger {
  const log = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(token = 'enroll-1', agentToken = token, welcomeTimeoutMs?: number) {
  const home = newSimHome();
  home.seed([{ name: 'alpha' }]);
  const gateway = new FakeGateway(token);
  const url = await gateway.listen();
  const logs: string[] = [];
  const agent = new Agent({
    serverUrl: url,
    token: agentToken,
    ldconsolePath: SIM_BIN,
    installDir: home.dir,
    ldconsoleEnv: home.env(),
    logger: collectingLogger(logs),
    hostname: 'pc-07',
    backoff: { baseMs: 20, capMs: 100 },
    authRetryMs: 200,
    ...(welcomeTimeoutMs !== undefined ? { welcomeTimeoutMs } : {}),
  });
  cleanups.push(() => gateway.close(), () => agent.stop());
  return { home, gateway, agent, logs };
}

describe('agent over a WebSocket', { timeout: 60_000 }, () => {
  it('says hello first, then after welcome sends a full inventory, heartbeats and metrics', async () => {
    const { gateway, agent } = await setup();
    agent.start();
    await until(() => gateway.connections.length === 1 && gateway.latest().frames.length > 0);
    expect(gateway.latest().authorization).toBe('Bearer enroll-1');
    const [hello] = gateway.latest().frames;
    expect(hello).toMatchObject({ type: 'hello', protocol: 1, hostname: 'pc-07', ldplayer: { path: SIM_BIN } });

    gateway.welcome();
    await until(() => gateway.framesOf('inventory').length > 0 && gateway.framesOf('heartbeat').length >= 2 && gateway.framesOf('metrics').length >= 2);
    expect(gateway.framesOf('inventory')[0]).toMatchObject({ full: true, upserts: [{ index: 0, name: 'alpha', state: 'stopped' }], removed: [] });
    expect(gateway.framesOf('metrics')[0]?.metrics.memoryTotalBytes).toBeGreaterThan(0);
  });

  it('sends nothing but hello until welcomed: with no welcome it drops the socket and starts over', async () => {
    const { gateway, agent, logs } = await setup('enroll-1', 'enroll-1', 300);
    agent.start();
    await until(() => gateway.connections.length === 1);
    const first = gateway.latest();
    // The agent's own welcome timeout ends the window: every frame it sent in it is here.
    await new Promise<void>((resolve) => first.socket.once('close', () => resolve()));
    expect(first.frames.map((frame) => frame.type)).toEqual(['hello']);
    expect(logs.some((line) => line.includes('no welcome after hello'))).toBe(true);
    await until(() => gateway.connections.length === 2 && gateway.latest().frames.length > 0);
    expect(gateway.latest().frames[0]?.type).toBe('hello');
  });

  it('answers RPCs, pushes the change as a diff at once, and resends everything on resync', async () => {
    const { gateway, agent } = await setup();
    agent.start();
    await until(() => gateway.connections.length === 1 && gateway.latest().frames.length > 0);
    gateway.welcome();
    await until(() => gateway.framesOf('inventory').length > 0);

    gateway.send({ type: 'rpc.call', id: 'c1', method: 'create', params: { name: 'beta' }, timeoutMs: 20_000 });
    gateway.send({ type: 'rpc.call', id: 'c2', method: 'reboot-the-world', params: {}, timeoutMs: 1_000 });
    await until(() => gateway.framesOf('rpc.result').length === 2);
    const results = new Map(gateway.framesOf('rpc.result').map((result) => [result.id, result]));
    expect(results.get('c1')).toMatchObject({ ok: true, result: { index: 1, name: 'beta' } });
    expect(results.get('c2')).toMatchObject({ ok: false, error: { category: 'conflict', code: 'unknown_method' } });
    expect(gateway.framesOf('inventory').some((inventory) => !inventory.full && inventory.upserts.some((instance) => instance.name === 'beta'))).toBe(true);

    const fullBefore = gateway.framesOf('inventory').filter((inventory) => inventory.full).length;
    gateway.send({ type: 'inventory.resync' });
    await until(() => gateway.framesOf('inventory').filter((inventory) => inventory.full).length > fullBefore);
    expect(gateway.framesOf('inventory').filter((inventory) => inventory.full).at(-1)?.upserts.map((instance) => instance.name)).toEqual(['alpha', 'beta']);
  });

  it('reconnects after the server drops it and starts over with hello and a full inventory', async () => {
    const { gateway, agent } = await setup();
    agent.start();
    await until(() => gateway.connections.length === 1 && gateway.latest().frames.length > 0);
    gateway.welcome();
    await until(() => gateway.framesOf('inventory').length > 0);
    gateway.latest().socket.terminate();
    await until(() => gateway.connections.length === 2 && gateway.latest().frames.length > 0);
    expect(gateway.latest().frames[0]?.type).toBe('hello');
    gateway.welcome();
    await until(() => gateway.framesOf('inventory').length > 0);
    expect(gateway.framesOf('inventory')[0]?.full).toBe(true);
  });

  it('logs a refused token clearly and keeps retrying slowly until it is accepted', async () => {
    const { gateway, agent, logs } = await setup('right', 'rotated-away');
    agent.start();
    await until(() => gateway.refusals >= 2);
    expect(logs.some((line) => line.startsWith('error') && line.includes('refused the enrollment token'))).toBe(true);
    gateway.acceptedToken = 'rotated-away';
    await until(() => gateway.connections.length === 1);
  });

  it('stops cleanly: the socket closes and no redial follows', async () => {
    const { gateway, agent, logs } = await setup();
    agent.start();
    await until(() => gateway.connections.length === 1 && gateway.latest().frames.length > 0);
    gateway.welcome();
    await until(() => gateway.framesOf('heartbeat').length > 0);
    const closed = new Promise<number>((resolve) => gateway.latest().socket.once('close', (code) => resolve(code)));
    await agent.stop();
    expect(await closed).toBe(1001);
    // The agent's close handler has run by the time stop() resolves; a redial would have been
    // scheduled, and logged, right there.
    expect(logs.filter((line) => line.includes('retrying'))).toEqual([]);
    expect(logs.some((line) => line.startsWith('info agent stopped'))).toBe(true);
    expect(gateway.connections).toHaveLength(1);
  });
});
