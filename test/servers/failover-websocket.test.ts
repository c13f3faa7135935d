/**
 * failoverWebSocket against real `ws` servers on 127.0.0.1: a dial that fails before it opens
 * moves the next dial to the next server, an open one keeps its server first, and it comes back
 * to the first server once that one is up and the other is gone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { failoverWebSocket } from '../../src/servers/index.js';
import type { WebSocketConstructorLike, WebSocketLike } from '../../src/sdk/index.js';
import { freePort } from '../support/ports.js';

const EVENTS_PATH = '/api/v1/events?topics=batch.*';

/** A WebSocket server that records the URL each connection asked for. */
interface Replica {
  readonly port: number;
  readonly paths: string[];
  readonly wss: WebSocketServer;
}

function startReplica(port = 0): Promise<Replica> {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    const paths: string[] = [];
    wss.on('connection', (_socket, request) => paths.push(request.url ?? ''));
    wss.once('error', reject);
    wss.once('listening', () => resolve({ port: (wss.address() as { port: number }).port, paths, wss }));
  });
}

function stopReplica(replica: Replica): Promise<void> {
  for (const client of replica.wss.clients) client.terminate();
  return new Promise((resolve) => replica.wss.close(() => resolve()));
}

/** Dials `url` and tells whether the socket opened or closed before it did. */
function dial(Socket: WebSocketConstructorLike, url: string): Promise<{ outcome: 'open' | 'failed'; socket: WebSocketLike }> {
  return new Promise((resolve) => {
    const socket = new Socket(url);
    socket.onopen = () => resolve({ outcome: 'open', socket });
    socket.onclose = () => resolve({ outcome: 'failed', socket });
  });
}

/** Resolves when `socket` has closed (dropped by its server). */
function closed(socket: WebSocketLike): Promise<void> {
  return new Promise((resolve) => (socket.onclose = () => resolve()));
}

describe('failoverWebSocket', () => {
  const replicas: Replica[] = [];
  const sockets: WebSocketLike[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await Promise.all(replicas.splice(0).map(stopReplica));
  });
  const open = async (Socket: WebSocketConstructorLike, url: string) => {
    const result = await dial(Socket, url);
    sockets.push(result.socket);
    return result.outcome;
  };

  it('moves on from a dead server, keeps the one that opened, and comes back when only the first is up', async () => {
    const deadPort = await freePort();
    const live = await startReplica();
    replicas.push(live);
    const Socket = failoverWebSocket([`http://127.0.0.1:${deadPort}`, `http://127.0.0.1:${live.port}`], WebSocket as unknown as WebSocketConstructorLike);
    // The sdk builds the URL on the first server; the wrapper decides where it goes.
    const url = `ws://127.0.0.1:${deadPort}${EVENTS_PATH}`;

    expect(await open(Socket, url)).toBe('failed');
    expect(await open(Socket, url)).toBe('open');
    expect(live.paths).toEqual([EVENTS_PATH]);

    // Dropped after it opened: the next dial tries the same server first.
    const dropped = closed(sockets.at(-1)!);
    for (const client of live.wss.clients) client.terminate();
    await dropped;
    expect(await open(Socket, url)).toBe('open');
    expect(live.paths).toHaveLength(2);

    await stopReplica(replicas.pop()!);
    const revived = await startReplica(deadPort);
    replicas.push(revived);
    expect(await open(Socket, url)).toBe('failed');
    expect(await open(Socket, url)).toBe('open');
    expect(revived.paths).toEqual([EVENTS_PATH]);
  });

  it('leaves a URL that is not on the first server alone', async () => {
    const other = await startReplica();
    replicas.push(other);
    const deadPort = await freePort();
    const Socket = failoverWebSocket([`http://127.0.0.1:${deadPort}`, `http://127.0.0.1:${await freePort()}`], WebSocket as unknown as WebSocketConstructorLike);
    expect(await open(Socket, `ws://127.0.0.1:${other.port}/elsewhere`)).toBe('open');
    expect(other.paths).toEqual(['/elsewhere']);
  });
});
