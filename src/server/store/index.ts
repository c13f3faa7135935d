/** The store unit: one Kysely query layer over SQLite or PostgreSQL, with ordered migrations. */
export { openStore, isUniqueViolation, isDataException } from './store.js';
export type { Store, StoreKind, StoreOptions } from './store.js';
export type {
  Database,
  UsersTable,
  SessionsTable,
  RefreshTokensTable,
  ApiTokensTable,
  WorkstationsTable,
  AuditLogTable,
} from './schema.js';
export { auditChangesMigration, coreMigrations } from './migrations/index.js';
export type { NamedMigration } from './migrations/index.js';
export { paginate, encodeCursor, decodeCursor, InvalidCursorError } from './pagination.js';
export type { Page, PageRequest } from './pagination.js';
export { newId, nowIso } from './ids.js';
export { ROWS_PER_STATEMENT, chunks } from './statements.js';
