import { describe, expect, it } from 'vitest';
import { cpuPercentBetween, MetricsSampler, type CpuTimes } from '../../src/agent/metrics.js';
import { MetricsSchema } from '../../src/protocol/index.js';
import { Value } from '@sinclair/typebox/value';

describe('metrics', () => {
  it('computes CPU busy share from counter deltas', () => {
    expect(cpuPercentBetween({ idle: 100, total: 200 }, { idle: 150, total: 400 })).toBe(75);
    expect(cpuPercentBetween({ idle: 100, total: 200 }, { idle: 100, total: 200 })).toBe(0);
  });

  it('samples from its sources and never reports a failed disk as an error', async () => {
    const readings: CpuTimes[] = [{ idle: 0, total: 0 }, { idle: 90, total: 100 }];
    const sampler = new MetricsSampler('/nowhere', {
      cpuTimes: () => readings.shift() ?? { idle: 90, total: 100 },
      totalMemory: () => 16e9,
      freeMemory: () => 4e9,
      disk: () => Promise.reject(new Error('ENOENT')),
    });
    expect(await sampler.sample()).toEqual({ cpuPercent: 10, memoryTotalBytes: 16e9, memoryUsedBytes: 12e9, diskTotalBytes: 0, diskFreeBytes: 0 });
  });

  it('reads this host and fits the protocol schema', async () => {
    const metrics = await new MetricsSampler(process.cwd()).sample();
    expect(Value.Check(MetricsSchema, metrics)).toBe(true);
    expect(metrics.diskTotalBytes).toBeGreaterThan(0);
  });
});
