/** Server state shared by several views, in TanStack Query (refetched on the matching events). */
import { useQuery } from '@tanstack/react-query';
import type { Workstation } from '../sdk/index.js';
import { api } from './session.js';

/** A workstation with the fields other units add (counts, breaker, status reason). */
export type WorkstationRow = Workstation & {
  emulators?: { total: number; running: number };
  breaker?: string;
  statusReason?: string | null;
  statusMessage?: string | null;
};

export function useWorkstations() {
  return useQuery({
    queryKey: ['workstations'],
    queryFn: async () => (await api().all((page) => api().listWorkstations(page), 500)) as WorkstationRow[],
  });
}

/** Workstation id → name, and id → tags, for the fleet's columns and filters. */
export function indexWorkstations(rows: readonly WorkstationRow[] | undefined): { names: Map<string, string>; tags: Map<string, string[]> } {
  const names = new Map<string, string>();
  const tags = new Map<string, string[]>();
  for (const row of rows ?? []) {
    names.set(row.id, row.name);
    tags.set(row.id, row.tags);
  }
  return { names, tags };
}
