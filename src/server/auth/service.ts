import type { Store } from '../store/index.js';
import { isUniqueViolation, newId, nowIso } from '../store/index.js';
import { AccessTokens, API_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, hashToken, newOpaqueToken } from './tokens.js';
import { generatePassword, hashPassword, makeDecoyHash, needsRehash, verifyPassword } from './passwords.js';
import { Users, toUser } from './users.js';
import type { User } from './users.js';
import { ApiTokens } from './api-tokens.js';
import { isRole, lowerRole } from './roles.js';
import type { Principal } from './principal.js';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  user: User;
}

export interface AuthOptions {
  jwtSecret: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
}

/** API tokens' last-used time is written at most this often, so reads stay reads. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Authentication: logins, rotating refresh tokens, and resolving a bearer credential to a principal. */
export class AuthService {
  readonly users: Users;
  readonly apiTokens: ApiTokens;
  private readonly accessTokens: AccessTokens;
  private readonly credentialListeners = new Set<(userId: string) => void>();

  private constructor(
    private readonly store: Store,
    private readonly options: AuthOptions,
    private readonly decoyHash: string,
  ) {
    const changed = (userId: string) => this.credentialsChanged(userId);
    this.users = new Users(store, changed);
    this.apiTokens = new ApiTokens(store, changed);
    this.accessTokens = new AccessTokens(options.jwtSecret, options.accessTokenTtl);
  }

  static async create(store: Store, options: AuthOptions): Promise<AuthService> {
    return new AuthService(store, options, await makeDecoyHash());
  }

