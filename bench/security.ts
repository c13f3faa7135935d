/**
 * `npm run bench:security`: the figures of issue 12's closing note, against `ldfleet server` as
 * its own process (so its RSS and event loop are its own):
 *
 * 1. `/healthz` latency while one viewer token tries 300 `/events` streams and a
 *    2,000-instance inventory change lands;
 * 2. the server's RSS after 20 clients each start a 31 MiB frame on `/events`;
 * 3. the real user's login (from 127.0.0.1) while an attacker guesses its password (127.0.0.2).
 *
 * Prints them and writes `bench/results-security.json`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { scryptSync } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { AGENT_CONNECT_PATH, PROTOCOL_VERSION, adbSerialFor } from '../src/protocol/index.js';
import type { ObservedInstance } from '../src/protocol/index.js';
import { LdfleetClient } from '../src/sdk/index.js';
import { hashPassword } from '../src/server/auth/index.js';
import { startServerProcess } from '../test/support/server-process.js';
import { freePort } from '../test/support/ports.js';

const RESULTS_FILE = fileURLToPath(new URL('./results-security.json', import.meta.url));
const ADMIN_PASSWORD = 'bench-security-password-0123';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function rssMiB(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

function request(url: string, options: { method?: string; localAddress?: string; body?: unknown } = {}): Promise<number> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? 'GET',
      localAddress: options.localAddress ?? '127.0.0.1',
      headers: body ? { 'content-type': 'application/json' } : {},
    }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Samples `/healthz` one request after another until stopped; the latencies in ms. */
function sampleHealth(baseUrl: string): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  const stopped = new AbortController();
  const loop = (async () => {
    while (!stopped.signal.aborted) {
      const started = performance.now();
      await request(`${baseUrl}/healthz`);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      stopped.abort();
      await loop;
      return latencies;
    },
  };
}

function instance(index: number): ObservedInstance {
  return {
    index, generation: `g${index}`, name: `bench-${index}`, state: 'stopped', booted: false, pids: null,
    settings: {
      cpu: 2, memoryMb: 2048, resolution: { width: 1280, height: 720, dpi: 240 }, manufacturer: 'samsung', model: 'SM-G9880',
      phoneNumber: '', imei: '865166023456789', imsi: '460001234567890', simSerial: '89860012345678901234',
      androidId: '0123456789abcdef', mac: '00DB8E123456', autoRotate: false, lockWindow: false, root: false,
    },
    adbSerial: adbSerialFor(index),
  };
}

function openSocket(url: string, token: string): Promise<{ socket: WebSocket; closeCode: () => number }> {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  let code = 0;
  socket.on('close', (closed) => (code = closed));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, closeCode: () => code }));
    socket.once('unexpected-response', (_req, response) => reject(new Error(`refused ${response.statusCode}`)));
  });
}

/** The same 2,000-instance change with no stream open: what the inventory write alone costs `/healthz`. */
async function inventoryAlone(baseUrl: string, admin: LdfleetClient) {
  const health = sampleHealth(baseUrl);
  const { enrollmentToken } = await admin.createWorkstation({ name: 'bench-control' });
  const agent = await openSocket(`${baseUrl.replace(/^http/, 'ws')}${AGENT_CONNECT_PATH}`, enrollmentToken);
  const welcomed = new Promise((resolve) => agent.socket.once('message', resolve));
  agent.socket.send(JSON.stringify({
    type: 'hello', protocol: PROTOCOL_VERSION, agentVersion: 'bench', hostname: 'BENCH-CONTROL', os: 'bench',
    ldplayer: { path: 'ldconsole.exe', installDir: 'LDPlayer', version: null },
  }));
  await welcomed;
  agent.socket.send(JSON.stringify({ type: 'inventory', full: true, upserts: Array.from({ length: 2000 }, (_, i) => instance(i)), removed: [] }));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && (await admin.listEmulators({ limit: 1 })).total < 2000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const latencies = await health.stop();
  agent.socket.terminate();
  return { samples: latencies.length, p50Ms: round(percentile(latencies, 0.5)), p99Ms: round(percentile(latencies, 0.99)), maxMs: round(Math.max(...latencies)) };
}

/**
 * One password hash, in this process: the old scrypt (N=2^14, r=8, p=1), scrypt at OWASP's
 * minimum (its N=2^14, p=5 equivalent), and the argon2id the server uses now.
 */
async function hashCost() {
  const scryptMs = (p: number) => {
    const started = performance.now();
    scryptSync('correct horse battery staple', 'sixteen-byte-salt', 32, { N: 16_384, r: 8, p, maxmem: 64 * 1024 * 1024 });
    return round(performance.now() - started);
  };
  // The first call loads the native module; time the second.
  await hashPassword('warm-up password');
  const started = performance.now();
  await hashPassword('correct horse battery staple');
  return { oldScryptMs: scryptMs(1), owaspScryptMs: scryptMs(5), argon2idMs: round(performance.now() - started) };
}

