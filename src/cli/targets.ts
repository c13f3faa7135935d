/**
 * What an action runs on: one emulator (an id or `workstation/name`), several, or a filter
 * (`--where state=stopped,workstation=pc-07,tag=rack-a,q=farm`). More than one runs as a batch.
 */
import type { BatchTarget, Emulator, EmulatorQuery, LdfleetClient } from '../sdk/index.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';

export type Where = Pick<EmulatorQuery, 'state' | 'workstation' | 'tag' | 'q'>;

const WHERE_KEYS = ['state', 'workstation', 'tag', 'q'] as const;
const STATES = ['stopped', 'starting', 'running'] as const;

/** Parses `k=v,k=v`; an unknown key, an empty value or a repeated key is a usage error naming it. */
export function parseWhere(text: string): Where {
  const where: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw usageError(`--where "${part}" is not key=value (keys: ${WHERE_KEYS.join(', ')})`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!(WHERE_KEYS as readonly string[]).includes(key)) {
      throw usageError(`--where: unknown key "${key}" (use ${WHERE_KEYS.join(', ')})`);
    }
    if (value === '') throw usageError(`--where: key "${key}" needs a value`);
    if (key in where) throw usageError(`--where: key "${key}" is given twice`);
    if (key === 'state' && !(STATES as readonly string[]).includes(value)) {
      throw usageError(`--where: state "${value}" is not one of ${STATES.join(', ')}`);
    }
    where[key] = value;
  }
  if (Object.keys(where).length === 0) throw usageError('--where needs at least one key=value');
  return where;
}

export type Resolved = { kind: 'one'; emulator: Emulator } | { kind: 'batch'; target: BatchTarget; size?: number };

/** Turns the positional targets or `--where` into one emulator or a batch target. */
export async function resolveTargets(client: LdfleetClient, args: readonly string[], whereText: string | undefined): Promise<Resolved> {
  if (whereText !== undefined && args.length > 0) throw usageError('give emulators or --where, not both');
  if (whereText !== undefined) {
    const where = parseWhere(whereText);
    if (where.tag === undefined) {
      const { tag: _none, ...filter } = where;
      return { kind: 'batch', target: { filter } };
    }
    // The batch filter has no tag: the emulators it matches are resolved here and sent by id.
    const ids = (await client.all((page) => client.listEmulators({ ...page, ...where }))).map((emulator) => emulator.id);
    if (ids.length === 0) throw new CliError(ExitCode.notFound, `no emulator matches --where ${whereText}`);
    return { kind: 'batch', target: { ids }, size: ids.length };
  }
  if (args.length === 0) throw usageError('give an emulator (id or workstation/name), several, or --where k=v,…');
  if (args.length === 1) return { kind: 'one', emulator: await resolveEmulator(client, args[0]!) };
  const ids = await Promise.all(args.map(async (arg) => (arg.includes('/') ? (await resolveEmulator(client, arg)).id : arg)));
  return { kind: 'batch', target: { ids: [...new Set(ids)] }, size: new Set(ids).size };
}

/** One emulator by id or `workstation/name` (workstation names cannot hold a slash; instance names can). */
export async function resolveEmulator(client: LdfleetClient, ref: string): Promise<Emulator> {
  const slash = ref.indexOf('/');
  if (slash < 0) return client.getEmulator(ref);
  const workstation = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  if (workstation === '' || name === '') throw usageError(`"${ref}" is not workstation/name`);
  const named = (list: Emulator[]) => list.filter((emulator) => emulator.name === name);
  let exact = named(await client.all((page) => client.listEmulators({ ...page, workstation, q: name })));
  // SQLite's lower() folds ASCII only, so `q` misses names like "Тест-1": fall back to the whole workstation.
  if (exact.length === 0) exact = named(await client.all((page) => client.listEmulators({ ...page, workstation })));
  if (exact.length === 0) throw new CliError(ExitCode.notFound, `no emulator named "${name}" on workstation ${workstation}`);
  if (exact.length > 1) {
    throw usageError(`${exact.length} emulators are named "${name}" on ${workstation}; give an id: ${exact.map((emulator) => emulator.id).join(', ')}`);
  }
  return exact[0]!;
}

/** `workstation/name` for people. */
export function emulatorLabel(emulator: Pick<Emulator, 'name' | 'workstationName' | 'workstationId'>): string {
  return `${emulator.workstationName ?? emulator.workstationId}/${emulator.name}`;
}
