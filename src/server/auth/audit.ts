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

export interface RefusalSampling {
  /** Rows one client address may add per window (default 1). */
  readonly perAddress: number;
  /** Rows all refused anonymous requests may add per window (default 60). */
  readonly overall: number;
  readonly windowMs: number;
}

const DEFAULT_SAMPLING: RefusalSampling = { perAddress: 1, overall: 60, windowMs: 60_000 };

/**
 * Who did what, when, from where: every mutating request and every login attempt. Requests
 * refused for want of any credential are counted, and only a sample of them is written (per
 * address and overall per minute): anonymous peers cannot fill the log, yet probing still shows.
 */
export class AuditLog {
  private refused = 0;
  private window = { startsAt: 0, rows: 0, addresses: new Map<string, number>() };

  constructor(
    private readonly store: Store,
    private readonly sampling: RefusalSampling = DEFAULT_SAMPLING,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Refused anonymous requests so far, written or not (the `/metrics` counter). */
  get refusedAnonymous(): number {
    return this.refused;
  }

  /** Counts a refused anonymous request; writes it when the sample takes it. Returns whether it did. */
  async recordRefusal(record: AuditRecord): Promise<boolean> {
    this.refused += 1;
    if (!this.sampled(record.ip)) return false;
    await this.record(record);
    return true;
  }

  private sampled(ip: string): boolean {
    const now = this.clock();
    if (now - this.window.startsAt >= this.sampling.windowMs) this.window = { startsAt: now, rows: 0, addresses: new Map() };
    const byAddress = this.window.addresses.get(ip) ?? 0;
    if (this.window.rows >= this.sampling.overall || byAddress >= this.sampling.perAddress) return false;
    this.window.rows += 1;
    this.window.addresses.set(ip, byAddress + 1);
    return true;
  }

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
        ip: record.ip.slice(0, 64),
        outcome: outcomeOf(record.statusCode),
        status_code: record.statusCode,
        request_id: record.requestId.slice(0, 64),
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
