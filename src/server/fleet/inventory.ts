/**
 * How an agent's inventory message changes the stored emulators, as pure data: which rows to
 * insert, update and remove, and which events that makes. Kept apart from the database so the
 * identity rules can be read (and tested) on their own.
 */
import { isDeepStrictEqual } from 'node:util';
import type { InventoryMessage, ObservedInstance } from '../../protocol/index.js';
import type { EmulatorsTable } from './schema.js';

export type EmulatorChange =
  | { kind: 'created'; row: EmulatorsTable }
  | { kind: 'removed'; row: EmulatorsTable }
  | { kind: 'updated'; row: EmulatorsTable }
  | { kind: 'state'; row: EmulatorsTable; previous: EmulatorsTable };

export interface InventoryPlan {
  /** New and changed rows, written with one upsert per batch. */
  readonly writes: EmulatorsTable[];
  readonly removals: EmulatorsTable[];
  /** What happened, in the order events are published: removals first, then the rest. */
  readonly changes: EmulatorChange[];
}

export interface PlanContext {
  readonly workstationId: string;
  readonly now: string;
  readonly newId: () => string;
}

/**
 * Identity is (workstation, index, generation): an upsert whose generation differs from the
 * stored one at that index is a new emulator, and the old one is removed. A `full` message
 * removes every stored emulator it does not list.
 */
export function planInventory(
  existing: readonly EmulatorsTable[],
  message: InventoryMessage,
  context: PlanContext,
): InventoryPlan {
  const removals = new Map<string, EmulatorsTable>();
  const kept = new Set<string>();
  const writes: EmulatorsTable[] = [];
  const upsertChanges: EmulatorChange[] = [];
  const rowsByIndex = groupByIndex(existing);

  for (const gone of message.removed) {
    const row = rowsByIndex.get(gone.index)?.find((candidate) => candidate.generation === gone.generation);
    if (row) removals.set(row.id, row);
  }

  for (const instance of lastPerIndex(message.upserts)) {
    const rowsAtIndex = rowsByIndex.get(instance.index) ?? [];
    for (const row of rowsAtIndex) {
      if (row.generation !== instance.generation) removals.set(row.id, row);
    }
    const current = rowsAtIndex.find((row) => row.generation === instance.generation);
    if (current === undefined) {
      const row = newRow(instance, context);
      writes.push(row);
      upsertChanges.push({ kind: 'created', row });
      continue;
    }
    kept.add(current.id);
    removals.delete(current.id);
    const next = observedRow(current, instance, context.now);
    const changes = changesBetween(current, next);
    if (changes.length > 0) {
      writes.push(next);
      upsertChanges.push(...changes);
    }
  }

  if (message.full) {
    for (const row of existing) if (!kept.has(row.id)) removals.set(row.id, row);
  }

  const removed = [...removals.values()];
  return {
    writes,
    removals: removed,
    changes: [...removed.map((row): EmulatorChange => ({ kind: 'removed', row })), ...upsertChanges],
  };
}

/**
 * The real changes from one stored row to the next. pids come and go with the state, so they
 * count as a detail change only when nothing else changed.
 */
function changesBetween(previous: EmulatorsTable, next: EmulatorsTable): EmulatorChange[] {
  const stateChanged = previous.state !== next.state || previous.booted !== next.booted;
  const detailsChanged =
    previous.name !== next.name ||
    previous.adb_serial !== next.adb_serial ||
    (previous.problem ?? null) !== next.problem ||
    !sameJson(previous.settings, next.settings);
  const pidsChanged = !sameJson(previous.pids, next.pids);
  const changes: EmulatorChange[] = [];
  if (stateChanged) changes.push({ kind: 'state', row: next, previous });
  if (detailsChanged || (pidsChanged && !stateChanged)) changes.push({ kind: 'updated', row: next });
  return changes;
}

function sameJson(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return isDeepStrictEqual(JSON.parse(a), JSON.parse(b));
}

function newRow(instance: ObservedInstance, context: PlanContext): EmulatorsTable {
  return {
    id: context.newId(),
    workstation_id: context.workstationId,
    idx: instance.index,
    generation: instance.generation,
    ...observedColumns(instance),
    observed_at: context.now,
    created_at: context.now,
    updated_at: context.now,
  };
}

function observedRow(current: EmulatorsTable, instance: ObservedInstance, now: string): EmulatorsTable {
  return { ...current, ...observedColumns(instance), observed_at: now, updated_at: now };
}

function observedColumns(instance: ObservedInstance) {
  return {
    name: instance.name,
    state: instance.state,
    booted: instance.booted ? 1 : 0,
    pids: instance.pids === null ? null : JSON.stringify(instance.pids),
    settings: JSON.stringify(instance.settings),
    adb_serial: instance.adbSerial,
    problem: instance.problem ?? null,
  };
}

function groupByIndex(rows: readonly EmulatorsTable[]): Map<number, EmulatorsTable[]> {
  const byIndex = new Map<number, EmulatorsTable[]>();
  for (const row of rows) {
    const list = byIndex.get(row.idx);
    if (list) list.push(row);
    else byIndex.set(row.idx, [row]);
  }
  return byIndex;
}

/** A message listing one index twice means its last entry. */
function lastPerIndex(instances: readonly ObservedInstance[]): ObservedInstance[] {
  return [...new Map(instances.map((instance) => [instance.index, instance])).values()];
}
