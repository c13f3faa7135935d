import type { Store, Page, PageRequest, ApiTokensTable } from '../store/index.js';
import { newId, nowIso, paginate } from '../store/index.js';
import { forbidden, notFound, badRequest } from '../http/errors.js';
import { API_TOKEN_PREFIX, hashToken, newOpaqueToken } from './tokens.js';
import { hasRole } from './roles.js';
import type { Role } from './roles.js';
import type { Principal } from './principal.js';

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** Only the creation reply carries the token itself. */
export interface CreatedApiToken extends ApiToken {
  token: string;
}

function toApiToken(row: ApiTokensTable): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    createdAt: row.created_at,
  };
}

/** API tokens for scripts, stored as SHA-256 digests. */
export class ApiTokens {
  constructor(
    private readonly store: Store,
    /** Told whenever a user's token is revoked. */
    private readonly credentialsChanged: (userId: string) => void = () => undefined,
  ) {}

  async listOwn(owner: Principal, page: PageRequest): Promise<Page<ApiToken>> {
    const query = this.store.db.selectFrom('api_tokens').selectAll().where('user_id', '=', owner.userId);
    const result = await paginate(query, 'id', page);
    return { ...result, items: result.items.map(toApiToken) };
  }

  async create(owner: Principal, input: { name: string; role?: Role | undefined; expiresAt?: string | undefined }): Promise<CreatedApiToken> {
    // The owner's own role, not the role of the credential used now: a viewer-scoped token can't mint an admin one.
    const role = input.role ?? owner.role;
    if (!hasRole(owner.role, role)) throw forbidden(`a token's role cannot be above your own (${owner.role})`);
    let expiresAt: string | null = null;
    if (input.expiresAt !== undefined) {
      const when = new Date(input.expiresAt);
      if (Number.isNaN(when.getTime())) throw badRequest('expiresAt must be a date-time');
      if (when.getTime() <= Date.now()) throw badRequest('expiresAt must be in the future');
      expiresAt = when.toISOString();
    }
    // A token minted with a token cannot outlive it: no expiry means the parent's.
    const parentExpiry = owner.via === 'api-token' ? owner.expiresAt : undefined;
    if (parentExpiry !== undefined) {
      if (expiresAt !== null && Date.parse(expiresAt) > parentExpiry) {
        throw badRequest(`a token minted with an API token cannot outlive it (it expires at ${new Date(parentExpiry).toISOString()})`);
      }
      expiresAt ??= new Date(parentExpiry).toISOString();
    }
    const token = newOpaqueToken(API_TOKEN_PREFIX);
    const row: ApiTokensTable = {
      id: newId(),
      user_id: owner.userId,
      name: input.name,
      role,
      token_hash: hashToken(token),
      expires_at: expiresAt,
      last_used_at: null,
      created_at: nowIso(),
      parent_id: owner.via === 'api-token' ? (owner.tokenId ?? null) : null,
    };
    await this.store.db.insertInto('api_tokens').values(row).execute();
    return { ...toApiToken(row), token };
  }

  /** Revokes one of the caller's tokens; admins may revoke anyone's. */
  async revoke(caller: Principal, id: string): Promise<{ id: string; name: string }> {
    let query = this.store.db.deleteFrom('api_tokens').where('id', '=', id);
    if (caller.role !== 'admin') query = query.where('user_id', '=', caller.userId);
    // The tokens minted with it go too (ON DELETE CASCADE on parent_id).
    const revoked = await query.returning(['id', 'name', 'user_id']).executeTakeFirst();
    if (!revoked) throw notFound('token');
    this.credentialsChanged(revoked.user_id);
    return { id: revoked.id, name: revoked.name };
  }
}
