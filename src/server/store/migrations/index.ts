import type { Migration } from 'kysely';
import { coreMigration } from './0001_core.js';
import { auditChangesMigration } from './0005_audit_changes.js';
import { emulatorsMigration } from '../../fleet/schema.js';
import { operationTargetMigration, operationsMigration } from '../../ops/schema.js';

export interface NamedMigration {
  /** Applied in list order; Kysely also sorts by name, so names start with a zero-padded number. */
  readonly name: string;
  readonly migration: Migration;
}

/**
 * Every schema change, oldest first. Append new migrations at the end (never edit an applied
 * one): `{ name: '0002_emulators', migration: emulatorsMigration }`.
 */
export const migrations: readonly NamedMigration[] = [
  { name: '0001_core', migration: coreMigration },
  { name: '0002_emulators', migration: emulatorsMigration },
  { name: '0003_operations', migration: operationsMigration },
  { name: '0004_operation_target', migration: operationTargetMigration },
  { name: '0005_audit_changes', migration: auditChangesMigration },
];
