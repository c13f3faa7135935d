/** Host metrics: CPU busy share since the last sample, memory, and the LDPlayer volume's disk space. */
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { Metrics } from '../protocol/index.js';

/** Cumulative CPU time over all cores, split into idle and total. */
export interface CpuTimes {
  readonly idle: number;
  readonly total: number;
}

export function cpuTimes(cpus: readonly os.CpuInfo[] = os.cpus()): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

/** Busy share between two readings, 0–100; 0 when no time passed (or the counters went back). */
export function cpuPercentBetween(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  const idle = after.idle - before.idle;
  if (total <= 0) return 0;
  return clamp(((total - idle) / total) * 100, 0, 100);
}

export interface MetricsSources {
  readonly cpuTimes: () => CpuTimes;
  readonly totalMemory: () => number;
  readonly freeMemory: () => number;
  /** Total and free bytes of the volume holding `dir`. */
  readonly disk: (dir: string) => Promise<{ totalBytes: number; freeBytes: number }>;
}

export const HOST_SOURCES: MetricsSources = {
  cpuTimes: () => cpuTimes(),
  totalMemory: () => os.totalmem(),
  freeMemory: () => os.freemem(),
  disk: async (dir) => {
    const stats = await statfs(dir);
    // bavail, not bfree: what an unprivileged process (LDPlayer) can still write.
    return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize };
  },
};

/** Samples metrics; each sample's CPU share covers the time since the previous one. */
export class MetricsSampler {
  private lastCpu: CpuTimes;

  constructor(
    private readonly volumeDir: string,
    private readonly sources: MetricsSources = HOST_SOURCES,
  ) {
    this.lastCpu = sources.cpuTimes();
  }

  async sample(): Promise<Metrics> {
    const cpu = this.sources.cpuTimes();
    const cpuPercent = cpuPercentBetween(this.lastCpu, cpu);
    this.lastCpu = cpu;
    const memoryTotalBytes = this.sources.totalMemory();
    const memoryUsedBytes = clamp(memoryTotalBytes - this.sources.freeMemory(), 0, memoryTotalBytes);
    const disk = await this.sources.disk(this.volumeDir).catch(() => ({ totalBytes: 0, freeBytes: 0 }));
    return { cpuPercent, memoryTotalBytes, memoryUsedBytes, diskTotalBytes: disk.totalBytes, diskFreeBytes: disk.freeBytes };
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
