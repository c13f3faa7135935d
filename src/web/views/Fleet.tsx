/**
 * The fleet: every emulator in one virtualised table (10,000 rows scroll as 30), filter chips
 * kept in the URL, selection by row, range (shift) or "all N matching", and the bulk actions.
 */
import { Alert, Anchor, Badge, Button, Checkbox, CloseButton, Group, Loader, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { flexRender, getCoreRowModel, getSortedRowModel, useReactTable } from '@tanstack/react-table';
import type { ColumnDef, SortingState } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MouseEvent } from 'react';
import type { Emulator } from '../../sdk/index.js';
import { STATE_FILTERS, batchTargetFor, displayState, filterFromSearch, filterToSearch, matcher } from '../logic/filters.js';
import type { FleetFilter } from '../logic/filters.js';
import { EMPTY_SELECTION, clickRow, describeTargets, isSelected, plural, selectAllMatching, selectedIds } from '../logic/selection.js';
import type { Selection } from '../logic/selection.js';
import { useFleet } from '../live.js';
import type { LastOperation } from '../live.js';
import { indexWorkstations, useWorkstations } from '../queries.js';
import { navigate, useLocation } from '../router.js';
import { can, useSession } from '../session.js';
import { StateBadge, StatusBadge } from '../ui.js';
import { BulkActions } from './BulkActions.js';

interface Row {
  emulator: Emulator;
  workstation: string;
  tags: string[];
  last: LastOperation | undefined;
}

const STATE_ORDER = { stopped: 0, starting: 1, running: 2, booted: 3 } as const;

