import type { Kysely, Migration } from 'kysely';

/** One running server process on the shared database; it is alive while its heartbeat is fresher than the lease. */
export interface ReplicasTable {
  id: string;
  /** The base URL it advertises (`replicaUrl`), when configured. */
  url: string | null;
  started_at: string;
  heartbeat_at: string;
}

/** An event too large for one NOTIFY payload, fetched by id by the other replicas and deleted after a minute. */
export interface ClusterEventsTable {
  id: string;
  payload: string;
  created_at: string;
}

/** An open `/events` stream of a user, held by a replica; it counts while that replica is alive. */
export interface StreamSlotsTable {
  id: string;
  user_id: string;
  replica_id: string;
  created_at: string;
}

declare module '../store/schema.js' {
  interface Database {
    replicas: ReplicasTable;
    cluster_events: ClusterEventsTable;
    stream_slots: StreamSlotsTable;
  }
}

/**
 * Replicas: their registry, the large-event table, the owner of each workstation's agent
 * session (`workstations.owner_replica_id`) and the replica running each operation.
 */
export const clusterMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('replicas')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text')
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('cluster_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('workstations').addColumn('owner_replica_id', 'text').execute();
    await db.schema.alterTable('operations').addColumn('replica_id', 'text').execute();
    await db.schema.createIndex('workstations_owner_replica_id').on('workstations').column('owner_replica_id').execute();
  },
};

/** Event-stream slots counted across replicas (`stream-slots.ts`; used on PostgreSQL). */
export const streamSlotsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('stream_slots')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('replica_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('stream_slots_user_id').on('stream_slots').column('user_id').execute();
    await db.schema.createIndex('stream_slots_replica_id').on('stream_slots').column('replica_id').execute();
  },
};
