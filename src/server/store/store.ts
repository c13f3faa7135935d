import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { MigrationProvider, Migration, SqliteDatabase, SqliteStatement } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { coreMigrations } from './migrations/index.js';
import type { NamedMigration } from './migrations/index.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface StoreOptions {
  /** Directory of the SQLite file `ldfleet.db`; ignored when `databaseUrl` is set. */
  readonly dataDir: string;
  /** `postgres://…` selects PostgreSQL. */
  readonly databaseUrl?: string | undefined;
  /** Defaults to the store's core schema only; the server passes every unit's (`src/server/migrations.ts`). */
  readonly migrations?: readonly NamedMigration[];
}

export interface Store {
  readonly kind: StoreKind;
  readonly db: Kysely<Database>;
  /**
   * For hot reads that may see the last commit (the emulator list): on SQLite a second,
   * read-only connection, so a read never queues behind a write transaction that holds the
   * writer's connection across awaits (WAL lets it read meanwhile); on PostgreSQL the same pool.
   */
  readonly reader: Kysely<Database>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens the database, applies every pending migration and returns the query layer. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const kind: StoreKind = options.databaseUrl ? 'postgres' : 'sqlite';
  const db = kind === 'postgres' ? openPostgres(options.databaseUrl ?? '') : openSqlite(options.dataDir);
  try {
    await migrate(db, options.migrations ?? coreMigrations);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const reader = kind === 'sqlite' ? openSqliteReader(options.dataDir) : db;
  return {
    kind,
    db,
    reader,
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (reader !== db) await reader.destroy();
      await db.destroy();
    },
  };
}

/**
 * The database holds password and token hashes and the audit log: the folder is 0700 and the
 * file 0600 whatever the umask, also when they exist from an older version. SQLite gives its
 * `-wal` and `-shm` files the database file's mode; those left by an older version are fixed too.
 */
function privateSqliteFile(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const path = sqliteFile(dataDir);
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
  return path;
}

function sqliteFile(dataDir: string): string {
  return join(dataDir, 'ldfleet.db');
}

/** Statements kept prepared per connection, the most recently used. */
const STATEMENT_CACHE_SIZE = 500;
/** Longer statements (multi-row inserts) are rarely the same twice: not worth keeping. */
const CACHED_SQL_MAX_LENGTH = 4000;

/**
 * Kysely prepares every query anew; compiling the SQL was an eighth of the server's CPU under
 * a busy engine. The same text gets the same prepared statement again, unless that one is
 * still being iterated.
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      cache.clear();
      database.close();
    },
    prepare: (text: string): SqliteStatement => {
      const cached = cache.get(text);
      if (cached && !cached.busy) {
        cache.delete(text);
        cache.set(text, cached);
        return cached;
      }
      const statement = database.prepare(text);
      if (text.length <= CACHED_SQL_MAX_LENGTH) {
        cache.set(text, statement);
        if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value ?? '');
      }
      return statement;
    },
  };
}

function openSqlite(dataDir: string): Kysely<Database> {
  const database = new BetterSqlite3(privateSqliteFile(dataDir));
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  database.pragma('synchronous = NORMAL');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
}

/** Opened after the migrations, on the file (and WAL) the writer made. */
function openSqliteReader(dataDir: string): Kysely<Database> {
  const database = new BetterSqlite3(sqliteFile(dataDir), { readonly: true, fileMustExist: true });
  database.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
}

function openPostgres(connectionString: string): Kysely<Database> {
  const pool = new pg.Pool({ connectionString, max: 10 });
  // An idle client's error (e.g. the server restarting) must not crash the process.
  pool.on('error', () => undefined);
  // Nor one of a client in use: pg-pool listens only while a client is idle, and a restarting
  // server's FATAL reaches a checked-out client between two queries as an 'error' event. The
  // queries in flight fail on their own, and the pool drops the client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

async function migrate(db: Kysely<Database>, list: readonly NamedMigration[]): Promise<void> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const byName: Record<string, Migration> = {};
      for (const { name, migration } of list) byName[name] = migration;
      return byName;
    },
  };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
}

/** True for a unique-constraint violation on either database. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * True for a value the database refused as data (PostgreSQL class 22: a NUL byte in text, a number
 * out of range…): the client sent it, so it is a 400 rather than a 500.
 */
export function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}
