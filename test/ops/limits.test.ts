/**
 * A batch start of 100 instances over 3 workstations honours each workstation's limits, read
 * back from the simulators' call logs: no two state-changing ldconsole calls overlap on a
 * host, never more than K instances boot at once; the server sends launches at least S apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/sim/index.js';
import { MUTATING_COMMANDS, startOpsFleet } from './helpers.js';
import type { OpsFleet } from './helpers.js';

const BOOT_MS = 300;
const SPECS = [
  { name: 'lim-a', count: 14, limits: { maxConcurrentBoots: 2, launchIntervalMs: 1200 } },
  { name: 'lim-b', count: 43, limits: { maxConcurrentBoots: 6, launchIntervalMs: 400 } },
  { name: 'lim-c', count: 43, limits: { maxConcurrentBoots: 8, launchIntervalMs: 250 } },
];
/**
 * Launch gaps are measured where the server sends each `start` call: the engine admits a boot
 * (the limit's clock), writes its progress and rpc id, then sends. A call re-sent with the same
 * rpc id (after a dropped session) is joined by the agent, not launched again, so only the first
 * send of each id counts. Between admission and send the server's event loop may stall on a
 * loaded machine, so a gap may come out shorter than S, by up to half of S here; a limit that
 * were not enforced shows gaps of ~0 and fails. (An exact check needs the engine's clock.)
 * The simulators' own stamps add the agent's per-call latency and are checked on average only.
 */
const allowedShrink = (launchIntervalMs: number) => launchIntervalMs / 2;

describe('per-workstation limits', () => {
  let fleet: OpsFleet;

  beforeAll(async () => {
    fleet = await startOpsFleet(
      'sqlite',
      SPECS.map((spec) => ({
        name: spec.name,
        limits: spec.limits,
        bootMs: BOOT_MS,
        seed: Array.from({ length: spec.count }, (_, i) => ({ name: `${spec.name}-${i}` })),
      })),
      {},
      // Three agents polling 100 instances every 200 ms would starve the 2-core CI of CPU.
      { gateway: { intervals: { heartbeatMs: 500, inventoryPollMs: 1000, metricsMs: 10_000 } } },
    );
  }, 60_000);
  afterAll(() => fleet?.close());

  it('starts 100 instances in one batch without breaking any limit', async () => {
    const sends = recordStartCalls(fleet);
    const emulators = await fleet.emulators();
    expect(emulators).toHaveLength(100);
    const batch = await fleet.t.admin.createBatch({ action: 'start', target: { ids: emulators.map((emulator) => emulator.id) } });
    expect(batch.total).toBe(100);
    // Generous: a safety net for a loaded machine, not a measure (the gaps are).
    const done = await fleet.waitBatch(batch.id, 200_000);
    expect(done.counts).toEqual({ queued: 0, running: 0, succeeded: 100, failed: 0, cancelled: 0 });

    for (const [i, spec] of SPECS.entries()) {
      const workstation = fleet.workstations[i];
      if (!workstation) throw new Error('missing workstation');
      const calls = workstation.home.calls();
      assertNoOverlappingMutations(calls);
      const launches = calls.filter((call) => call.command === 'launch').sort((a, b) => a.start - b.start);
      expect(launches).toHaveLength(spec.count);
      const sent = sends.get(workstation.id) ?? [];
      // At least one per instance; a start retried after a timeout is sent again, and is a launch too.
      expect(sent.length).toBeGreaterThanOrEqual(spec.count);
      const sendGaps = gapsOf(sent);
      expect(Math.min(...sendGaps), `${spec.name}: start calls sent closer than its launch interval`).toBeGreaterThanOrEqual(
        spec.limits.launchIntervalMs - allowedShrink(spec.limits.launchIntervalMs),
      );
      const gaps = gapsOf(launches.map((launch) => launch.start));
      expect(gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length).toBeGreaterThanOrEqual(spec.limits.launchIntervalMs);
      expect(maxConcurrentBoots(launches)).toBeLessThanOrEqual(spec.limits.maxConcurrentBoots);
    }
    const running = await fleet.emulators();
    expect(running.every((emulator) => emulator.state === 'running')).toBe(true);
  }, 240_000);
});

/** When (ms, this process's monotonic clock) the server first sent each `start` call id, per workstation. */
function recordStartCalls(fleet: OpsFleet): Map<string, number[]> {
  const sends = new Map<string, number[]>();
  const seen = new Set<string>();
  const gateway = fleet.t.server.gateway;
  const call = gateway.call.bind(gateway);
  // Observes the real call and passes it on unchanged.
  gateway.call = (workstationId, method, params, options) => {
    const id = options?.id;
    if (method === 'start' && (id === undefined || !seen.has(id))) {
      if (id !== undefined) seen.add(id);
      sends.set(workstationId, [...(sends.get(workstationId) ?? []), performance.now()]);
    }
    return call(workstationId, method, params, options);
  };
  return sends;
}

function gapsOf(times: readonly number[]): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.slice(1).map((time, i) => time - (sorted[i] ?? 0));
}

function assertNoOverlappingMutations(calls: CallRecord[]): void {
  const mutations = calls.filter((call) => MUTATING_COMMANDS.has(call.command)).sort((a, b) => a.start - b.start);
  for (let i = 1; i < mutations.length; i += 1) {
    const previous = mutations[i - 1];
    const current = mutations[i];
    if (!previous || !current) continue;
    expect(current.start, `${current.command} started before ${previous.command} ended`).toBeGreaterThanOrEqual(previous.end);
  }
}

/** Booting spans [launch end, launch start + boot time]: inside the real span whatever the process overhead. */
function maxConcurrentBoots(launches: CallRecord[]): number {
  const edges = launches.flatMap((launch) => [
    { at: launch.simEnd, delta: 1 },
    { at: launch.simStart + BOOT_MS, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const edge of edges) {
    current += edge.delta;
    max = Math.max(max, current);
  }
  return max;
}
