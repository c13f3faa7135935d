import type { Store, Page, PageRequest, AuditLogTable } from '../store/index.js';
import { newId, nowIso, paginate } from '../store/index.js';

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditRecord {
  actorId: string | null;
  actorName: string | null;
  /** What was attempted: `auth.login`, or `POST /api/v1/workstations` for generic requests. */
  action: string;
  target: string | null;
  ip: string;
  statusCode: number;
  requestId: string;
}

export interface AuditEntry extends AuditRecord {
  id: string;
  at: string;
  outcome: AuditOutcome;
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  outcome?: AuditOutcome | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** Denied (401/403/429) is kept apart from failure so that probing stands out. */
export function outcomeOf(statusCode: number): AuditOutcome {
  if (statusCode < 400) return 'success';
  if (statusCode === 401 || statusCode === 403 || statusCode === 429) return 'denied';
  return 'failure';
}

/** Who did what, when, from where: every mutating request and every login attempt. */
export class AuditLog {
  constructor(private readonly store: Store) {}

  async record(record: AuditRecord): Promise<void> {
    await this.store.db
      .insertInto('audit_log')
      .values({
        id: newId(),
        at: nowIso(),
        actor_id: record.actorId,
        actor_name: record.actorName,
        action: record.action.slice(0, 200),
        target: record.target?.slice(0, 200) ?? null,
        ip: record.ip,
        outcome: outcomeOf(record.statusCode),
        status_code: record.statusCode,
        request_id: record.requestId,
      })
      .execute();
  }

  /** Newest first. */
  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>> {
    let query = this.store.db.selectFrom('audit_log').selectAll();
    if (filter.actor !== undefined) query = query.where('actor_name', '=', filter.actor);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.target !== undefined) query = query.where('target', '=', filter.target);
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
    if (filter.since !== undefined) query = query.where('at', '>=', new Date(filter.since).toISOString());
    if (filter.until !== undefined) query = query.where('at', '<', new Date(filter.until).toISOString());
    const result = await paginate(query, 'id', page, 'desc');
    return { ...result, items: result.items.map(toEntry) };
  }
}

function toEntry(row: AuditLogTable): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actorId: row.actor_id,
    actorName: row.actor_name,
    action: row.action,
    target: row.target,
    ip: row.ip,
    outcome: row.outcome as AuditOutcome,
    statusCode: Number(row.status_code),
    requestId: row.request_id,
  };
}
