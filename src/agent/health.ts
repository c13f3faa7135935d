/**
 * Whether this agent can do its job. A connected agent that cannot (its install dir unreadable,
 * list2 failing poll after poll, the disk nearly full, adb servers fighting) tells the server
 * with a `status` message, and the server shows the workstation `degraded` with the reason.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Metrics, StatusMessage } from '../protocol/index.js';

/** The reasons an agent reports, most severe first (the first that holds is the one shown). */
export const HEALTH_REASONS = ['install_dir_unreadable', 'list2_failing', 'adb_conflict', 'disk_low'] as const;
export type HealthReason = (typeof HEALTH_REASONS)[number];

export interface HealthOptions {
  /** list2 failures in a row that make the agent degraded. */
  readonly list2Failures?: number;
  /** Free bytes on the LDPlayer volume under which the disk counts as nearly full. */
  readonly diskLowBytes?: number;
  /** ... or this share of the volume, whichever is larger. */
  readonly diskLowRatio?: number;
}

const DEFAULT_LIST2_FAILURES = 3;
const DEFAULT_DISK_LOW_BYTES = 2 * 1024 ** 3;
const DEFAULT_DISK_LOW_RATIO = 0.03;

export class AgentHealth {
  private readonly problems = new Map<HealthReason, string>();
  private list2FailuresInARow = 0;
  private readonly limits: Required<HealthOptions>;

  constructor(options: HealthOptions = {}) {
    this.limits = {
      list2Failures: options.list2Failures ?? DEFAULT_LIST2_FAILURES,
      diskLowBytes: options.diskLowBytes ?? DEFAULT_DISK_LOW_BYTES,
      diskLowRatio: options.diskLowRatio ?? DEFAULT_DISK_LOW_RATIO,
    };
  }

  /** The message the server gets: the most severe problem, or null/null when healthy. */
  status(): StatusMessage {
    for (const reason of HEALTH_REASONS) {
      const message = this.problems.get(reason);
      if (message !== undefined) return { type: 'status', reason, message: message.slice(0, 1024) };
    }
    return { type: 'status', reason: null, message: null };
  }

  set(reason: HealthReason, message: string | undefined): void {
    if (message === undefined) this.problems.delete(reason);
    else this.problems.set(reason, message);
  }

  list2Succeeded(): void {
    this.list2FailuresInARow = 0;
    this.set('list2_failing', undefined);
  }

  list2Failed(error: string): void {
    this.list2FailuresInARow += 1;
    if (this.list2FailuresInARow >= this.limits.list2Failures) {
      this.set('list2_failing', `ldconsole list2 failed ${this.list2FailuresInARow} times in a row; last: ${error}`);
    }
  }

  metricsSampled(metrics: Metrics): void {
    if (metrics.diskTotalBytes <= 0) return;
    const floor = Math.max(this.limits.diskLowBytes, metrics.diskTotalBytes * this.limits.diskLowRatio);
    const low = metrics.diskFreeBytes < floor;
    const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);
    this.set('disk_low', low ? `only ${gib(metrics.diskFreeBytes)} GiB of ${gib(metrics.diskTotalBytes)} GiB free on the LDPlayer volume` : undefined);
  }
}

/**
 * Why the install dir cannot serve the agent, or undefined when `vms/config` is readable. The
 * message names the folder looked in and the flag that points the agent elsewhere.
 */
export async function installDirProblem(installDir: string): Promise<string | undefined> {
  const configDir = path.join(installDir, 'vms', 'config');
  try {
    await readdir(configDir);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
    return `${configDir} ${what}: the instances' configs are not where the agent looks; pass --ldplayer-dir <the folder that holds vms/config>`;
  }
}
