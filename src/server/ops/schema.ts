import type { Kysely, Migration } from 'kysely';
import { batchStatusOf, emptyCounts } from './types.js';
import type { OperationStatus } from './types.js';

/**
 * One operation. `rpc_id` is the id of the agent call whose outcome the engine does not know
 * yet: it is set before the call is sent and cleared when the outcome is recorded, so after a
 * crash or a lost connection the same id is sent again and the agent joins or replays it.
 */
export interface OperationsTable {
  id: string;
  action: string;
  status: string;
  /** Which of the workstation's limits it competes for: `boot`, `mutation` or `read`. */
  lane: string;
  emulator_id: string | null;
  workstation_id: string;
  batch_id: string | null;
  /** JSON object. */
  params: string;
  attempts: number;
  /** JSON, or null. */
  result: string | null;
  /** JSON `{category, code, message}`, or null. */
  error: string | null;
  progress: string | null;
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  cancel_requested: number;
  /** A retry waits in `queued` until this time (ISO-8601); null = at once. */
  not_before: string | null;
  rpc_id: string | null;
  /** The instance the operation was made for: (index, generation) identify it even if its emulator id changed. */
  target_index: number | null;
  target_generation: string | null;
  /** Why it is still queued (`WaitingReason`), with a message and since when (ISO-8601); null otherwise. */
  waiting_reason: string | null;
  waiting_message: string | null;
  waiting_since: string | null;
  /** The request's own grace for an offline workstation; null = the server's `offlineGraceMs`. */
  offline_grace_ms: number | null;
  /** The id of the user who asked for it (their cap of unfinished operations); null before 0008. */
  owner_id: string | null;
  /**
   * The replica that claimed (or took over) the running attempt (the cluster unit's migration
   * 0011): one that is alive is never resumed by another.
   */
  replica_id?: string | null;
}

export interface BatchesTable {
  id: string;
  action: string;
  params: string;
  target: string;
  total: number;
  created_by: string;
  created_at: string;
  finished_at: string | null;
  /** `BatchStatus`, written when the batch's children change (for list filters). */
  status: string;
  /** 1 once the batch was cancelled as a whole. */
  cancel_requested: number;
  /** JSON object: the params every child shares, stored once (children keep only their own); null = none. */
  child_params: string | null;
}

/** A replayed POST with the same key returns the stored operation or batch. */
export interface IdempotencyKeysTable {
  principal: string;
  key: string;
  request_hash: string;
  kind: string;
  resource_id: string;
  created_at: string;
}

declare module '../store/schema.js' {
  interface Database {
    operations: OperationsTable;
    batches: BatchesTable;
    idempotency_keys: IdempotencyKeysTable;
    upload_files: UploadFilesTable;
    upload_chunks: UploadChunksTable;
  }
}

/**
 * An uploaded APK kept in PostgreSQL so every replica can send it (`uploads.ts`,
 * `DatabaseUploads`); SQLite keeps uploads as files and leaves these tables empty.
 */
export interface UploadFilesTable {
  transfer_id: string;
  /** Bytes written so far (all of them once `complete`); the quota sums this column. */
  bytes: number | string;
  /** 1 once the whole upload is written. */
  complete: number;
  /** Epoch ms of the last chunk written: a streaming upload is never taken for an orphan (bigint). */
  updated_at: number | string;
}

/** The bytes of an upload, in order of `seq`, about 1 MiB each. */
export interface UploadChunksTable {
  transfer_id: string;
  seq: number;
  data: Buffer;
}

