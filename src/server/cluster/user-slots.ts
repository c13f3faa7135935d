/**
 * Slots of a user that every replica counts, so a per-user cap (`eventsMaxStreamsPerUser`,
 * `maxConcurrentReadsPerUser`) holds across replicas and not per process. A slot is a row of
 * `stream_slots` of one kind with the replica that holds it; it counts while that replica's
 * lease does (a join on `replicas`), so the heartbeat that renews the replica's sessions renews
 * its slots too, and a dead replica's slots stop counting at once (their rows go when the
 * replica is forgotten).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { SharedSlots } from '../events/index.js';
import type { Database } from '../store/index.js';
import { nowIso } from '../store/index.js';
import './schema.js';

export type SlotKind = 'stream' | 'read';

export class UserSlots implements SharedSlots {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: SlotKind,
    private readonly replicaId: string,
    private readonly leaseMs: number,
    private readonly onError: (error: unknown, message: string) => void,
    private readonly clock: () => number,
  ) {}

  /** Under a transaction lock on the user and kind, so two replicas admitting the user's slots count one after the other. */
  async acquire(userId: string, max: number): Promise<string | null> {
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${`ldfleet-${this.kind}-slots:${userId}`}))`.execute(trx);
      const row = await trx
        .selectFrom('stream_slots')
        .innerJoin('replicas', 'replicas.id', 'stream_slots.replica_id')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('stream_slots.user_id', '=', userId)
        .where('stream_slots.kind', '=', this.kind)
        .where('replicas.heartbeat_at', '>=', nowIso(this.clock() - this.leaseMs))
        .executeTakeFirstOrThrow();
      if (Number(row.n) >= max) return null;
      const id = randomUUID();
      await trx.insertInto('stream_slots').values({ id, kind: this.kind, user_id: userId, replica_id: this.replicaId, created_at: nowIso(this.clock()) }).execute();
      return id;
    });
  }

  release(slotId: string): void {
    this.db
      .deleteFrom('stream_slots')
      .where('id', '=', slotId)
      .execute()
      .catch((error: unknown) => this.onError(error, `could not release a ${this.kind} slot (it stops counting when this replica leaves)`));
  }
}
