/**
 * What agents say every few seconds (heartbeats, host metrics), kept in memory: the API and
 * the events read it from here, and the store gets it only on a change of status or at most
 * once per `persistEveryMs` per workstation, so 1,000 heartbeating agents are not 200 writes a
 * second.
 */
import type { Metrics } from '../../protocol/index.js';

/** How often at most a workstation's `last_seen_at` and `metrics` are written while it stays up. */
export const LIVENESS_PERSIST_MS = 60_000;

export interface LiveState {
  lastSeenAt: string;
  metrics: Metrics | null;
}

interface Entry extends LiveState {
  /** Clock time of the last write of this workstation's liveness to the store. */
  persistedAt: number;
  /** Metrics not in the store yet. */
  metricsDirty: boolean;
}

/** The columns to write now, or null when the store is recent enough. */
export interface LivenessWrite {
  last_seen_at: string;
  metrics?: string;
}

export class Liveness {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly persistEveryMs: number = LIVENESS_PERSIST_MS) {}

  /** The workstation's row was just written with `lastSeenAt` (hello, status change). */
  persisted(workstationId: string, lastSeenAt: string, at: number): void {
    const entry = this.entries.get(workstationId);
    this.entries.set(workstationId, { lastSeenAt, metrics: entry?.metrics ?? null, persistedAt: at, metricsDirty: false });
  }

  /** A heartbeat (no metrics) or a metrics report arrived; says what to write, if anything. */
  seen(workstationId: string, lastSeenAt: string, at: number, metrics?: Metrics): LivenessWrite | null {
    const entry = this.entries.get(workstationId) ?? { lastSeenAt, metrics: null, persistedAt: Number.NEGATIVE_INFINITY, metricsDirty: false };
    entry.lastSeenAt = lastSeenAt;
    if (metrics !== undefined) {
      entry.metrics = metrics;
      entry.metricsDirty = true;
    }
    this.entries.set(workstationId, entry);
    if (at - entry.persistedAt < this.persistEveryMs) return null;
    return this.take(entry, at);
  }

  /** What is not in the store yet, to write with a change of status; null when nothing is. */
  unwritten(workstationId: string, at: number): LivenessWrite | null {
    const entry = this.entries.get(workstationId);
    return entry ? this.take(entry, at) : null;
  }

  get(workstationId: string): LiveState | undefined {
    const entry = this.entries.get(workstationId);
    return entry ? { lastSeenAt: entry.lastSeenAt, metrics: entry.metrics } : undefined;
  }

  forget(workstationId: string): void {
    this.entries.delete(workstationId);
  }

  private take(entry: Entry, at: number): LivenessWrite {
    const write: LivenessWrite = { last_seen_at: entry.lastSeenAt };
    if (entry.metricsDirty && entry.metrics !== null) write.metrics = JSON.stringify(entry.metrics);
    entry.persistedAt = at;
    entry.metricsDirty = false;
    return write;
  }
}
