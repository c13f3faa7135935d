import type { Store, Page, PageRequest, WorkstationsTable } from '../store/index.js';
import { isUniqueViolation, newId, nowIso, paginate } from '../store/index.js';
import { conflict, notFound } from '../http/errors.js';
import { ENROLLMENT_TOKEN_PREFIX, hashToken, newOpaqueToken } from '../auth/tokens.js';

export interface WorkstationLimits {
  maxConcurrentBoots?: number;
  launchIntervalMs?: number;
  maxInstances?: number;
}

export type WorkstationStatus = 'online' | 'offline' | 'degraded';

/**
 * A workstation as the API shows it. Agent-reported fields stay null until an agent reports them;
 * other units add fields (counts, breaker) when they present it.
 */
export interface Workstation {
  id: string;
  name: string;
  tags: string[];
  limits: WorkstationLimits;
  status: WorkstationStatus;
  /** Why it is `degraded` (machine-readable); null otherwise. */
  statusReason: string | null;
  statusMessage: string | null;
  lastSeenAt: string | null;
  hostname: string | null;
  os: string | null;
  agentVersion: string | null;
  ldplayer: { path: string | null; version: string | null } | null;
  metrics: unknown;
  createdAt: string;
  updatedAt: string;
}

export interface WorkstationInput {
  name: string;
  tags?: string[] | undefined;
  limits?: WorkstationLimits | undefined;
}

export function toWorkstation(row: WorkstationsTable): Workstation {
  return {
    id: row.id,
    name: row.name,
    tags: JSON.parse(row.tags) as string[],
    limits: JSON.parse(row.limits) as WorkstationLimits,
    status: row.status as WorkstationStatus,
    statusReason: row.status_reason ?? null,
    statusMessage: row.status_message ?? null,
    lastSeenAt: row.last_seen_at,
    hostname: row.hostname,
    os: row.os,
    agentVersion: row.agent_version,
    ldplayer: row.ldplayer_path === null && row.ldplayer_version === null ? null : { path: row.ldplayer_path, version: row.ldplayer_version },
    metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Tags are kept unique and in the order given. */
function normaliseTags(tags: string[] | undefined): string[] {
  return [...new Set(tags ?? [])];
}

/** Fields other units add to workstations they present (emulator counts…), by workstation id. */
export type WorkstationExtras = (ids: readonly string[]) => Promise<ReadonlyMap<string, Record<string, unknown>>>;

/**
 * What other units must react to: a live agent session must end when its workstation is deleted
 * or its token rotated (the old token may be in the wrong hands), and changes are events.
 */
export type WorkstationChange = { kind: 'updated' | 'deleted' | 'tokenRotated'; id: string };
export type WorkstationChangeListener = (change: WorkstationChange) => void;

/** The workstation registry and its enrollment tokens (stored as SHA-256 digests, shown once). */
export class Workstations {
  constructor(
    private readonly store: Store,
    private readonly extras?: WorkstationExtras,
    private readonly onChange: WorkstationChangeListener = () => undefined,
  ) {}

  async list(page: PageRequest, filter: { tag?: string | undefined; status?: string | undefined } = {}): Promise<Page<Workstation>> {
    let query = this.store.db.selectFrom('workstations').selectAll();
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    // Tags are a JSON array in text; the quoted form matches whole tags only (tag names cannot contain quotes).
    if (filter.tag !== undefined) query = query.where('tags', 'like', `%${JSON.stringify(filter.tag)}%`);
    const result = await paginate(query, 'id', page);
    return { ...result, items: await this.withExtras(result.items.map(toWorkstation)) };
  }

  async get(id: string): Promise<Workstation> {
    const row = await this.store.db.selectFrom('workstations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('workstation');
    const [workstation] = await this.withExtras([toWorkstation(row)]);
    return workstation ?? toWorkstation(row);
  }

  private async withExtras(items: Workstation[]): Promise<Workstation[]> {
    if (!this.extras || items.length === 0) return items;
    const extras = await this.extras(items.map((item) => item.id));
    return items.map((item) => ({ ...item, ...extras.get(item.id) }));
  }

  async create(input: WorkstationInput): Promise<{ workstation: Workstation; enrollmentToken: string }> {
    const enrollmentToken = newOpaqueToken(ENROLLMENT_TOKEN_PREFIX);
    const now = nowIso();
    const row: WorkstationsTable = {
      id: newId(),
      name: input.name,
      tags: JSON.stringify(normaliseTags(input.tags)),
      limits: JSON.stringify(input.limits ?? {}),
      status: 'offline',
      last_seen_at: null,
      enrollment_token_hash: hashToken(enrollmentToken),
      hostname: null,
      os: null,
      agent_version: null,
      ldplayer_path: null,
      ldplayer_version: null,
      metrics: null,
      status_reason: null,
      status_message: null,
      created_at: now,
      updated_at: now,
    };
    await this.withUniqueName(input.name, () => this.store.db.insertInto('workstations').values(row).execute());
    return { workstation: toWorkstation(row), enrollmentToken };
  }

  async update(id: string, changes: Partial<WorkstationInput>): Promise<Workstation> {
    await this.get(id);
    const set: Partial<WorkstationsTable> = { updated_at: nowIso() };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.tags !== undefined) set.tags = JSON.stringify(normaliseTags(changes.tags));
    if (changes.limits !== undefined) set.limits = JSON.stringify(changes.limits);
    await this.withUniqueName(changes.name ?? '', () =>
      this.store.db.updateTable('workstations').set(set).where('id', '=', id).execute(),
    );
    this.onChange({ kind: 'updated', id });
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    const result = await this.store.db.deleteFrom('workstations').where('id', '=', id).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw notFound('workstation');
    this.onChange({ kind: 'deleted', id });
  }

  /** Replaces the enrollment token; the old one stops working at once. */
  async rotateEnrollmentToken(id: string): Promise<string> {
    const enrollmentToken = newOpaqueToken(ENROLLMENT_TOKEN_PREFIX);
    const result = await this.store.db
      .updateTable('workstations')
      .set({ enrollment_token_hash: hashToken(enrollmentToken), updated_at: nowIso() })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw notFound('workstation');
    this.onChange({ kind: 'tokenRotated', id });
    return enrollmentToken;
  }

  /** The workstation an agent's enrollment token belongs to, or null (for the agent gateway). */
  async verifyEnrollmentToken(token: string): Promise<Workstation | null> {
    if (!token.startsWith(ENROLLMENT_TOKEN_PREFIX) || token.length > 512) return null;
    const row = await this.store.db
      .selectFrom('workstations')
      .selectAll()
      .where('enrollment_token_hash', '=', hashToken(token))
      .executeTakeFirst();
    return row ? toWorkstation(row) : null;
  }

  private async withUniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`a workstation named ${name} already exists`);
      throw error;
    }
  }
}
