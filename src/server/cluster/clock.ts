/**
 * The clock every replica reads its leases by: the database's. A heartbeat written by one
 * machine is judged by another, so with each machine's own clock a replica whose clock runs a
 * few seconds behind would be taken for dead by its peers (or a dead one kept alive). Each
 * heartbeat measures the offset of the local clock from PostgreSQL's; the lease times are the
 * local clock plus that offset, so they need no extra round trip. On SQLite there is one
 * process, and its own clock is the database's.
 */
import { sql } from 'kysely';
import type { Store } from '../store/index.js';

export class DatabaseClock {
  private offsetMs = 0;

  constructor(
    private readonly store: Store,
    private readonly local: () => number = Date.now,
  ) {}

  now(): number {
    return this.local() + this.offsetMs;
  }

  /** Measures the offset anew (PostgreSQL); the round trip's midpoint stands for the moment the database read its clock. */
  async sync(): Promise<void> {
    if (this.store.kind !== 'postgres') return;
    const before = this.local();
    const { rows } = await sql<{ ms: string }>`select floor(extract(epoch from clock_timestamp()) * 1000)::bigint::text as ms`.execute(this.store.db);
    const after = this.local();
    const databaseMs = Number(rows[0]?.ms);
    if (Number.isFinite(databaseMs)) this.offsetMs = databaseMs - (before + after) / 2;
  }
}
