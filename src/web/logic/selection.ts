/**
 * Row selection of a big list: one by one, a range with shift, or "all N matching the filter"
 * (then the action targets the filter, not the rows loaded). Immutable values, so React can
 * compare them cheaply.
 */
export interface Selection {
  /** Every row matching the filter, whatever is loaded or visible. */
  readonly allMatching: boolean;
  readonly ids: ReadonlySet<string>;
  /** The row a shift-click extends from. */
  readonly anchor: string | null;
}

export const EMPTY_SELECTION: Selection = { allMatching: false, ids: new Set(), anchor: null };

/** A click on a row; `order` is the ids in display order (for ranges). */
export function clickRow(selection: Selection, id: string, order: readonly string[], shift: boolean): Selection {
  if (shift && selection.anchor !== null) {
    const from = order.indexOf(selection.anchor);
    const to = order.indexOf(id);
    if (from >= 0 && to >= 0) {
      const ids = new Set(selection.allMatching ? [] : selection.ids);
      const [low, high] = from <= to ? [from, to] : [to, from];
      for (let i = low; i <= high; i += 1) ids.add(order[i]!);
      return { allMatching: false, ids, anchor: selection.anchor };
    }
  }
  const ids = new Set(selection.allMatching ? order : selection.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { allMatching: false, ids, anchor: id };
}

export function selectAllMatching(): Selection {
  return { allMatching: true, ids: new Set(), anchor: null };
}

export function isSelected(selection: Selection, id: string): boolean {
  return selection.allMatching || selection.ids.has(id);
}

/** The selected ids among `matching` (rows that left the filter drop out of the selection). */
export function selectedIds(selection: Selection, matching: readonly string[]): string[] {
  return selection.allMatching ? [...matching] : matching.filter((id) => selection.ids.has(id));
}

/** "12 instances on 3 workstations": what a confirmation says an action will touch. */
export function describeTargets(ids: readonly string[], workstationOf: (id: string) => string | undefined): { instances: number; workstations: number } {
  const workstations = new Set<string>();
  for (const id of ids) {
    const workstation = workstationOf(id);
    if (workstation !== undefined) workstations.add(workstation);
  }
  return { instances: ids.length, workstations: workstations.size };
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
