import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Database, Store, Page, PageRequest, UsersTable } from '../store/index.js';
import { isUniqueViolation, newId, nowIso, paginate } from '../store/index.js';
import { conflict, notFound } from '../http/errors.js';
import { hashPassword } from './passwords.js';
import type { Role } from './roles.js';

export interface User {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface UserChanges {
  role?: Role | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
  /** With a new password: also revoke the user's API tokens (default true). */
  revokeTokens?: boolean | undefined;
}

const LAST_ADMIN = 'the last active admin cannot be disabled, demoted or deleted';

export function toUser(row: UsersTable): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role as Role,
    disabled: Number(row.disabled) !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** User accounts. Changes that would leave no active admin are refused with 409. */
export class Users {
  constructor(
    private readonly store: Store,
    /** Told whenever a user's credentials may have stopped working. */
    private readonly credentialsChanged: (userId: string) => void = () => undefined,
  ) {}

  async list(page: PageRequest): Promise<Page<User>> {
    const result = await paginate(this.store.db.selectFrom('users').selectAll(), 'id', page);
    return { ...result, items: result.items.map(toUser) };
  }

  async get(id: string): Promise<User> {
    const row = await this.store.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('user');
    return toUser(row);
  }

  async count(): Promise<number> {
    const row = await this.store.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async create(input: { username: string; password: string; role: Role }): Promise<User> {
    const now = nowIso();
    const row: UsersTable = {
      id: newId(),
      username: input.username,
      password_hash: await hashPassword(input.password),
      role: input.role,
      disabled: 0,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.store.db.insertInto('users').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`user ${input.username} already exists`);
      throw error;
    }
    return toUser(row);
  }

  /**
   * Applies the changes; a new password ends every session of the user and, unless
   * `revokeTokens: false`, deletes their API tokens. The last-admin rule is checked and written
   * in one transaction, so two admins demoting each other at once cannot both succeed.
   */
  async update(id: string, changes: UserChanges): Promise<User> {
    // Hashed before the transaction: its ~100 ms must not hold the users' rows.
    const passwordHash = changes.password !== undefined ? await hashPassword(changes.password) : undefined;
    const set = {
      updated_at: nowIso(),
      ...(changes.role !== undefined ? { role: changes.role } : {}),
      ...(changes.disabled !== undefined ? { disabled: changes.disabled ? 1 : 0 } : {}),
      ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
    };
    const demotes = (changes.role !== undefined && changes.role !== 'admin') || changes.disabled === true;
    await this.store.db.transaction().execute(async (trx) => {
      if (demotes) await this.lockActiveAdmins(trx);
      const current = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('user');
      const losesAdmin = demotes && current.role === 'admin' && Number(current.disabled) === 0;
      let query = trx.updateTable('users').set(set).where('id', '=', id);
      if (losesAdmin) query = query.where((eb) => eb.exists(otherActiveAdmin(eb, id)));
      const result = await query.executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw conflict(LAST_ADMIN);
      if (passwordHash !== undefined || changes.disabled === true) await revokeSessionsIn(trx, id);
      if (passwordHash !== undefined && changes.revokeTokens !== false) await trx.deleteFrom('api_tokens').where('user_id', '=', id).execute();
    });
    this.credentialsChanged(id);
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      await this.lockActiveAdmins(trx);
      const current = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('user');
      let query = trx.deleteFrom('users').where('id', '=', id);
      if (current.role === 'admin' && Number(current.disabled) === 0) query = query.where((eb) => eb.exists(otherActiveAdmin(eb, id)));
      // Sessions, refresh tokens and API tokens go with the user (ON DELETE CASCADE).
      const result = await query.executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw conflict(LAST_ADMIN);
    });
    this.credentialsChanged(id);
  }

  async revokeSessions(userId: string): Promise<void> {
    await revokeSessionsIn(this.store.db, userId);
    this.credentialsChanged(userId);
  }

  /**
   * PostgreSQL: locks every active admin row until the transaction ends, so a concurrent
   * demotion waits and then sees this one's outcome (READ COMMITTED re-reads the rows it
   * waited for). SQLite runs one transaction at a time on its single connection already.
   */
  private async lockActiveAdmins(trx: Kysely<Database>): Promise<void> {
    if (this.store.kind !== 'postgres') return;
    await trx.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled', '=', 0).forUpdate().execute();
  }
}

/** Another enabled admin than `id` exists (checked inside the write's own statement). */
function otherActiveAdmin(eb: ExpressionBuilder<Database, 'users'>, id: string) {
  return eb
    .selectFrom('users as other')
    .select('other.id')
    .where('other.role', '=', 'admin')
    .where('other.disabled', '=', 0)
    .where('other.id', '!=', id);
}

async function revokeSessionsIn(db: Kysely<Database>, userId: string): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: nowIso() }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}
