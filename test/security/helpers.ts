/**
 * Helpers of the security tests: requests from a chosen loopback address (an attacker at
 * 127.0.0.2, the real user at 127.0.0.1), and a hostile agent endpoint for the agent's side.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { AGENT_CONNECT_PATH, parseAgentMessage, type AgentMessage, type ServerMessage } from '../../src/protocol/index.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request sent from `localAddress` (any 127.x address works on Linux loopback). */
export function requestFrom(
  baseUrl: string,
  options: { method?: string; path: string; localAddress?: string; headers?: Record<string, string>; body?: unknown },
): Promise<RawResponse> {
  const url = new URL(options.path, baseUrl);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: options.method ?? 'GET',
        localAddress: options.localAddress ?? '127.0.0.1',
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** `POST /api/v1/auth/login` from an address; the status. */
export async function loginFrom(baseUrl: string, localAddress: string, username: string, password: string): Promise<number> {
  const response = await requestFrom(baseUrl, { method: 'POST', path: '/api/v1/auth/login', localAddress, body: { username, password } });
  return response.status;
}

/** A server endpoint for agents that the test controls: it welcomes, then does as the test says. */
export class HostileGateway {
  readonly sockets: WebSocket[] = [];
  readonly frames: AgentMessage[] = [];
  upgrades = 0;
  /** TCP connections accepted (each dial attempt of an agent). */
  connections = 0;
  private readonly server: http.Server | https.Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(tls?: { cert: Buffer; key: Buffer }) {
    this.server = tls ? https.createServer(tls) : http.createServer();
    this.server.on('connection', () => (this.connections += 1));
    this.server.on('upgrade', (request, socket, head) => {
      this.upgrades += 1;
      if (request.url !== AGENT_CONNECT_PATH) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.sockets.push(ws);
        ws.on('message', (data) => {
          const message = parseAgentMessage(data.toString());
          if (message === null) return;
          this.frames.push(message);
          if (message.type === 'hello') this.send({ type: 'welcome', workstationId: 'ws-1', heartbeatMs: 1000, inventoryPollMs: 60_000, metricsMs: 60_000 });
        });
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const scheme = this.server instanceof https.Server ? 'https' : 'http';
    return `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  send(message: ServerMessage): void {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no agent connected');
    socket.send(JSON.stringify(message));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