  /**
   * Creates the user `admin` when there are no users yet. Returns the password only when it was
   * generated here, so the caller can show it once.
   */
  async ensureFirstAdmin(givenPassword: string | undefined): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.users.count()) > 0) return { created: false };
    const password = givenPassword ?? generatePassword();
    try {
      await this.users.create({ username: 'admin', password, role: 'admin' });
    } catch (error) {
      // Another replica created it first.
      if (isUniqueViolation(error) || (error as { statusCode?: number }).statusCode === 409) return { created: false };
      throw error;
    }
    return givenPassword === undefined ? { created: true, generatedPassword: password } : { created: true };
  }

  /** A new session for valid credentials of an enabled user, else null. Unknown names cost the same time. */
  async login(username: string, password: string): Promise<TokenPair | null> {
    const row = await this.store.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    const valid = await verifyPassword(password, row?.password_hash ?? this.decoyHash);
    if (!row || !valid || Number(row.disabled) !== 0) return null;
    if (needsRehash(row.password_hash)) {
      const upgraded = await hashPassword(password);
      await this.store.db.updateTable('users').set({ password_hash: upgraded }).where('id', '=', row.id).where('password_hash', '=', row.password_hash).execute();
    }
    const sessionId = newId();
    await this.store.db
      .insertInto('sessions')
      .values({ id: sessionId, user_id: row.id, created_at: nowIso(), revoked_at: null })
      .execute();
    return this.issue(toUser(row), sessionId);
  }

  /**
   * Trades a refresh token for a new pair. Each refresh token works once: presenting one that was
   * already used means it was stolen or replayed, so the whole session is revoked.
   */
  async refresh(refreshToken: string): Promise<TokenPair | null> {
    if (!refreshToken.startsWith(REFRESH_TOKEN_PREFIX)) return null;
    const row = await this.store.db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'refresh_tokens.id as tokenId',
        'refresh_tokens.used_at as usedAt',
        'refresh_tokens.expires_at as expiresAt',
        'sessions.id as sessionId',
        'sessions.revoked_at as revokedAt',
      ])
      .selectAll('users')
      .where('refresh_tokens.token_hash', '=', hashToken(refreshToken))
      .executeTakeFirst();
    if (!row || row.revokedAt !== null) return null;
    if (row.usedAt !== null) {
      await this.revokeSession(row.sessionId);
      return null;
    }
    if (row.expiresAt <= nowIso() || Number(row.disabled) !== 0) return null;
    const claimed = await this.store.db
      .updateTable('refresh_tokens')
      .set({ used_at: nowIso() })
      .where('id', '=', row.tokenId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) {
      // Two requests raced with the same token: one of them is a replay.
      await this.revokeSession(row.sessionId);
      return null;
    }
    return this.issue(toUser(row), row.sessionId);
  }

  /** Ends the session of the given refresh token (if it is the caller's), or every session of the caller. */
  async logout(principal: Principal, refreshToken: string | undefined): Promise<void> {
    if (refreshToken === undefined) {
      await this.users.revokeSessions(principal.userId);
      return;
    }
    const row = await this.store.db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select(['sessions.id as sessionId', 'sessions.user_id as userId'])
      .where('refresh_tokens.token_hash', '=', hashToken(refreshToken))
      .executeTakeFirst();
    if (row && row.userId === principal.userId) await this.revokeSession(row.sessionId);
    this.credentialsChanged(principal.userId);
  }

  /**
   * Calls `listener` with a user's id whenever one of their credentials may have stopped working
   * (logout, a revoked token or session, the user disabled, deleted, demoted or given a new
   * password), so long-lived streams re-check theirs. Returns the unsubscribe function.
   */
  onCredentialsChanged(listener: (userId: string) => void): () => void {
    this.credentialListeners.add(listener);
    return () => this.credentialListeners.delete(listener);
  }

  private credentialsChanged(userId: string): void {
    for (const listener of [...this.credentialListeners]) listener(userId);
  }

  /** The principal behind an `Authorization: Bearer …` value, or null when it does not authenticate. */
  async authenticate(bearer: string): Promise<Principal | null> {
    if (bearer.startsWith(REFRESH_TOKEN_PREFIX)) return null;
    if (bearer.startsWith(API_TOKEN_PREFIX)) return this.authenticateApiToken(bearer);
    return this.authenticateAccessToken(bearer);
  }

  private async authenticateAccessToken(token: string): Promise<Principal | null> {
    const claims = await this.accessTokens.verify(token);
    if (!claims) return null;
    const row = await this.store.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['users.id', 'users.username', 'users.role', 'users.disabled', 'sessions.revoked_at'])
      .where('sessions.id', '=', claims.sessionId)
      .where('users.id', '=', claims.userId)
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || Number(row.disabled) !== 0 || !isRole(row.role)) return null;
    return {
      userId: row.id,
      username: row.username,
      role: row.role,
      via: 'access',
      sessionId: claims.sessionId,
      ...(claims.expiresAt !== undefined ? { expiresAt: claims.expiresAt } : {}),
    };
  }

  private async authenticateApiToken(token: string): Promise<Principal | null> {
    const row = await this.store.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id as tokenId',
        'api_tokens.role as tokenRole',
        'api_tokens.expires_at as expiresAt',
        'api_tokens.last_used_at as lastUsedAt',
        'users.id as userId',
        'users.username',
        'users.role as userRole',
        'users.disabled',
      ])
      .where('api_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || Number(row.disabled) !== 0 || !isRole(row.tokenRole) || !isRole(row.userRole)) return null;
    const now = Date.now();
    if (row.expiresAt !== null && row.expiresAt <= nowIso(now)) return null;
    if (row.lastUsedAt === null || Date.parse(row.lastUsedAt) < now - LAST_USED_RESOLUTION_MS) {
      await this.store.db.updateTable('api_tokens').set({ last_used_at: nowIso(now) }).where('id', '=', row.tokenId).execute();
    }
    return {
      userId: row.userId,
      username: row.username,
      role: lowerRole(row.tokenRole, row.userRole),
      via: 'api-token',
      tokenId: row.tokenId,
      ...(row.expiresAt !== null ? { expiresAt: Date.parse(row.expiresAt) } : {}),
    };
  }

  private async issue(user: User, sessionId: string): Promise<TokenPair> {
    const refreshToken = newOpaqueToken(REFRESH_TOKEN_PREFIX);
    const now = Date.now();
    await this.store.db
      .insertInto('refresh_tokens')
      .values({
        id: newId(now),
        session_id: sessionId,
        token_hash: hashToken(refreshToken),
        expires_at: nowIso(now + this.options.refreshTokenTtl * 1000),
        used_at: null,
        created_at: nowIso(now),
      })
      .execute();
    const accessToken = await this.accessTokens.sign({ userId: user.id, sessionId });
    return { accessToken, refreshToken, expiresIn: this.accessTokens.expiresIn, user };
  }

  private async revokeSession(sessionId: string): Promise<void> {
    await this.store.db
      .updateTable('sessions')
      .set({ revoked_at: nowIso() })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .execute();
    const session = await this.store.db.selectFrom('sessions').select('user_id').where('id', '=', sessionId).executeTakeFirst();
    if (session) this.credentialsChanged(session.user_id);
  }
}
