/**
 * Per-workstation admission: what may start on one workstation now. LDPlayer misbehaves when
 * mutations overlap and when many instances boot at once, so each workstation has
 *  - one mutation lane: one state-changing ldconsole call in flight at a time;
 *  - K boot slots: at most K instances between `launch` and `sys.boot_completed`;
 *  - a launch interval: at least S ms between two launches;
 *  - a bound on parallel reads (shell, screenshots), which do not touch the lane.
 * Lanes are independent, so a busy or failing workstation never slows another.
 */
import type { ActionClass, WaitingReason } from './types.js';

export interface WorkstationLimits {
  maxConcurrentBoots: number;
  launchIntervalMs: number;
  maxParallelReads: number;
}

export const DEFAULT_LIMITS: WorkstationLimits = { maxConcurrentBoots: 2, launchIntervalMs: 2000, maxParallelReads: 8 };

/** Reads a workstation's stored `limits` JSON over the server's defaults, ignoring junk. */
export function resolveLimits(stored: unknown, defaults: WorkstationLimits): WorkstationLimits {
  const limits = (stored ?? {}) as Record<string, unknown>;
  const positiveInt = (value: unknown, fallback: number, min: number) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min ? value : fallback;
  return {
    maxConcurrentBoots: positiveInt(limits.maxConcurrentBoots, defaults.maxConcurrentBoots, 1),
    launchIntervalMs: positiveInt(limits.launchIntervalMs, defaults.launchIntervalMs, 0),
    maxParallelReads: defaults.maxParallelReads,
  };
}

/** A granted place in the lane; `release` is idempotent. */
export interface Admission {
  readonly kind: ActionClass;
  /** The lane's launch interval when admitted: a start never holds the lane longer. */
  readonly launchIntervalMs: number;
  /** Frees the mutation lane early (a start frees it once its launch went out). */
  releaseLane(): void;
  release(): void;
}

export class WorkstationLane {
  private laneBusy = false;
  private booting = 0;
  private reads = 0;
  private lastLaunchAt = Number.NEGATIVE_INFINITY;

  constructor(public limits: WorkstationLimits) {}

  /** 0 when `kind` may start now; else ms to wait (Infinity = until something is released). */
  waitFor(kind: ActionClass, now: number): number {
    if (kind === 'read') return this.reads < this.limits.maxParallelReads ? 0 : Number.POSITIVE_INFINITY;
    if (this.laneBusy) return Number.POSITIVE_INFINITY;
    if (kind === 'mutation') return 0;
    if (this.booting >= this.limits.maxConcurrentBoots) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.lastLaunchAt + this.limits.launchIntervalMs - now);
  }

  /** How many of `kind` may start now, one after the other (only reads run more than one at a time). */
  admissible(kind: ActionClass, now: number): number {
    if (this.waitFor(kind, now) !== 0) return 0;
    return kind === 'read' ? this.limits.maxParallelReads - this.reads : 1;
  }

  /** Why `kind` cannot start now (when `waitFor` is not 0), for the operations that wait. */
  whyWaiting(kind: ActionClass, now: number): { reason: WaitingReason; message: string } | undefined {
    if (this.waitFor(kind, now) === 0) return undefined;
    if (kind === 'read') return { reason: 'read_slots', message: `${this.limits.maxParallelReads} reads are running on the workstation` };
    // For boots, the boot limits first: a launch holds the lane briefly, and naming that would
    // flip the reason of every waiting start once more per launch.
    if (kind === 'boot' && this.booting >= this.limits.maxConcurrentBoots) {
      return { reason: 'boot_slot', message: `${this.booting} of ${this.limits.maxConcurrentBoots} boot slots are in use` };
    }
    if (kind === 'boot' && this.lastLaunchAt + this.limits.launchIntervalMs > now) {
      return { reason: 'launch_interval', message: `launches on this workstation are ${this.limits.launchIntervalMs} ms apart` };
    }
    return { reason: 'mutation_lane', message: 'another state-changing call is running on the workstation' };
  }

  /** Takes the place `waitFor` said is free; the caller checked `waitFor(kind) === 0`. */
  admit(kind: ActionClass, now: number): Admission {
    let laneHeld = kind !== 'read';
    let held = true;
    if (kind === 'read') this.reads += 1;
    else this.laneBusy = true;
    if (kind === 'boot') {
      this.booting += 1;
      this.lastLaunchAt = now;
    }
    const releaseLane = () => {
      if (!laneHeld) return;
      laneHeld = false;
      this.laneBusy = false;
    };
    return {
      kind,
      launchIntervalMs: this.limits.launchIntervalMs,
      releaseLane,
      release: () => {
        releaseLane();
        if (!held) return;
        held = false;
        if (kind === 'read') this.reads -= 1;
        if (kind === 'boot') this.booting -= 1;
      },
    };
  }
}
