import type { Store, Page, PageRequest, AuditLogTable } from '../store/index.js';
import { newId, nowIso, paginate } from '../store/index.js';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** What a request acted on: `{type: 'user', id, name: 'alice'}`. */
export interface AuditTarget {
  type: string;
  id: string | null;
  name: string | null;
}

/**
 * The fields a request changed, each with its value before (when known) and after:
 * `{role: {from: 'viewer', to: 'admin'}}`. Secrets are kept as `[redacted]`.
 */
export type AuditChanges = Record<string, { from?: unknown; to?: unknown }>;

/** What a route handler tells the audit log about its request (see `request.audit`). */
export interface AuditDetail {
  target?: AuditTarget | null;
  changes?: AuditChanges | null;
}

export interface AuditRecord {
  actorId: string | null;
  actorName: string | null;
  /** What was attempted: `auth.login`, or `POST /api/v1/workstations` for generic requests. */
  action: string;
  target: AuditTarget | null;
  changes?: AuditChanges | null;
  ip: string;
  statusCode: number;
  requestId: string;
}

export interface AuditEntry extends AuditRecord {
  changes: AuditChanges | null;
  id: string;
  at: string;
  outcome: AuditOutcome;
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  /** A target's id or name. */
  target?: string | undefined;
  targetType?: string | undefined;
  outcome?: AuditOutcome | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

export const REDACTED = '[redacted]';
const SECRET_FIELD = /password|secret|token|credential|apikey/i;
/** A value past this many characters of JSON is recorded by size only (a 1,000-id batch target). */
const MAX_VALUE_CHARS = 500;

function recordable(field: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (SECRET_FIELD.test(field)) return REDACTED;
  if (value !== null && typeof value === 'object') {
    if (Array.isArray(value)) {
      const text = JSON.stringify(value);
      return text.length > MAX_VALUE_CHARS ? `[${value.length} items]` : value;
    }
    const entries = Object.entries(value as Record<string, unknown>).map(([key, sub]) => [key, recordable(key, sub)] as const);
    const copy = Object.fromEntries(entries);
    return JSON.stringify(copy).length > MAX_VALUE_CHARS ? `[${entries.length} fields]` : copy;
  }
  return typeof value === 'string' && value.length > MAX_VALUE_CHARS ? `[${value.length} characters]` : value;
}

/** Changes with secrets (by field name, at any depth) replaced by `[redacted]` and large values by their size. */
export function redactChanges(changes: AuditChanges): AuditChanges {
  const result: AuditChanges = {};
  for (const [field, change] of Object.entries(changes)) {
    const entry: { from?: unknown; to?: unknown } = {};
    if ('from' in change) entry.from = recordable(field, change.from);
    if ('to' in change) entry.to = recordable(field, change.to);
    result[field] = entry;
  }
  return result;
}

/** The fields of a request body as changes with no known "before": `{name: {to: 'ws-1'}}`. */
export function changesOf(body: unknown): AuditChanges | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const entries = Object.entries(body as Record<string, unknown>).filter(([, value]) => value !== undefined);
  return entries.length === 0 ? null : Object.fromEntries(entries.map(([field, to]) => [field, { to }]));
}

/**
 * The requested fields whose value differs between `before` and `after`, with both values;
 * secrets (which cannot be compared) whenever the request set them.
 */
export function changesBetween(before: object, after: object, requested: object): AuditChanges {
  const was = before as Record<string, unknown>;
  const is = after as Record<string, unknown>;
  const changes: AuditChanges = {};
  for (const [field, value] of Object.entries(requested)) {
    if (value === undefined) continue;
    if (SECRET_FIELD.test(field)) changes[field] = { to: REDACTED };
    else if (JSON.stringify(was[field]) !== JSON.stringify(is[field])) changes[field] = { from: was[field], to: is[field] };
  }
  return changes;
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
        target: record.target?.id?.slice(0, 200) ?? null,
        target_type: record.target?.type.slice(0, 100) ?? null,
        target_name: record.target?.name?.slice(0, 200) ?? null,
        changes: record.changes && Object.keys(record.changes).length > 0 ? JSON.stringify(redactChanges(record.changes)) : null,
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
    const target = filter.target;
    if (target !== undefined) query = query.where((eb) => eb.or([eb('target', '=', target), eb('target_name', '=', target)]));
    if (filter.targetType !== undefined) query = query.where('target_type', '=', filter.targetType);
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
    target: row.target_type === null && row.target === null ? null : { type: row.target_type ?? 'unknown', id: row.target, name: row.target_name },
    changes: row.changes === null ? null : (JSON.parse(row.changes) as AuditChanges),
    ip: row.ip,
    outcome: row.outcome as AuditOutcome,
    statusCode: Number(row.status_code),
    requestId: row.request_id,
  };
}
