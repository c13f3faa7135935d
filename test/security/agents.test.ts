/**
 * Agents under attack, both ways (issue 12): a lying or flooding agent against the server, and
 * a hostile server (the test's) against the real agent: transfers without bound, cached
 * screenshots, the enrollment token leaking into ldconsole's environment, plain-text channels.
 */
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentLogger } from '../../src/agent/index.js';
import { SIM_BIN } from '../../src/sim/index.js';
import { AgentCloseCode } from '../../src/server/gateway/index.js';
import { startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { FakeAgent, closeCodeOf, eventually, instance } from '../gateway/helpers.js';
import { newSimHome } from '../agent/helpers.js';
import type { SimHome } from '../../src/sim/index.js';
import { HostileGateway } from './helpers.js';

describe('a lying or flooding agent', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', {}, { gateway: { maxInventoryFrames: 50, inventoryWindowMs: 60_000, maxQueuedReports: 64 } });
  });
  afterAll(() => t.close());

  async function enrolledAgent(name: string): Promise<FakeAgent> {
    const { enrollmentToken } = await t.admin.createWorkstation({ name });
    const agent = await FakeAgent.connect(t.url, enrollmentToken);
    await agent.hello();
    agent.startHeartbeats(200);
    return agent;
  }

  it('a result that is not the method\'s fails the operation with a typed error and never reaches the store', async () => {
    const agent = await enrolledAgent('ws-liar');
    agent.inventory([instance(0)], { full: true });
    const emulator = await eventually(async () => (await t.admin.listEmulators({ limit: 10 })).items.find((item) => item.name === 'LDPlayer'), 10_000, 'the emulator');
    agent.rpcHandler = (method) => (method === 'start' ? { ...instance(0, { state: 'running', booted: true }), settings: {} } : {});
    const operation = await t.admin.emulatorAction(emulator.id, 'start');
    const failed = await eventually(async () => {
      const current = await t.admin.getOperation(operation.id);
      return current.status === 'failed' ? current : undefined;
    }, 30_000, 'the start to fail');
    expect(failed.error).toMatchObject({ category: 'ldconsole', code: 'invalid_result' });
    // Every user can still list the emulators, which are as they were.
    const listed = await t.admin.listEmulators({ limit: 10 });
    expect(listed.items.find((item) => item.id === emulator.id)).toMatchObject({ state: 'stopped' });
    agent.stopHeartbeats();
    await agent.close();
  });

  it('an agent that floods inventory frames is closed with 4006 and the server stays responsive', async () => {
    const agent = await enrolledAgent('ws-flood');
    const closed = closeCodeOf(agent.socket);
    const upserts = Array.from({ length: 20 }, (_, index) => instance(index));
    // Bounded: 500 frames, far past the 50 a minute this server allows.
    for (let i = 0; i < 500 && agent.socket.readyState === agent.socket.OPEN; i++) agent.inventory(upserts, { full: i === 0 });
    expect(await closed).toBe(AgentCloseCode.flooding);
    agent.stopHeartbeats();
    expect(await t.admin.health()).toEqual({ status: 'ok' });
  });

  it('an agent whose reports pile up faster than they are applied is closed with 4006', async () => {
    const agent = await enrolledAgent('ws-queue');
    const closed = closeCodeOf(agent.socket);
    const metrics = { cpuPercent: 1, memoryTotalBytes: 2, memoryUsedBytes: 1, diskTotalBytes: 2, diskFreeBytes: 1 };
    // Bounded: 5,000 frames sent in one go, each one a store write.
    const frame = JSON.stringify({ type: 'metrics', metrics });
    for (let i = 0; i < 5000 && agent.socket.readyState === agent.socket.OPEN; i++) agent.sendRaw(frame);
    expect(await closed).toBe(AgentCloseCode.flooding);
    agent.stopHeartbeats();
  });
});

function captureLogger(): AgentLogger & { warnings: string[] } {
  const warnings: string[] = [];
  const quiet = () => undefined;
  return { warnings, debug: quiet, info: quiet, error: quiet, warn: (_object: object, message: string) => warnings.push(message) };
}

