/**
 * Faults: a hanging ldconsole times out (and is retried, being safe to repeat); a workstation
 * whose every call hangs opens its breaker while another workstation finishes at full speed;
 * a running operation can be cancelled; a dropped agent connection mid-operation is recovered
 * by re-sending the same rpc id, which the agent joins.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { Agent } from '../../src/agent/index.js';
import type { Emulator } from '../../src/server/fleet/index.js';
import type { Operation } from '../../src/sdk/index.js';
import { SIM_BIN } from '../../src/sim/index.js';
import { killSimProcesses } from '../support/processes.js';
import { eventually, startOpsFleet } from './helpers.js';
import type { OpsFleet } from './helpers.js';

const BREAKER_FAILURES = 3;
const ACTION_TIMEOUT_MS = 2500;
const GOOD_BOOT_SLOTS = 4;

/** An operation's [started, finished] on the server's clock (ms). */
function spanOf(operation: Operation): [number, number] {
  if (!operation.startedAt || !operation.finishedAt) throw new Error(`operation ${operation.id} has no start or finish time`);
  return [Date.parse(operation.startedAt), Date.parse(operation.finishedAt)];
}

function within(at: number, from: number, to: number): boolean {
  return at >= from && at <= to;
}

describe('faults', () => {
  let fleet: OpsFleet;
  let good: string;
  let bad: string;
  const emulatorsOf = async (workstationId: string) => fleet.emulators(workstationId);
  const named = async (workstationId: string, name: string): Promise<Emulator> => {
    const found = (await emulatorsOf(workstationId)).find((emulator) => emulator.name === name);
    if (!found) throw new Error(`no emulator ${name}`);
    return found;
  };

  beforeAll(async () => {
    fleet = await startOpsFleet(
      'sqlite',
      [
        {
          name: 'fault-good',
          limits: { maxConcurrentBoots: GOOD_BOOT_SLOTS, launchIntervalMs: 0 },
          seed: [
            { name: 'hang-rename' },
            { name: 'cancel-me' },
            { name: 'drop-me' },
            { name: 'vanish' },
            ...Array.from({ length: 8 }, (_, i) => ({ name: `good-${i}` })),
          ],
        },
        { name: 'fault-bad', limits: { maxConcurrentBoots: 2, launchIntervalMs: 0 }, seed: Array.from({ length: 8 }, (_, i) => ({ name: `bad-${i}` })) },
      ],
      {
        actionTimeoutMs: ACTION_TIMEOUT_MS,
        bootTimeoutMs: 15_000,
        retryMaxAttempts: 2,
        retryBaseDelayMs: 50,
        breakerFailures: BREAKER_FAILURES,
        breakerHalfOpenMs: 60_000,
      },
      { gateway: { rpcGraceMs: 300, intervals: { heartbeatMs: 300, inventoryPollMs: 300, metricsMs: 10_000 } } },
    );
    [good, bad] = fleet.workstations.map((workstation) => workstation.id) as [string, string];
  }, 60_000);
  afterAll(() => fleet?.close());

  it('times out a hanging ldconsole call, retries it once, then fails with timeout', async () => {
    const home = fleet.workstations[0]?.home;
    const target = await named(good, 'hang-rename');
    home?.setFaults([{ command: 'rename', index: target.index, hang: true }]);
    try {
      const operation = await fleet.waitOperation((await fleet.t.admin.updateEmulator(target.id, { name: 'renamed' })).id, undefined, 20_000);
      expect(operation.status).toBe('failed');
      expect(operation.error?.category).toBe('timeout');
      expect(operation.attempts).toBe(2);
    } finally {
      home?.clearFaults();
      // The test hung these; it ends them, whatever the agent did with them.
      if (home) await killSimProcesses(home.dir, / rename /);
    }
  });

  it('cancels a running operation: it stops waiting and is not retried', async () => {
    const home = fleet.workstations[0]?.home;
    const target = await named(good, 'cancel-me');
    home?.setFaults([{ command: 'launch', index: target.index, delayMs: 3000 }]);
    try {
      const queued = await fleet.t.admin.emulatorAction(target.id, 'start');
      await fleet.waitOperation(queued.id, (operation) => operation.status === 'running');
      const requested = await fleet.t.admin.cancelOperation(queued.id);
      expect(requested.status === 'running' || requested.status === 'cancelled').toBe(true);
      const operation = await fleet.waitOperation(queued.id, undefined, 5000);
      expect(operation.status).toBe('cancelled');
      // No attempt after the cancel request.
      expect(operation.attempts).toBe(requested.attempts);
    } finally {
      home?.clearFaults();
    }
  });

  it('recovers an operation whose agent connection dropped mid-call: the same rpc id is joined, the launch runs once', async () => {
    const workstation = fleet.workstations[0];
    if (!workstation) throw new Error('no workstation');
    const target = await named(good, 'drop-me');
    workstation.home.setFaults([{ command: 'launch', index: target.index, delayMs: 1500 }]);
    try {
      const queued = await fleet.t.admin.emulatorAction(target.id, 'start');
      await fleet.waitOperation(queued.id, (operation) => operation.status === 'running');
      // The network drops: the socket dies without a close handshake; the agent redials by itself.
      socketOf(workstation.agent).terminate();
      const operation = await fleet.waitOperation(queued.id, undefined, 20_000);
      expect(operation.status, JSON.stringify(operation.error)).toBe('succeeded');
      const launches = workstation.home.calls().filter((call) => call.command === 'launch' && call.index === target.index);
      expect(launches).toHaveLength(1);
    } finally {
      workstation.home.clearFaults();
    }
  });

  it('answers 503 for a screenshot while the agent is away; fails an operation on an emulator removed meanwhile with conflict/emulator_gone', async () => {
    const workstation = fleet.workstations[0];
    if (!workstation) throw new Error('no workstation');
    const target = await named(good, 'vanish');
    await workstation.agent.stop();
    await eventually(() => !fleet.t.server.gateway.isOnline(good), 10_000, 'agent offline');
    const screenshot = await fleet.t.admin.screenshot(target.id).then(
      () => undefined,
      (error: unknown) => error as { status?: number; code?: string },
    );
    expect(screenshot).toMatchObject({ status: 503, code: 'workstation_offline' });
    const queued = await fleet.t.admin.emulatorAction(target.id, 'start');
    // Removed behind ldfleet's back while its agent was away.
    await promisify(execFile)(SIM_BIN, ['remove', '--index', String(target.index)], { env: workstation.home.env() });
    workstation.agent = fleet.startAgent(workstation);
    const operation = await fleet.waitOperation(queued.id, undefined, 20_000);
    expect(operation.status).toBe('failed');
    expect(operation.error).toMatchObject({ category: 'conflict', code: 'emulator_gone' });
  });

  it('opens the breaker of a workstation whose every call hangs, while the other finishes at full speed', async () => {
    const badHome = fleet.workstations[1]?.home;
    badHome?.setFaults([{ command: '*', hang: true }]);
    try {
      const goodTargets = (await emulatorsOf(good)).filter((emulator) => emulator.name.startsWith('good-'));
      const badTargets = await emulatorsOf(bad);
      // Renames: one ldconsole call each, so each failure costs one call timeout.
      const badBatch = await fleet.t.admin.createBatch({ action: 'rename', target: { ids: badTargets.map((emulator) => emulator.id) }, params: { name: 'renamed' } });
      const goodBatch = await fleet.t.admin.createBatch({ action: 'start', target: { ids: goodTargets.map((emulator) => emulator.id) } });

      const goodDone = await fleet.waitBatch(goodBatch.id, 60_000);
      expect(goodDone.counts.succeeded).toBe(goodTargets.length);

      const badDone = await fleet.waitBatch(badBatch.id, 90_000);
      expect(badDone.counts.failed).toBe(badTargets.length);
      const failures = await fleet.t.admin.all((page) => fleet.t.admin.listOperations({ ...page, batch: badBatch.id }));
      const categories = failures.map((operation: Operation) => operation.error?.category);
      expect(categories.every((category) => category === 'timeout' || category === 'circuit_open')).toBe(true);
      expect(categories.filter((category) => category === 'circuit_open').length).toBeGreaterThan(0);
      // Full speed: the good workstation's first boots (as many as its boot slots) started while
      // a call of the bad one hung. Workstations that waited for each other could start none of
      // them then. Judged from the server's own timestamps, so a slow machine does not change the
      // verdict (the old `< 30 s` came after a wait that itself gave up at 30 s).
      const hung = failures.filter((operation) => operation.error?.category === 'timeout').map(spanOf);
      expect(hung.length).toBeGreaterThanOrEqual(1);
      const goodOperations = await fleet.t.admin.all((page) => fleet.t.admin.listOperations({ ...page, batch: goodBatch.id }));
      const beside = goodOperations.filter((operation) => hung.some(([from, to]) => within(spanOf(operation)[0], from, to)));
      expect(beside.length, 'good starts that ran while a bad call hung').toBeGreaterThanOrEqual(GOOD_BOOT_SLOTS);

      expect((await fleet.t.admin.getWorkstation(bad)).breaker).toBe('open');
      expect((await fleet.t.admin.getWorkstation(good)).breaker).toBe('closed');
      const metrics = await (await fetch(`${fleet.t.url}/metrics`)).text();
      expect(metrics).toContain(`ldfleet_workstation_breaker_state{workstation="${bad}"} 2`);
      badHome?.clearFaults();
      await eventually(async () => {
        const retried = await fleet.t.admin.updateEmulator(badTargets[0]?.id ?? '', { name: 'probe' });
        const operation = await fleet.waitOperation(retried.id);
        return operation.error?.category === 'circuit_open' ? operation : undefined;
      }, 5000, 'an open breaker refusing calls at once');
    } finally {
      // Every call of the bad workstation hung (inventory polls too): the test ends them.
      badHome?.clearFaults();
      if (badHome) await killSimProcesses(badHome.dir);
    }
  }, 150_000);
});

/** The agent's live socket (test-only reach into its connection, to simulate a network drop). */
function socketOf(agent: Agent): WebSocket {
  const socket = (agent as unknown as { connection: { socket?: WebSocket } }).connection.socket;
  if (!socket) throw new Error('the agent has no socket');
  return socket;
}
