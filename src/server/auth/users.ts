import type { Store, Page, PageRequest, UsersTable } from '../store/index.js';
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
}

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
  constructor(private readonly store: Store) {}

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

  /** Applies the changes; a new password ends every session of the user. */
  async update(id: string, changes: UserChanges): Promise<User> {
    const current = await this.get(id);
    const losesAdmin =
      current.role === 'admin' && !current.disabled && ((changes.role !== undefined && changes.role !== 'admin') || changes.disabled === true);
    if (losesAdmin) await this.assertAnotherActiveAdmin(id);
    const now = nowIso();
    await this.store.db
      .updateTable('users')
      .set({
        updated_at: now,
        ...(changes.role !== undefined ? { role: changes.role } : {}),
        ...(changes.disabled !== undefined ? { disabled: changes.disabled ? 1 : 0 } : {}),
        ...(changes.password !== undefined ? { password_hash: await hashPassword(changes.password) } : {}),
      })
      .where('id', '=', id)
      .execute();
    if (changes.password !== undefined || changes.disabled === true) await this.revokeSessions(id);
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    const current = await this.get(id);
    if (current.role === 'admin' && !current.disabled) await this.assertAnotherActiveAdmin(id);
    // Sessions, refresh tokens and API tokens go with the user (ON DELETE CASCADE).
    await this.store.db.deleteFrom('users').where('id', '=', id).execute();
  }

  async revokeSessions(userId: string): Promise<void> {
    await this.store.db
      .updateTable('sessions')
      .set({ revoked_at: nowIso() })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  private async assertAnotherActiveAdmin(exceptId: string): Promise<void> {
    const row = await this.store.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('role', '=', 'admin')
      .where('disabled', '=', 0)
      .where('id', '!=', exceptId)
      .executeTakeFirst();
    if (Number(row?.n ?? 0) === 0) throw conflict('the last active admin cannot be disabled, demoted or deleted');
  }
}
