/** Reads of the inventory for the API: always from the store, never from an agent. */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { InstanceState } from '../../protocol/index.js';
import type { Database, Page, PageRequest } from '../store/index.js';
import { paginate } from '../store/index.js';
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

export async function listEmulators(db: Kysely<Database>, filter: EmulatorFilter, page: PageRequest): Promise<Page<Emulator>> {
  let query = db
    .selectFrom('emulators')
    .innerJoin('workstations', 'workstations.id', 'emulators.workstation_id')
    .selectAll('emulators')
    .select('workstations.name as workstation_name');
  if (filter.workstation !== undefined) {
    const workstation = filter.workstation;
    query = query.where((eb) => eb.or([eb('emulators.workstation_id', '=', workstation), eb('workstations.name', '=', workstation)]));
  }
  if (filter.state !== undefined) query = query.where('emulators.state', '=', filter.state);
  if (filter.q !== undefined && filter.q.length > 0) {
    query = query.where(sql<boolean>`lower(emulators.name) like ${likePattern(filter.q)} escape '\\'`);
  }
  if (filter.tag !== undefined) {
    const tagged = await workstationsTagged(db, filter.tag);
    if (tagged.length === 0) return { items: [], nextCursor: null, total: 0 };
    query = query.where('emulators.workstation_id', 'in', tagged);
  }
  const result = await paginate(query, 'emulators.id', page);
  return { ...result, items: result.items.map((row) => toEmulator(row, row.workstation_name)) };
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