export function FleetView() {
  const location = useLocation();
  const filter = useMemo(() => filterFromSearch(location.search), [location.search]);
  const fleet = useFleet();
  const workstations = useWorkstations();
  const { names, tags } = useMemo(() => indexWorkstations(workstations.data), [workstations.data]);
  const [selection, setSelection] = useState<Selection>(EMPTY_SELECTION);
  const [sorting, setSorting] = useState<SortingState>([{ id: 'name', desc: false }]);
  const session = useSession();
  const operator = can(session.role, 'operator');

  // A new filter starts a new selection: "all matching" of the old filter means nothing now.
  const filterKey = filterToSearch(filter);
  useEffect(() => setSelection(EMPTY_SELECTION), [filterKey]);

  const rows = useMemo(() => {
    const matches = matcher(filter, (id) => tags.get(id) ?? []);
    const result: Row[] = [];
    for (const emulator of fleet.emulators.values()) {
      if (!matches(emulator)) continue;
      result.push({ emulator, workstation: names.get(emulator.workstationId) ?? emulator.workstationName ?? emulator.workstationId, tags: tags.get(emulator.workstationId) ?? [], last: fleet.lastOperation.get(emulator.id) });
    }
    return result;
  }, [fleet.version, filterKey, names, tags]);

  const setFilter = (change: Partial<FleetFilter>, replace = false) => navigate(`/${filterToSearch({ ...filter, ...change }, location.search)}`, replace);

  const columns = useMemo<ColumnDef<Row>[]>(
    () => [
      { id: 'name', header: 'Name', accessorFn: (row) => row.emulator.name, meta: { className: 'col-name' } },
      { id: 'workstation', header: 'Workstation', accessorFn: (row) => row.workstation },
      { id: 'state', header: 'State', accessorFn: (row) => STATE_ORDER[displayState(row.emulator)], meta: { className: 'col-state' } },
      { id: 'cpu', header: 'CPU', accessorFn: (row) => row.emulator.settings.cpu, meta: { className: 'wide-only', width: 56 } },
      { id: 'memory', header: 'Memory', accessorFn: (row) => row.emulator.settings.memoryMb, meta: { className: 'wide-only', width: 80 } },
      { id: 'resolution', header: 'Resolution', accessorFn: (row) => row.emulator.settings.resolution.width * row.emulator.settings.resolution.height, meta: { className: 'wide-only' } },
      { id: 'tags', header: 'Tags', accessorFn: (row) => row.tags.join(','), meta: { className: 'wide-only' } },
      { id: 'last', header: 'Last operation', accessorFn: (row) => row.last?.action ?? '', meta: { className: 'wide-only' } },
    ],
    [],
  );
  const table = useReactTable({ data: rows, columns, state: { sorting }, onSortingChange: setSorting, getCoreRowModel: getCoreRowModel(), getSortedRowModel: getSortedRowModel(), getRowId: (row) => row.emulator.id });
  const tableRows = table.getRowModel().rows;
  const order = useMemo(() => tableRows.map((row) => row.id), [tableRows]);
  const matchingIds = useMemo(() => rows.map((row) => row.emulator.id), [rows]);

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: tableRows.length, getScrollElement: () => scrollRef.current, estimateSize: () => 36, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const padTop = items[0]?.start ?? 0;
  const padBottom = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);

  const chosen = useMemo(() => selectedIds(selection, matchingIds), [selection, matchingIds]);
  const scope = describeTargets(chosen, (id) => fleet.emulators.get(id)?.workstationId);
  const target = selection.allMatching ? batchTargetFor(filter, matchingIds) : { ids: chosen };

  const onCheck = (id: string, event: MouseEvent) => setSelection((known) => clickRow(known, id, order, event.shiftKey));
  const tagOptions = useMemo(() => [...new Set([...tags.values()].flat())].sort(), [tags]);

  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Title order={2} size="h3">
          Fleet
        </Title>
        <Text size="sm" c="dimmed" role="status" aria-live="polite" data-testid="fleet-count">
          {rows.length === fleet.emulators.size ? plural(rows.length, 'instance') : `${rows.length} of ${plural(fleet.emulators.size, 'instance')}`}
          {!fleet.complete && fleet.loaded ? ' (loading…)' : ''}
        </Text>
      </Group>
      <Group gap="xs" wrap="wrap" align="flex-end">
        <TextInput label="Search names" placeholder="name contains…" size="xs" w={180} defaultValue={filter.q ?? ''} key={`q-${filter.q ?? ''}`} onChange={(event) => setFilter({ q: event.currentTarget.value || undefined }, true)} />
        <Select label="Workstation" placeholder="any" size="xs" w={160} clearable searchable data={(workstations.data ?? []).map((row) => ({ value: row.id, label: row.name }))} value={filter.workstation ?? null} onChange={(value) => setFilter({ workstation: value ?? undefined })} />
        <Select label="Tag" placeholder="any" size="xs" w={120} clearable data={tagOptions} value={filter.tag ?? null} onChange={(value) => setFilter({ tag: value ?? undefined })} />
        <Select label="State" placeholder="any" size="xs" w={120} clearable data={[...STATE_FILTERS]} value={filter.state ?? null} onChange={(value) => setFilter({ state: (value as FleetFilter['state']) ?? undefined })} />
      </Group>
      <FilterChips filter={filter} names={names} onRemove={(key) => setFilter({ [key]: undefined })} />
      {operator && (
        <Group gap="sm" wrap="wrap" aria-label="Selection">
          <Text size="sm" data-testid="selection-count">
            {selection.allMatching ? `All ${plural(rows.length, 'instance')} matching selected` : `${chosen.length} selected`}
          </Text>
          {!selection.allMatching && rows.length > 0 && (
            <Button size="xs" variant="light" onClick={() => setSelection(selectAllMatching())}>
              {`Select all ${rows.length} matching`}
            </Button>
          )}
          {(selection.allMatching || chosen.length > 0) && (
            <Button size="xs" variant="subtle" onClick={() => setSelection(EMPTY_SELECTION)}>
              Clear selection
            </Button>
          )}
          <BulkActions selection={{ target, ids: chosen, ...scope }} onSubmitted={() => setSelection(EMPTY_SELECTION)} />
        </Group>
      )}
      {fleet.error && (
        <Alert color="red" role="alert" title="The inventory did not load">
          {fleet.error}
        </Alert>
      )}
      {!fleet.loaded ? (
        <Loader aria-label="Loading the fleet" />
      ) : (
        <div className="fleet-scroll" ref={scrollRef} data-testid="fleet-scroll">
          <table className="fleet-table" aria-label="Emulators" aria-rowcount={tableRows.length}>
            <thead>
              <tr>
                {operator && <th className="col-check" aria-label="Selected" />}
                {table.getFlatHeaders().map((header) => {
                  const meta = header.column.columnDef.meta as { className?: string; width?: number } | undefined;
                  const sorted = header.column.getIsSorted();
                  return (
                    <th key={header.id} className={meta?.className} style={meta?.width ? { width: meta.width } : undefined} aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'}>
                      <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                        {flexRender(header.column.columnDef.header, header.getContext())}
                        {sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}
                      </button>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {padTop > 0 && (
                <tr aria-hidden>
                  <td style={{ height: padTop, padding: 0, border: 0 }} colSpan={9} />
                </tr>
              )}
              {items.map((item) => {
                const row = tableRows[item.index]!.original;
                return <FleetRow key={row.emulator.id} row={row} selected={isSelected(selection, row.emulator.id)} operator={operator} onCheck={onCheck} />;
              })}
              {padBottom > 0 && (
                <tr aria-hidden>
                  <td style={{ height: padBottom, padding: 0, border: 0 }} colSpan={9} />
                </tr>
              )}
            </tbody>
          </table>
          {rows.length === 0 && (
            <Text p="md" c="dimmed">
              No instance matches this filter.
            </Text>
          )}
        </div>
      )}
    </Stack>
  );
}

function FleetRow({ row, selected, operator, onCheck }: { row: Row; selected: boolean; operator: boolean; onCheck: (id: string, event: MouseEvent) => void }) {
  const { emulator } = row;
  const state = displayState(emulator);
  const { width, height, dpi } = emulator.settings.resolution;
  return (
    <tr data-selected={selected} data-emulator={emulator.id} data-state={state}>
      {operator && (
        <td className="col-check">
          <Checkbox size="xs" checked={selected} aria-label={`Select ${emulator.name}`} onChange={() => undefined} onClick={(event) => onCheck(emulator.id, event)} />
        </td>
      )}
      <td className="col-name">
        <Anchor
          href={`/emulators/${encodeURIComponent(emulator.id)}`}
          size="sm"
          onClick={(event) => {
            event.preventDefault();
            navigate(`/emulators/${encodeURIComponent(emulator.id)}`);
          }}
        >
          {emulator.name}
        </Anchor>
      </td>
      <td>{row.workstation}</td>
      <td>
        <StateBadge state={state} />
      </td>
      <td className="wide-only">{emulator.settings.cpu}</td>
      <td className="wide-only">{emulator.settings.memoryMb} MB</td>
      <td className="wide-only">
        {width}×{height} · {dpi}
      </td>
      <td className="wide-only">
        {row.tags.map((tag) => (
          <Badge key={tag} size="xs" variant="outline" mr={4}>
            {tag}
          </Badge>
        ))}
      </td>
      <td className="wide-only" title={row.last?.error ? `${row.last.error.category}: ${row.last.error.message}` : undefined}>
        {row.last ? (
          <Group gap={4} wrap="nowrap">
            <Text size="xs">{row.last.action}</Text>
            <StatusBadge status={row.last.status} />
          </Group>
        ) : (
          '–'
        )}
      </td>
    </tr>
  );
}

function FilterChips({ filter, names, onRemove }: { filter: FleetFilter; names: Map<string, string>; onRemove: (key: keyof FleetFilter) => void }) {
  const entries = (Object.entries(filter) as [keyof FleetFilter, string][]).filter(([, value]) => value);
  if (entries.length === 0) return null;
  return (
    <Group gap={6} aria-label="Active filters">
      {entries.map(([key, value]) => {
        const text = `${key}: ${key === 'workstation' ? (names.get(value) ?? value) : value}`;
        return (
          <Badge key={key} variant="light" size="lg" rightSection={<CloseButton size="xs" aria-label={`Remove filter ${text}`} onClick={() => onRemove(key)} />}>
            {text}
          </Badge>
        );
      })}
    </Group>
  );
}
