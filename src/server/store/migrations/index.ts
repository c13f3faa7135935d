import type { Migration } from 'kysely';
import { coreMigration } from './0001_core.js';

export interface NamedMigration {
  /** Applied in list order; Kysely also sorts by name, so names start with a zero-padded number. */
  readonly name: string;
  readonly migration: Migration;
}

/**
 * The store's own schema (users, sessions, tokens, workstations, audit). The units' migrations
 * are listed with it by the server's assembly (`src/server/migrations.ts`), so the store never
 * imports the units that build on it.
 */
export const coreMigrations: readonly NamedMigration[] = [{ name: '0001_core', migration: coreMigration }];

export { auditChangesMigration } from './0006_audit_changes.js';
