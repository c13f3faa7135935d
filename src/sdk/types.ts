/**
 * The API's shapes as clients see them (camelCase JSON). Shapes the server defines are taken from
 * its units as types only (erased when compiled: the SDK loads no server code).
 */
import type { ApiToken, AuditEntry, CreatedApiToken, Role, TokenPair, User } from '../server/auth/index.js';
import type { Page } from '../server/store/index.js';
import type { Workstation as ServerWorkstation, WorkstationInput, WorkstationLimits } from '../server/workstations/index.js';

export type { ApiToken, AuditEntry, CreatedApiToken, Page, Role, TokenPair, User, WorkstationInput, WorkstationLimits };

export interface PageParams {
  limit?: number;
  cursor?: string;
}

export interface Me {
  user: User;
  /** The role this credential acts with (an API token's may be lower than the user's). */
  role: Role;
  via: 'access' | 'api-token';
}

/** A workstation as the API serves it; other units add fields (emulator counts, breaker state). */
export interface Workstation extends ServerWorkstation {
  [extra: string]: unknown;
}

export interface AuditQuery extends PageParams {
  actor?: string;
  action?: string;
  /** A target's id or name. */
  target?: string;
  /** `user`, `api_token`, `workstation`, `emulator`, `batch`… */
  targetType?: string;
  outcome?: AuditEntry['outcome'];
  since?: string;
  until?: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}
