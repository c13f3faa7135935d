/** Reads of the inventory for the API: always from the store, never from an agent. */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { InstanceState } from '../../protocol/index.js';
import type { Database, Page, PageRequest } from '../store/index.js';
import { ROWS_PER_STATEMENT, chunks, paginate } from '../store/index.js';
import { toEmulator } from './mapping.js';
import type { Emulator } from './types.js';

export interface EmulatorFilter {
  /** A workstation id or name. */
  readonly workstation?: string | undefined;
  readonly state?: InstanceState | undefined;
  /** A substring of the name, case-insensitive. */
  readonly q?: string | undefined;
  /** A tag of the emulator's workstation. */
  readonly tag?: string | undefined;
}

/**
 * One page of emulators. The emulators table alone is counted and paged (a join with
 * workstations tripled the page's SQL time at 10,000 rows); a workstation filter given by name
 * becomes ids first, and the names of the page's workstations are one small read after.
 */
export async function listEmulators(db: Kysely<Database>, filter: EmulatorFilter, page: PageRequest): Promise<Page<Emulator>> {
  let query = db.selectFrom('emulators').selectAll();
  if (filter.workstation !== undefined) {
    const workstation = filter.workstation;
    const named = await db
      .selectFrom('workstations')
      .select('id')
      .where((eb) => eb.or([eb('id', '=', workstation), eb('name', '=', workstation)]))
      .execute();
    if (named.length === 0) return { items: [], nextCursor: null, total: 0 };
    query = query.where('workstation_id', 'in', named.map((row) => row.id));
  }
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.q !== undefined && filter.q.length > 0) {
    query = query.where(sql<boolean>`lower(name) like ${likePattern(filter.q)} escape '\\'`);
  }
  if (filter.tag !== undefined) {
    const tagged = await workstationsTagged(db, filter.tag);
    if (tagged.length === 0) return { items: [], nextCursor: null, total: 0 };
    query = query.where('workstation_id', 'in', tagged);
  }
  const result = await paginate(query, 'id', page);
  const names = await workstationNames(db, result.items.map((row) => row.workstation_id));
  return { ...result, items: result.items.map((row) => toEmulator(row, names.get(row.workstation_id))) };
}

/** The names of these workstations, by id. */
export async function workstationNames(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const chunk of chunks([...new Set(ids)], ROWS_PER_STATEMENT)) {
    for (const row of await db.selectFrom('workstations').select(['id', 'name']).where('id', 'in', chunk).execute()) names.set(row.id, row.name);
  }
  return names;
}

export async function getEmulator(db: Kysely<Database>, id: string): Promise<Emulator | null> {
  const row = await db
    .selectFrom('emulators')
    .innerJoin('workstations', 'workstations.id', 'emulators.workstation_id')
    .selectAll('emulators')
    .select('workstations.name as workstation_name')
    .where('emulators.id', '=', id)
    .executeTakeFirst();
  return row ? toEmulator(row, row.workstation_name) : null;
}

/**
 * Tags are a JSON list per workstation; matching them in JavaScript stays portable between the
 * two databases and costs one small read (a fleet has hundreds of workstations, not millions).
 */
async function workstationsTagged(db: Kysely<Database>, tag: string): Promise<string[]> {
  const rows = await db.selectFrom('workstations').select(['id', 'tags']).execute();
  return rows.filter((row) => tagsOf(row.tags).includes(tag)).map((row) => row.id);
}

function tagsOf(json: string): string[] {
  try {
    const tags = JSON.parse(json) as unknown;
    return Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : [];
  } catch {
    return [];
  }
}

/** `%text%` in lower case, with LIKE's wildcards taken literally. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