async function streamsAndInventory(baseUrl: string, admin: LdfleetClient) {
  const viewerPassword = 'bench-viewer-password-0123';
  await admin.createUser({ username: 'bench-viewer', password: viewerPassword, role: 'viewer' });
  const viewer = new LdfleetClient({ baseUrl });
  await viewer.login('bench-viewer', viewerPassword);
  const token = viewer.currentToken ?? '';
  const eventsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/v1/events?topics=emulator.*`;
  const health = sampleHealth(baseUrl);
  const streams = await Promise.all(Array.from({ length: 300 }, () => openSocket(eventsUrl, token)));
  const received = new Map<WebSocket, number>();
  for (const { socket } of streams) socket.on('message', () => received.set(socket, (received.get(socket) ?? 0) + 1));

  const { enrollmentToken } = await admin.createWorkstation({ name: 'bench-big' });
  const agent = await openSocket(`${baseUrl.replace(/^http/, 'ws')}${AGENT_CONNECT_PATH}`, enrollmentToken);
  const welcomed = new Promise((resolve) => agent.socket.once('message', resolve));
  agent.socket.send(JSON.stringify({
    type: 'hello', protocol: PROTOCOL_VERSION, agentVersion: 'bench', hostname: 'BENCH', os: 'bench',
    ldplayer: { path: 'C:\\\\LDPlayer\\\\ldconsole.exe', installDir: 'C:\\\\LDPlayer', version: null },
  }));
  await welcomed;
  const landedAt = performance.now();
  agent.socket.send(JSON.stringify({ type: 'inventory', full: true, upserts: Array.from({ length: 2000 }, (_, i) => instance(i)), removed: [] }));
  const open = () => streams.filter((stream) => stream.closeCode() === 0);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !open().every((stream) => (received.get(stream.socket) ?? 0) >= 2000)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const deliveredMs = performance.now() - landedAt;
  const latencies = await health.stop();
  const refusedWith = new Map<number, number>();
  for (const stream of streams) refusedWith.set(stream.closeCode(), (refusedWith.get(stream.closeCode()) ?? 0) + 1);
  for (const stream of streams) stream.socket.terminate();
  agent.socket.terminate();
  return {
    streamsOpen: refusedWith.get(0) ?? 0,
    closeCodes: Object.fromEntries([...refusedWith].filter(([code]) => code !== 0)),
    inventoryDeliveredToAllOpenStreamsMs: Math.round(deliveredMs),
    healthz: { samples: latencies.length, p50Ms: round(percentile(latencies, 0.5)), p99Ms: round(percentile(latencies, 0.99)), maxMs: round(Math.max(...latencies)) },
  };
}

async function oversizedFrames(baseUrl: string, admin: LdfleetClient, server: ChildProcess) {
  const before = rssMiB(server);
  const eventsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/v1/events`;
  const claimed = 31 * 1024 * 1024;
  const sent: number[] = [];
  const clients = await Promise.all(Array.from({ length: 20 }, () => openSocket(eventsUrl, admin.currentToken ?? '')));
  await Promise.all(clients.map(async ({ socket, closeCode }) => {
    const raw = (socket as unknown as { _socket: Socket })._socket;
    // A masked text frame header announcing 31 MiB, then its payload in 1 MiB pieces minus the last byte.
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(claimed), 2);
    raw.write(header);
    let bytes = 0;
    const piece = Buffer.alloc(1024 * 1024, 0x61);
    while (bytes < claimed - 1 && closeCode() === 0 && !raw.destroyed) {
      const size = Math.min(piece.length, claimed - 1 - bytes);
      if (!raw.write(piece.subarray(0, size))) await new Promise((resolve) => raw.once('drain', resolve).once('close', resolve));
      bytes += size;
    }
    sent.push(bytes);
  }));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = rssMiB(server);
  const closed = clients.filter(({ closeCode }) => closeCode() !== 0).length;
  for (const { socket } of clients) socket.terminate();
  return { rssBeforeMiB: before, rssAfterMiB: after, clientsClosedByServer: closed, payloadBytesSentPerClient: Math.max(...sent) };
}

async function loginUnderGuessing(baseUrl: string) {
  const login = (localAddress: string, password: string) => request(`${baseUrl}/api/v1/auth/login`, { method: 'POST', localAddress, body: { username: 'admin', password } });
  const alone: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await login('127.0.0.1', ADMIN_PASSWORD);
    alone.push(performance.now() - started);
  }
  const userDone = new AbortController();
  const attackerStatuses = new Map<number, number>();
  const attacker = (async () => {
    for (let i = 0; !userDone.signal.aborted && i < 2000; i++) {
      const status = await login('127.0.0.2', `wrong-guess-${i}`);
      attackerStatuses.set(status, (attackerStatuses.get(status) ?? 0) + 1);
    }
  })();
  const user: { status: number; ms: number }[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    const status = await login('127.0.0.1', ADMIN_PASSWORD);
    user.push({ status, ms: performance.now() - started });
  }
  userDone.abort();
  await attacker;
  return {
    loginAloneMs: { p50: round(percentile(alone, 0.5)), max: round(Math.max(...alone)) },
    userLogins: { statuses: [...new Set(user.map((entry) => entry.status))], p50Ms: round(percentile(user.map((e) => e.ms), 0.5)), maxMs: round(Math.max(...user.map((e) => e.ms))) },
    attackerStatuses: Object.fromEntries(attackerStatuses),
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ldfleet-bench-security-'));
  const port = await freePort();
  const server = await startServerProcess({
    LDFLEET_PORT: String(port),
    LDFLEET_DATA_DIR: dataDir,
    LDFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LDFLEET_LOGIN_WINDOW_SECONDS: '600',
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    const admin = new LdfleetClient({ baseUrl });
    await admin.login('admin', ADMIN_PASSWORD);
    const results = {
      at: new Date().toISOString(),
      loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
      passwordHash: await hashCost(),
      inventory2000WithoutStreams: { healthz: await inventoryAlone(baseUrl, admin) },
      streams300AndInventory2000: await streamsAndInventory(baseUrl, admin),
      oversizedFrames20: await oversizedFrames(baseUrl, admin, server),
      loginWhileGuessed: await loginUnderGuessing(baseUrl),
    };
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
