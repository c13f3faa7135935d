/**
 * The fleet view's filter: what the chips hold, how it lives in the URL (so a view can be
 * shared), which emulators it matches, and how a bulk action targets it on the server.
 */
import type { BatchTarget, Emulator } from '../../sdk/index.js';

export type StateFilter = 'stopped' | 'starting' | 'running' | 'booted';
export const STATE_FILTERS: readonly StateFilter[] = ['stopped', 'starting', 'running', 'booted'];

export interface FleetFilter {
  /** Workstation id. */
  workstation?: string;
  /** A tag of the emulator's workstation. */
  tag?: string;
  state?: StateFilter;
  /** A substring of the name, case-insensitive. */
  q?: string;
}

const KEYS = ['workstation', 'tag', 'state', 'q'] as const;

export function filterFromSearch(search: string): FleetFilter {
  const params = new URLSearchParams(search);
  const filter: FleetFilter = {};
  for (const key of KEYS) {
    const value = params.get(key)?.trim();
    if (!value) continue;
    if (key === 'state') {
      if ((STATE_FILTERS as readonly string[]).includes(value)) filter.state = value as StateFilter;
    } else filter[key] = value;
  }
  return filter;
}

/** The filter written into `search` (other parameters kept), in a stable order. */
export function filterToSearch(filter: FleetFilter, search = ''): string {
  const params = new URLSearchParams(search);
  for (const key of KEYS) {
    const value = filter[key];
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function isEmptyFilter(filter: FleetFilter): boolean {
  return KEYS.every((key) => !filter[key]);
}

/** The state shown for an emulator: a running one whose Android has booted is `booted`. */
export function displayState(emulator: Pick<Emulator, 'state' | 'booted'>): StateFilter {
  return emulator.state === 'running' && emulator.booted ? 'booted' : emulator.state;
}

/** A predicate for the filter; `tagsOf` gives a workstation's tags. */
export function matcher(filter: FleetFilter, tagsOf: (workstationId: string) => readonly string[]): (emulator: Emulator) => boolean {
  const q = filter.q?.toLowerCase();
  return (emulator) => {
    if (filter.workstation && emulator.workstationId !== filter.workstation) return false;
    if (filter.state) {
      const state = displayState(emulator);
      // `running` includes the booted ones, as the API's state filter does.
      if (filter.state === 'running' ? state !== 'running' && state !== 'booted' : state !== filter.state) return false;
    }
    if (q && !emulator.name.toLowerCase().includes(q)) return false;
    if (filter.tag && !tagsOf(emulator.workstationId).includes(filter.tag)) return false;
    return true;
  };
}

/**
 * How a bulk action over "everything matching" names its targets: the server's own filter when
 * it can express this one (so emulators that appear meanwhile are included), else the ids.
 */
export function batchTargetFor(filter: FleetFilter, matchingIds: readonly string[]): BatchTarget {
  const serverExpressible = !filter.tag && filter.state !== 'booted';
  if (serverExpressible && !isEmptyFilter(filter)) {
    const server: { workstation?: string; state?: 'stopped' | 'starting' | 'running'; q?: string } = {};
    if (filter.workstation) server.workstation = filter.workstation;
    if (filter.state) server.state = filter.state as 'stopped' | 'starting' | 'running';
    if (filter.q) server.q = filter.q;
    return { filter: server };
  }
  return { ids: [...matchingIds] };
}
