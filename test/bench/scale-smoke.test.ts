/**
 * The scale bench (`npm run bench:scale`) at tiny sizes, so it cannot rot: every scenario runs
 * against real server processes, every figure comes out a finite number, and every process it
 * started is gone afterwards. No thresholds: figures are measured by the bench, not asserted here.
 */
import { describe, expect, it } from 'vitest';
import { runScaleBench, settingsFromEnv, SCENARIOS } from '../../bench/scale.js';
import { isAlive } from '../../bench/support/servers.js';

const TINY = {
  BENCH_BOOT_MS: '100',
  BENCH_BATCH1_WORKSTATIONS: '3',
  BENCH_BATCH1_PER_WORKSTATION: '10',
  BENCH_BATCH2_WORKSTATIONS: '2',
  BENCH_BATCH2_PER_WORKSTATION: '5',
  BENCH_LOAD_WORKSTATIONS: '3',
  BENCH_LOAD_EMULATORS: '30',
  BENCH_DASHBOARDS: '2',
  BENCH_CHANGES_PER_SECOND: '10',
  BENCH_LOAD_SECONDS: '1',
  BENCH_REPORT_MS: '200',
  BENCH_IDLE_AGENTS: '5',
  BENCH_IDLE_INSTANCES: '2',
  BENCH_IDLE_WINDOW_SECONDS: '1',
  BENCH_IDLE_SETTLE_MS: '200',
  BENCH_OPS_WORKSTATIONS: '3',
  BENCH_OPS_PER_WORKSTATION: '10',
  BENCH_SHELL_MS: '1',
};

describe('bench:scale smoke', () => {
  it('runs every scenario at tiny sizes, with every figure a finite number, and leaves no server running', async () => {
    const settings = settingsFromEnv(TINY);
    const results = await runScaleBench(settings);

    expect(new Set(results.figures.map((figure) => figure.scenario))).toEqual(new Set(SCENARIOS));
    for (const figure of results.figures) expect(Number.isFinite(figure.value), `${figure.name}: ${figure.value}`).toBe(true);
    expect(results.details.load?.changesSent).toBeGreaterThan(0);
    expect(results.details.throughput?.counts).toMatchObject({ succeeded: 30 });
    expect(results.loadAverage.start).toHaveLength(3);
    expect(results.serverPids.length).toBe(SCENARIOS.length);
    expect(results.serverPids.filter(isAlive)).toEqual([]);
  }, 180_000);
});
