import type { Generated, Kysely, Migration } from 'kysely';

/** One running server process on the shared database; it is alive while its heartbeat is fresher than the lease. */
export interface ReplicasTable {
  id: string;
  /** The base URL it advertises (`replicaUrl`), when configured. */
  url: string | null;
  started_at: string;
  heartbeat_at: string;
}

/**
 * A message too large for one NOTIFY payload (an event, a relayed read's result), fetched by id
 * by the other replicas and deleted after a minute.
 */
export interface ClusterEventsTable {
  id: string;
  payload: string;
  created_at: string;
}

/** A slot of a user (an open `/events` stream, a synchronous read in flight), held by a replica; it counts while that replica is alive. */
export interface StreamSlotsTable {
  id: string;
  /** `stream` or `read` (`user-slots.ts`). */
  kind: Generated<string>;
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

/** Event-stream slots counted across replicas (`user-slots.ts`; used on PostgreSQL). */
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

/** The slots of synchronous reads beside those of event streams: the kind of each slot. */
export const slotKindsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('stream_slots').addColumn('kind', 'text', (c) => c.notNull().defaultTo('stream')).execute();
  },
};
