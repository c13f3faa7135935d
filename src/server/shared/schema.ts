import type { Kysely, Migration } from 'kysely';

/** One generated secret, encrypted with the secrets key (`secrets.ts`). */
export interface SecretsTable {
  name: string;
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url parts, AES-256-GCM with the name as associated data. */
  value: string;
  created_at: string;
}

/** A fixed-window counter shared by every replica (login throttling). */
export interface RateLimitsTable {
  key: string;
  hits: number;
  /** Epoch milliseconds at which the window ends (bigint on PostgreSQL). */
  window_ends_at: number | string;
}

declare module '../store/schema.js' {
  interface Database {
    secrets: SecretsTable;
    rate_limits: RateLimitsTable;
  }
}

/** The state replicas share: secrets and login counters. */
export const sharedStateMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('secrets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('rate_limits')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('hits', 'integer', (c) => c.notNull())
      .addColumn('window_ends_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rate_limits_window_ends_at').on('rate_limits').column('window_ends_at').execute();
  },
};
