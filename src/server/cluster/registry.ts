/**
 * The replica registry: each server process inserts a row and heartbeats it; a replica whose
 * heartbeat is older than the lease is dead. The lease is also that of every agent session the
 * replica owns (`workstations.owner_replica_id`), so one write per heartbeat renews them all.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { nowIso } from '../store/index.js';
import './schema.js';

export class ReplicaRegistry {
  /** When the heartbeats started succeeding without a gap (undefined while the last one failed). */
  private beatingSince: number | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readonly id: string,
    private readonly url: string | null,
    private readonly leaseMs: number,
    private readonly clock: () => number,
  ) {}

  async register(): Promise<void> {
    const now = nowIso(this.clock());
    await this.db.insertInto('replicas').values({ id: this.id, url: this.url, started_at: now, heartbeat_at: now }).execute();
    this.beatingSince = this.clock();
  }

  /**
   * Renews the lease. False when the row was gone (others took this replica for dead while its
   * database was out of reach): it is inserted again, and the caller reclaims its sessions.
   */
  async beat(): Promise<boolean> {
    const now = this.clock();
    try {
      const result = await this.db.updateTable('replicas').set({ heartbeat_at: nowIso(now) }).where('id', '=', this.id).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) {
        this.beatingSince ??= now;
        return true;
      }
      await this.db.insertInto('replicas').values({ id: this.id, url: this.url, started_at: nowIso(now), heartbeat_at: nowIso(now) }).execute();
      this.beatingSince ??= now;
      return false;
    } catch (error) {
      this.beatingSince = undefined;
      throw error;
    }
  }

  /** Ids of the replicas whose lease holds (this one included). */
  async live(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('replicas').select('id').where('heartbeat_at', '>=', this.cutoff()).execute();
    return new Set([this.id, ...rows.map((row) => row.id)]);
  }

  /**
   * Replicas whose lease has lapsed. None while this replica itself has not beaten for a whole
   * lease without a gap: after the database was out of reach, every replica's heartbeat is old,
   * and the others must get the chance to renew theirs before anyone is taken for dead.
   */
  async dead(): Promise<string[]> {
    if (this.beatingSince === undefined || this.clock() - this.beatingSince < this.leaseMs) return [];
    const rows = await this.db.selectFrom('replicas').select('id').where('heartbeat_at', '<', this.cutoff()).where('id', '!=', this.id).execute();
    return rows.map((row) => row.id);
  }

  /** Every other replica's row (SQLite: one process is the only replica, the others are gone). */
  async forgetOthers(): Promise<void> {
    await this.db.deleteFrom('replicas').where('id', '!=', this.id).execute();
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deleteFrom('replicas').where('id', 'in', [...ids]).execute();
    // Their streams are gone with them (the slots stopped counting when their lease lapsed).
    await this.db.deleteFrom('stream_slots').where('replica_id', 'in', [...ids]).execute();
  }

  private cutoff(): string {
    return nowIso(this.clock() - this.leaseMs);
  }
}
