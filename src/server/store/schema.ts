/**
 * The database's tables as Kysely sees them. Columns are portable between SQLite and PostgreSQL:
 * ids are text, timestamps are ISO-8601 text (they sort and compare as strings), booleans are
 * integers 0/1 and JSON is text.
 *
 * Another unit adds its tables by appending a migration (see ./migrations/index.ts) and merging
 * its table types into this interface:
 *
 *   declare module '../store/schema.js' { interface Database { emulators: EmulatorsTable } }
 */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  api_tokens: ApiTokensTable;
  workstations: WorkstationsTable;
  audit_log: AuditLogTable;
}

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: string;
  disabled: number;
  created_at: string;
  updated_at: string;
}

/** One login session: the family of refresh tokens that rotate from one login. */
export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: string;
  revoked_at: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  token_hash: string;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  role: string;
  token_hash: string;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
  /** The API token this one was minted with; it goes when that one does. */
  parent_id?: string | null;
}

export interface WorkstationsTable {
  id: string;
  name: string;
  tags: string;
  limits: string;
  status: string;
  last_seen_at: string | null;
  enrollment_token_hash: string;
  hostname: string | null;
  os: string | null;
  agent_version: string | null;
  ldplayer_path: string | null;
  ldplayer_version: string | null;
  metrics: string | null;
  /** Why a connected agent says it cannot do its job (`degraded`); null otherwise. */
  status_reason: string | null;
  status_message: string | null;
  /**
   * The replica holding the workstation's agent session (the cluster unit's migration 0011); its
   * lease is that replica's heartbeat. Null before any agent connected.
   */
  owner_replica_id?: string | null;
  created_at: string;
  updated_at: string;
}

export interface AuditLogTable {
  id: string;
  at: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  /** The target's id. */
  target: string | null;
  target_type: string | null;
  target_name: string | null;
  /** JSON of `AuditChanges`, secrets redacted. */
  changes: string | null;
  ip: string;
  outcome: string;
  status_code: number;
  request_id: string;
}
