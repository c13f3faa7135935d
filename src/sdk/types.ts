/** The API's shapes as clients see them (camelCase JSON). */

export type Role = 'viewer' | 'operator' | 'admin';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
}

export interface PageParams {
  limit?: number;
  cursor?: string;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

export interface Me {
  user: User;
  /** The role this credential acts with (an API token's may be lower than the user's). */
  role: Role;
  via: 'access' | 'api-token';
}

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

export interface CreatedApiToken extends ApiToken {
  /** The token itself; this is the only time it is shown. */
  token: string;
}

export interface WorkstationLimits {
  maxConcurrentBoots?: number;
  launchIntervalMs?: number;
  maxInstances?: number;
}

export interface Workstation {
  id: string;
  name: string;
  tags: string[];
  limits: WorkstationLimits;
  status: 'online' | 'offline' | 'degraded';
  lastSeenAt: string | null;
  hostname: string | null;
  os: string | null;
  agentVersion: string | null;
  ldplayer: { path: string | null; version: string | null } | null;
  metrics: unknown;
  createdAt: string;
  updatedAt: string;
  [extra: string]: unknown;
}

export interface WorkstationInput {
  name: string;
  tags?: string[];
  limits?: WorkstationLimits;
}

export interface AuditEntry {
  id: string;
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  target: string | null;
  ip: string;
  outcome: 'success' | 'failure' | 'denied';
  statusCode: number;
  requestId: string;
}

export interface AuditQuery extends PageParams {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: AuditEntry['outcome'];
  since?: string;
  until?: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}
