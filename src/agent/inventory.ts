/**
 * The agent's view of its instances as pure data: snapshots keyed by index, the differences
 * sent to the server, and the generation rule that tells a reused index from the old instance.
 */
import { isDeepStrictEqual } from 'node:util';
import type { InventoryMessage, ObservedInstance } from '../protocol/index.js';

/** Everything the agent last observed, by ldconsole index. */
export type Snapshot = ReadonlyMap<number, ObservedInstance>;

export interface RemovedInstance {
  readonly index: number;
  readonly generation: string;
}

export interface InventoryDiff {
  readonly upserts: ObservedInstance[];
  /** The exact (index, generation) pairs that are gone. */
  readonly removed: RemovedInstance[];
}

export function snapshotOf(instances: Iterable<ObservedInstance>): Map<number, ObservedInstance> {
  const snapshot = new Map<number, ObservedInstance>();
  for (const instance of instances) snapshot.set(instance.index, instance);
  return snapshot;
}

/**
 * What changed from `previous` to `next`. An index whose generation changed is both removed
 * (the old instance) and upserted (the new one), so the server never merges the two.
 */
export function diffSnapshots(previous: Snapshot, next: Snapshot): InventoryDiff {
  const upserts: ObservedInstance[] = [];
  const removed: RemovedInstance[] = [];
  for (const [index, before] of previous) {
    const after = next.get(index);
    if (after === undefined || after.generation !== before.generation) {
      removed.push({ index, generation: before.generation });
    }
  }
  for (const [index, after] of next) {
    const before = previous.get(index);
    if (before === undefined || !isDeepStrictEqual(before, after)) upserts.push(after);
  }
  return { upserts: sortByIndex(upserts), removed: sortByIndex(removed) };
}

/** How the server applies a diff: drop the removed pairs, then write the upserts. */
export function applyDiff(snapshot: Snapshot, diff: InventoryDiff): Map<number, ObservedInstance> {
  const result = new Map(snapshot);
  for (const gone of diff.removed) {
    if (result.get(gone.index)?.generation === gone.generation) result.delete(gone.index);
  }
  for (const instance of diff.upserts) result.set(instance.index, instance);
  return result;
}

export function isEmptyDiff(diff: InventoryDiff): boolean {
  return diff.upserts.length === 0 && diff.removed.length === 0;
}

export function fullInventoryMessage(snapshot: Snapshot): InventoryMessage {
  return { type: 'inventory', full: true, upserts: sortByIndex([...snapshot.values()]), removed: [] };
}

export function diffInventoryMessage(diff: InventoryDiff): InventoryMessage {
  return { type: 'inventory', full: false, upserts: diff.upserts, removed: diff.removed };
}

function sortByIndex<T extends { index: number }>(items: T[]): T[] {
  return items.sort((a, b) => a.index - b.index);
}

// ---------------------------------------------------------------------------------------------
// Generation

/** Where a generation was read from; `listed` is made up for an index whose files cannot be read. */
export type GenerationSource = 'birth' | 'ctime' | 'listed';

export interface Generation {
  readonly value: string;
  readonly source: GenerationSource;
}

/** File times of one index, as far as they could be read. */
export interface GenerationEvidence {
  /** Creation time of `vms/leidianN`; absent when the folder is missing or the file system has none. */
  readonly folderBirthMs?: number;
  /** ctime of `vms/config/leidianN.config`. */
  readonly configCtimeMs?: number;
}

/**
 * The generation of an index. The instance folder's creation time is the evidence: deleting an
 * instance removes its folder, so a reused index gets a new folder and a new time. When the
 * file system keeps no creation time, the config's ctime stands in; ctime moves on every config
 * write, so such a generation is kept for as long as the index stays continuously listed
 * (`previous` is what this index had on the last poll, absent when it was not listed).
 * Returns null when there is no evidence at all (the config and folder are both unreadable);
 * the caller then makes up a `listed` generation, which is kept the same way.
 */
export function resolveGeneration(previous: Generation | undefined, evidence: GenerationEvidence): Generation | null {
  if (previous?.source === 'ctime' || previous?.source === 'listed') return previous;
  if (isUsableTime(evidence.folderBirthMs)) return { source: 'birth', value: encodeTime('b', evidence.folderBirthMs) };
  if (previous) return previous;
  if (isUsableTime(evidence.configCtimeMs)) return { source: 'ctime', value: encodeTime('c', evidence.configCtimeMs) };
  return null;
}

/** A generation for an index listed with no readable folder or config: unique, and kept while listed. */
export function listedGeneration(nowMs: number, sequence: number): Generation {
  return { source: 'listed', value: `${encodeTime('l', nowMs)}.${sequence.toString(36)}` };
}

function isUsableTime(ms: number | undefined): ms is number {
  // File systems without creation times report 0 (the epoch) rather than failing.
  return ms !== undefined && Number.isFinite(ms) && ms > 0;
}

/** Microsecond resolution, base 36: short, and distinct for folders created in the same millisecond. */
function encodeTime(prefix: string, ms: number): string {
  return `${prefix}${Math.round(ms * 1000).toString(36)}`;
}