export const operationsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('batches')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('total', 'integer', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();

    await db.schema
      .createTable('operations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('lane', 'text', (c) => c.notNull())
      // No foreign key: an operation outlives the emulator it deleted.
      .addColumn('emulator_id', 'text')
      .addColumn('workstation_id', 'text', (c) => c.notNull().references('workstations.id').onDelete('cascade'))
      .addColumn('batch_id', 'text', (c) => c.references('batches.id').onDelete('cascade'))
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('result', 'text')
      .addColumn('error', 'text')
      .addColumn('progress', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('not_before', 'text')
      .addColumn('rpc_id', 'text')
      .execute();
    // The dispatcher's claim query, then one index per list filter (each ends in id for keyset pages).
    await db.schema.createIndex('operations_claim').on('operations').columns(['workstation_id', 'status', 'lane', 'id']).execute();
    await db.schema.createIndex('operations_status_id').on('operations').columns(['status', 'id']).execute();
    await db.schema.createIndex('operations_batch_status').on('operations').columns(['batch_id', 'status']).execute();
    await db.schema.createIndex('operations_emulator_id').on('operations').columns(['emulator_id', 'id']).execute();

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('principal', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('resource_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['principal', 'key'])
      .execute();
  },
};

/** The target instance's identity on each operation (see `target_index`). */
export const operationTargetMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('operations').addColumn('target_index', 'integer').execute();
    await db.schema.alterTable('operations').addColumn('target_generation', 'text').execute();
  },
};

/**
 * Why queued operations wait (and a per-request offline grace), and batch status as a column
 * for list filters. Existing batches get their status from their children.
 */
export const operationWaitingMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('operations').addColumn('waiting_reason', 'text').execute();
    await db.schema.alterTable('operations').addColumn('waiting_message', 'text').execute();
    await db.schema.alterTable('operations').addColumn('waiting_since', 'text').execute();
    await db.schema.alterTable('operations').addColumn('offline_grace_ms', 'integer').execute();
    await db.schema.alterTable('batches').addColumn('status', 'text', (c) => c.notNull().defaultTo('queued')).execute();
    await db.schema.alterTable('batches').addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.createIndex('batches_status_id').on('batches').columns(['status', 'id']).execute();
    await db.schema.createIndex('batches_action_id').on('batches').columns(['action', 'id']).execute();
    const typed = db as unknown as Kysely<{ batches: BatchesTable; operations: OperationsTable }>;
    const batches = await typed.selectFrom('batches').select(['id', 'total']).execute();
    for (const batch of batches) {
      const rows = await typed
        .selectFrom('operations')
        .select((eb) => ['status', eb.fn.countAll<number | string | bigint>().as('n')])
        .where('batch_id', '=', batch.id)
        .groupBy('status')
        .execute();
      const counts = emptyCounts();
      for (const row of rows) counts[row.status as OperationStatus] = Number(row.n);
      await typed.updateTable('batches').set({ status: batchStatusOf(counts, Number(batch.total), false) }).where('id', '=', batch.id).execute();
    }
  },
};

/**
 * Params a batch's children share are stored once, in the batch (`child_params`); children keep
 * only what differs (a 10,000-target shell batch wrote its command 10,000 times). Existing
 * batches whose children all have the same params are folded the same way. Operations record
 * their owner's id for the per-user cap; unfinished ones get it from their creator's name.
 */
export const batchParamsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('batches').addColumn('child_params', 'text').execute();
    await db.schema.alterTable('operations').addColumn('owner_id', 'text').execute();
    await db.schema.createIndex('operations_owner_status').on('operations').columns(['owner_id', 'status']).execute();
    const typed = db as unknown as Kysely<{ batches: BatchesTable; operations: OperationsTable; users: { id: string; username: string } }>;
    const batches = await typed.selectFrom('batches').select('id').execute();
    for (const batch of batches) {
      const distinct = await typed.selectFrom('operations').select('params').distinct().where('batch_id', '=', batch.id).limit(2).execute();
      const [only] = distinct;
      if (distinct.length !== 1 || !only) continue;
      await typed.updateTable('batches').set({ child_params: only.params }).where('id', '=', batch.id).execute();
      await typed.updateTable('operations').set({ params: '{}' }).where('batch_id', '=', batch.id).execute();
    }
    await typed
      .updateTable('operations')
      .set((eb) => ({ owner_id: eb.selectFrom('users').select('users.id').whereRef('users.username', '=', 'operations.created_by').limit(1) }))
      .where('status', 'in', ['queued', 'running'])
      .execute();
  },
};

/** Uploaded APKs in the database (used on PostgreSQL, where every replica must reach them). */
export const uploadsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('upload_files')
      .addColumn('transfer_id', 'text', (c) => c.primaryKey())
      .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('complete', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('upload_chunks')
      .addColumn('transfer_id', 'text', (c) => c.notNull().references('upload_files.transfer_id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('data', 'bytea', (c) => c.notNull())
      .addPrimaryKeyConstraint('upload_chunks_pk', ['transfer_id', 'seq'])
      .execute();
  },
};