describe('a hostile server against the agent', () => {
  let gateway: HostileGateway;
  let agent: Agent | undefined;
  let dir: string;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let home: SimHome;

  async function startAgent(options: { ldconsolePath?: string; env?: NodeJS.ProcessEnv; logger?: AgentLogger } = {}): Promise<Agent> {
    home = newSimHome();
    home.seed([{ name: 'one', running: true }]);
    dir = mkdtempSync(join(tmpdir(), 'ldfleet-hostile-'));
    const url = await gateway.listen();
    agent = new Agent({
      serverUrl: url,
      token: 'ldf_ws_test',
      ldconsolePath: options.ldconsolePath ?? SIM_BIN,
      installDir: home.dir,
      ldconsoleEnv: { ...home.env(), ...options.env },
      transfers: { parentDir: dir, maxTransfers: 3, maxTotalBytes: 3 * 1024 * 1024, idleTimeoutMs: 2000 },
      ...(options.logger ? { logger: options.logger } : {}),
    });
    agent.start();
    await eventually(() => agent?.welcomed, 15_000, 'the welcome');
    return agent;
  }

  function bytesOnDisk(): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (const sub of readdirSync(dir)) {
      for (const file of readdirSync(join(dir, sub))) {
        files += 1;
        bytes += statSync(join(dir, sub, file)).size;
      }
    }
    return { files, bytes };
  }

  async function rpc(id: string, method: string, params: unknown): Promise<void> {
    const before = gateway.frames.filter((frame) => frame.type === 'rpc.result' && frame.id === id).length;
    gateway.send({ type: 'rpc.call', id, method, params, timeoutMs: 20_000 });
    await eventually(() => gateway.frames.filter((frame) => frame.type === 'rpc.result' && frame.id === id).length > before, 30_000, `the result of ${id}`);
  }

  it('caps transfers in count, bytes and idle time', async () => {
    gateway = new HostileGateway();
    await startAgent();
    const chunk = Buffer.alloc(256 * 1024, 7).toString('base64');
    // Bounded: 20 unfinished transfers of 2 MiB each (40 MiB offered; the agent takes at most 3 MiB).
    for (let transfer = 0; transfer < 20; transfer++) {
      for (let i = 0; i < 8; i++) gateway.send({ type: 'file.chunk', transferId: `t-${transfer}`, data: chunk, last: false });
    }
    // A call after the chunks proves they were all handled (one socket, in order); an unknown
    // method answers at once, well inside the idle timeout.
    await rpc('probe', 'no-such-method', {});
    await eventually(() => bytesOnDisk().bytes > 0, 10_000, 'some bytes written');
    const held = bytesOnDisk();
    expect(held.files).toBeLessThanOrEqual(3);
    expect(held.bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
    // Nothing more arrives: the idle transfers are deleted.
    await eventually(() => bytesOnDisk().files === 0, 15_000, 'idle transfers to be deleted');
  });

  it('does not remember screenshot results: a repeated id runs again', async () => {
    gateway = new HostileGateway();
    await startAgent();
    const screencaps = () => home.calls().filter((record) => record.command === 'adb' && JSON.stringify(record).includes('screencap')).length;
    await rpc('shot-1', 'screenshot', { index: 0 });
    await rpc('shot-1', 'screenshot', { index: 0 });
    expect(screencaps()).toBe(2);
  });

  it("keeps LDFLEET_AGENT_TOKEN out of ldconsole's environment", async () => {
    gateway = new HostileGateway();
    const wrapperDir = mkdtempSync(join(tmpdir(), 'ldfleet-envdump-'));
    const dump = join(wrapperDir, 'env.txt');
    const wrapper = join(wrapperDir, 'ldconsole');
    writeFileSync(wrapper, `#!/bin/sh\nenv >> "${dump}"\nexec "${SIM_BIN}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    try {
      await startAgent({ ldconsolePath: wrapper, env: { LDFLEET_AGENT_TOKEN: 'ldf_ws_secret_value', LDFLEET_TEST_MARKER: 'seen' } });
      await rpc('inv', 'inventory', {});
      const seen = readFileSync(dump, 'utf8');
      expect(seen).toContain('LDFLEET_TEST_MARKER=seen');
      expect(seen).not.toContain('ldf_ws_secret_value');
    } finally {
      rmSync(wrapperDir, { recursive: true, force: true });
    }
  });

  it('warns when it speaks ws:// to anything but loopback', () => {
    const logger = captureLogger();
    const remote = new Agent({ serverUrl: 'http://192.0.2.10:8080', token: 't', ldconsolePath: SIM_BIN, installDir: tmpdir(), logger });
    const local = captureLogger();
    const loopback = new Agent({ serverUrl: 'http://127.0.0.1:8080', token: 't', ldconsolePath: SIM_BIN, installDir: tmpdir(), logger: local });
    void remote;
    void loopback;
    expect(logger.warnings.some((message) => message.includes('not TLS'))).toBe(true);
    expect(local.warnings).toEqual([]);
    dir = mkdtempSync(join(tmpdir(), 'ldfleet-hostile-'));
    gateway = new HostileGateway();
  });
});
