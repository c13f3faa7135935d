/**
 * The agent channel over a real WebSocket, with a fake agent that speaks only the protocol:
 * authentication, hello/welcome, inventory, RPCs, file transfers, liveness and replacement.
 */
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentCloseCode, RpcError } from '../../src/server/gateway/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import { describeStores, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { EventsClient, FakeAgent, closeCodeOf, eventually, instance } from './helpers.js';

const HEARTBEAT_MS = 150;

describeStores('agent gateway', (kind) => {
  let t: TestServer;
  const agents: FakeAgent[] = [];

  beforeAll(async () => {
    t = await startTestServer(kind, {}, {
      gateway: { intervals: { heartbeatMs: HEARTBEAT_MS, inventoryPollMs: 100, metricsMs: 300 }, rpcGraceMs: 50, maxBadFrames: 3 },
    });
  });
  afterAll(() => t.close());
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });

  async function enrolledAgent(name: string, tags: string[] = []): Promise<{ agent: FakeAgent; workstationId: string; token: string }> {
    const { workstation, enrollmentToken } = await t.admin.createWorkstation({ name, tags });
    const agent = await FakeAgent.connect(t.url, enrollmentToken);
    agents.push(agent);
    return { agent, workstationId: workstation.id, token: enrollmentToken };
  }

  async function emulatorsOf(workstationId: string): Promise<Emulator[]> {
    const page = await t.admin.request<{ items: Emulator[] }>('GET', '/emulators', { query: { workstation: workstationId, limit: 1000 } });
    return page.items;
  }

  it('welcomes an agent, marks its workstation online and records what it told', async () => {
    const events = await EventsClient.open(t.url, { topics: 'workstation.*' }, { authorization: `Bearer ${t.admin.currentToken ?? ''}` });
    const { agent, workstationId } = await enrolledAgent('ws-hello');
    const welcome = await agent.hello('HOST-A');
    expect(welcome).toEqual({ type: 'welcome', workstationId, heartbeatMs: HEARTBEAT_MS, inventoryPollMs: 100, metricsMs: 300 });
    await events.waitFor((event) => event.type === 'workstation.online' && event.data.id === workstationId);
    const workstation = await t.admin.getWorkstation(workstationId);
    expect(workstation).toMatchObject({
      status: 'online',
      hostname: 'HOST-A',
      os: 'Windows 10 Pro 22H2',
      agentVersion: '0.1.0-test',
      ldplayer: { path: 'C:\\LDPlayer\\LDPlayer9\\ldconsole.exe', version: '9.0.68' },
      emulators: { total: 0, running: 0 },
    });
    expect(workstation.lastSeenAt).not.toBeNull();
    expect(t.server.gateway.isOnline(workstationId)).toBe(true);
    events.close();
  });

  it('refuses a bad or rotated enrollment token before the upgrade, and audits it', async () => {
    const { workstationId, token } = await enrolledAgent('ws-rotate');
    await expect(FakeAgent.connect(t.url, 'ldf_ws_not-a-token')).rejects.toMatchObject({ statusCode: 401 });
    const { enrollmentToken } = await t.admin.request<{ enrollmentToken: string }>('POST', `/workstations/${workstationId}/enrollment-token`);
    await expect(FakeAgent.connect(t.url, token)).rejects.toMatchObject({ statusCode: 401 });
    const fresh = await FakeAgent.connect(t.url, enrollmentToken);
    agents.push(fresh);
    await fresh.hello();
    const audit = await t.admin.request<{ items: Array<{ action: string; outcome: string; statusCode: number }> }>('GET', '/audit', {
      query: { action: 'agent.connect' },
    });
    // Anonymous refusals are sampled (one row per address a minute): both were counted, one was written.
    expect(audit.items.filter((entry) => entry.outcome === 'denied' && entry.statusCode === 401).length).toBeGreaterThanOrEqual(1);
  });

  it('ends a live session when its token is rotated or its workstation deleted', async () => {
    const rotated = await enrolledAgent('ws-live-rotate');
    await rotated.agent.hello();
    const rotatedClosed = closeCodeOf(rotated.agent.socket);
    await t.admin.rotateEnrollmentToken(rotated.workstationId);
    expect(await rotatedClosed).toBe(AgentCloseCode.revoked);
    await eventually(async () => (await t.admin.getWorkstation(rotated.workstationId)).status === 'offline', 5_000, 'offline');

    const deleted = await enrolledAgent('ws-live-delete');
    await deleted.agent.hello();
    const deletedClosed = closeCodeOf(deleted.agent.socket);
    await t.admin.deleteWorkstation(deleted.workstationId);
    expect(await deletedClosed).toBe(AgentCloseCode.revoked);
    expect(t.server.gateway.isOnline(deleted.workstationId)).toBe(false);
  });

  it('publishes workstation.updated when an operator changes a workstation', async () => {
    const { workstationId } = await enrolledAgent('ws-edit');
    const events = await EventsClient.open(t.url, { token: t.admin.currentToken ?? '', topics: 'workstation.updated' });
    await t.admin.updateWorkstation(workstationId, { name: 'ws-edited', tags: ['rack-b'] });
    const updated = await events.waitFor((event) => event.data.id === workstationId);
    expect(updated.data).toMatchObject({ id: workstationId, name: 'ws-edited' });
    events.close();
  });

  it('applies inventory: full replaces, diffs upsert and remove, a reused index is a new emulator', async () => {
    const { agent, workstationId } = await enrolledAgent('ws-inventory', ['lab']);
    await agent.hello();
    const events = await EventsClient.open(t.url, { token: t.admin.currentToken ?? '', topics: 'emulator.*' });
    agent.inventory([instance(0), instance(1), instance(2)], { full: true });
    const initial = await eventually(async () => {
      const list = await emulatorsOf(workstationId);
      return list.length === 3 && list;
    });
    const first = initial.find((emulator) => emulator.index === 1);
    expect(first).toMatchObject({
      workstationId,
      workstationName: 'ws-inventory',
      index: 1,
      name: 'LDPlayer-1',
      state: 'stopped',
      booted: false,
      pids: null,
      adbSerial: 'emulator-5556',
      settings: { cpu: 2, memoryMb: 2048, resolution: { width: 1280, height: 720, dpi: 240 } },
    });

    agent.inventory([instance(1, { state: 'running', booted: true, pids: { player: 100, vbox: 101 } })]);
    const stateEvent = await events.waitFor((event) => event.type === 'emulator.state' && event.data.id === first?.id);
    expect(stateEvent.data).toMatchObject({ state: 'running', booted: true, previousState: 'stopped', previousBooted: false });

    // Index 2 deleted and reused: a new generation is a new emulator.
    const before = initial.find((emulator) => emulator.index === 2);
    agent.inventory([instance(2, { generation: 'g2-reused', name: 'Fresh' })], { removed: [{ index: 2, generation: 'g2' }] });
    const created = await events.waitFor((event) => event.type === 'emulator.created' && event.data.name === 'Fresh');
    expect(created.data.id).not.toBe(before?.id);
    expect(events.events.some((event) => event.type === 'emulator.removed' && event.data.id === before?.id)).toBe(true);

    // A full inventory without index 0 removes it; unchanged index 1 makes no event.
    const countBefore = events.events.length;
    agent.inventory([instance(1, { state: 'running', booted: true, pids: { player: 100, vbox: 101 } }), instance(2, { generation: 'g2-reused', name: 'Fresh' })], {
      full: true,
    });
    await events.waitFor((event) => event.type === 'emulator.removed' && event.data.index === 0);
    const after = await emulatorsOf(workstationId);
    expect(after.map((emulator) => emulator.index).sort()).toEqual([1, 2]);
    expect(events.events.slice(countBefore).map((event) => event.type)).toEqual(['emulator.removed']);
    expect(await t.admin.getWorkstation(workstationId)).toMatchObject({ emulators: { total: 2, running: 1 } });

    const detail = await t.admin.request<Emulator>('GET', `/emulators/${first?.id ?? ''}`);
    expect(detail.settings).toEqual(instance(1).settings);
    events.close();
  });

  it('runs RPCs: results, agent errors, timeouts, offline and dropped sessions', async () => {
    const { agent, workstationId } = await enrolledAgent('ws-rpc');
    await expect(t.server.gateway.call(workstationId, 'inventory', {})).rejects.toMatchObject({ category: 'transport', code: 'agent_offline' });
    await agent.hello();
    agent.rpcHandler = (method, params) => {
      if (method === 'rename') return { ...instance(3), name: (params as { name: string }).name };
      if (method === 'remove') throw Object.assign(new Error("player don't exist!"), { category: 'ldconsole', code: 'not_found' });
      return new Promise(() => undefined);
    };
    const renamed = await t.server.gateway.call(workstationId, 'rename', { index: 3, name: 'New' }, { timeoutMs: 2000 });
    expect(renamed.name).toBe('New');
    const failure = await t.server.gateway.call(workstationId, 'remove', { index: 9 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RpcError);
    expect(failure).toMatchObject({ category: 'ldconsole', code: 'not_found', message: "player don't exist!" });
    await expect(t.server.gateway.call(workstationId, 'stop', { index: 0 }, { timeoutMs: 100 })).rejects.toMatchObject({
      category: 'timeout',
      code: 'rpc_timeout',
    });

    // The same id in flight is joined, not sent twice.
    const calls = [
      t.server.gateway.call(workstationId, 'shell', { index: 0, command: 'id' }, { id: 'op-1:1', timeoutMs: 5000 }),
      t.server.gateway.call(workstationId, 'shell', { index: 0, command: 'id' }, { id: 'op-1:1', timeoutMs: 5000 }),
    ];
    await eventually(() => agent.received.some((message) => message.type === 'rpc.call' && message.id === 'op-1:1'));
    const outcomes = Promise.allSettled(calls);
    await agent.close();
    for (const outcome of await outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { category: 'transport', code: 'disconnected' } });
    }
    expect(agent.received.filter((message) => message.type === 'rpc.call' && message.id === 'op-1:1')).toHaveLength(1);
  });

  it('streams a file in chunks the agent can reassemble', async () => {
    const { agent, workstationId } = await enrolledAgent('ws-file');
    await agent.hello();
    const content = Buffer.alloc(700 * 1024);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31) % 251;
    const { bytes } = await t.server.gateway.sendFile(workstationId, 'tx-1', Readable.from([content.subarray(0, 1000), content.subarray(1000)]));
    expect(bytes).toBe(content.length);
    const last = await agent.next((message) => message.type === 'file.chunk' && message.last);
    expect(last.type).toBe('file.chunk');
    const chunks = agent.received.filter((message) => message.type === 'file.chunk' && message.transferId === 'tx-1');
    expect(chunks.length).toBe(3);
    const joined = Buffer.concat(chunks.map((message) => Buffer.from(message.type === 'file.chunk' ? message.data : '', 'base64')));
    expect(joined.equals(content)).toBe(true);
  });

  it('replaces an older session of the same workstation', async () => {
    const { agent, workstationId, token } = await enrolledAgent('ws-replace');
    await agent.hello();
    const events = await EventsClient.open(t.url, { token: t.admin.currentToken ?? '', topics: 'workstation.offline' });
    const closed = closeCodeOf(agent.socket);
    const second = await FakeAgent.connect(t.url, token);
    agents.push(second);
    expect(await closed).toBe(AgentCloseCode.replaced);
    await second.hello();
    expect(t.server.gateway.isOnline(workstationId)).toBe(true);
    expect((await t.admin.getWorkstation(workstationId)).status).toBe('online');
    expect(events.events.filter((event) => event.data.id === workstationId)).toHaveLength(0);
    events.close();
  });

  it('closes a silent session within three heartbeats and marks the workstation offline', async () => {
    const { agent, workstationId } = await enrolledAgent('ws-silent');
    const events = await EventsClient.open(t.url, { token: t.admin.currentToken ?? '', topics: 'workstation.offline' });
    await agent.hello();
    agent.startHeartbeats(HEARTBEAT_MS / 2);
    const closed = closeCodeOf(agent.socket);
    agent.stopHeartbeats();
    const stoppedAt = Date.now();
    const offline = await events.waitFor((event) => event.data.id === workstationId, 10 * HEARTBEAT_MS);
    expect(Date.parse(offline.at) - stoppedAt).toBeLessThanOrEqual(4 * HEARTBEAT_MS);
    expect(await closed).toBe(AgentCloseCode.heartbeatTimeout);
    expect((await t.admin.getWorkstation(workstationId)).status).toBe('offline');
    events.close();
  });

  it('ignores bad frames and closes a session that keeps sending them', async () => {
    const { agent, workstationId } = await enrolledAgent('ws-garbage');
    await agent.hello();
    agent.startHeartbeats(HEARTBEAT_MS / 2);
    agent.sendRaw('not json');
    agent.sendRaw(JSON.stringify({ type: 'inventory', full: 'yes' }));
    agent.inventory([instance(0)], { full: true });
    await eventually(async () => (await emulatorsOf(workstationId)).length === 1);
    const closed = closeCodeOf(agent.socket);
    agent.sendRaw('{}');
    agent.sendRaw('[]');
    expect(await closed).toBe(AgentCloseCode.badFrames);
  });
});

describe('RpcError', () => {
  it('serialises to the action error model', () => {
    expect(JSON.parse(JSON.stringify(RpcError.agentOffline('w1')))).toEqual({
      category: 'transport',
      code: 'agent_offline',
      message: 'the agent of workstation w1 is not connected',
    });
  });
});
