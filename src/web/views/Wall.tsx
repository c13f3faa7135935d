/**
 * The screen wall: a thumbnail per running instance (filtered like the fleet). Only tiles on
 * screen refresh, every few seconds, through a small shared queue (at most 3 requests in
 * flight for the whole page). Click opens the detail; shift-click selects for a bulk action.
 */
import { Group, Select, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MouseEvent } from 'react';
import type { Emulator } from '../../sdk/index.js';
import { batchTargetFor, displayState, filterFromSearch, filterToSearch, matcher } from '../logic/filters.js';
import type { FleetFilter } from '../logic/filters.js';
import { describeTargets, plural } from '../logic/selection.js';
import { useFleet } from '../live.js';
import { indexWorkstations, useWorkstations } from '../queries.js';
import { navigate, useLocation } from '../router.js';
import { api, can, useSession } from '../session.js';
import { BulkActions } from './BulkActions.js';

const REFRESH_MS = 5000;
const MAX_IN_FLIGHT = 3;
const MAX_TILES = 200;

/** Screenshot requests of the whole page go through this queue. */
const queue: (() => Promise<void>)[] = [];
let inFlight = 0;
function schedule(task: () => Promise<void>): void {
  queue.push(task);
  pump();
}
function pump(): void {
  while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
    const task = queue.shift()!;
    inFlight += 1;
    void task().finally(() => {
      inFlight -= 1;
      pump();
    });
  }
}

export function WallView() {
  const location = useLocation();
  const filter = useMemo(() => filterFromSearch(location.search), [location.search]);
  const fleet = useFleet();
  const workstations = useWorkstations();
  const { tags } = useMemo(() => indexWorkstations(workstations.data), [workstations.data]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const session = useSession();
  const filterKey = filterToSearch(filter);
  const running = useMemo(() => {
    const matches = matcher(filter, (id) => tags.get(id) ?? []);
    return [...fleet.emulators.values()].filter((emulator) => emulator.state !== 'stopped' && matches(emulator)).sort((a, b) => a.name.localeCompare(b.name));
  }, [fleet.version, filterKey, tags]);
  const shown = running.slice(0, MAX_TILES);
  const setFilter = (change: Partial<FleetFilter>) => navigate(`/wall${filterToSearch({ ...filter, ...change }, location.search)}`, true);
  const ids = [...selected].filter((id) => fleet.emulators.has(id));
  const scope = describeTargets(ids, (id) => fleet.emulators.get(id)?.workstationId);

  const onTile = (emulator: Emulator, event: MouseEvent) => {
    if (event.shiftKey) {
      setSelected((known) => {
        const next = new Set(known);
        if (next.has(emulator.id)) next.delete(emulator.id);
        else next.add(emulator.id);
        return next;
      });
    } else navigate(`/emulators/${encodeURIComponent(emulator.id)}`);
  };

  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={2} size="h3">
          Screen wall
        </Title>
        <Text size="sm" c="dimmed">
          {plural(running.length, 'running instance')}
          {running.length > MAX_TILES ? ` (first ${MAX_TILES} shown; narrow the filter)` : ''}
        </Text>
      </Group>
      <Group gap="xs" align="flex-end" wrap="wrap">
        <TextInput label="Search names" size="xs" w={180} defaultValue={filter.q ?? ''} onChange={(event) => setFilter({ q: event.currentTarget.value || undefined })} />
        <Select label="Workstation" placeholder="any" size="xs" w={160} clearable data={(workstations.data ?? []).map((row) => ({ value: row.id, label: row.name }))} value={filter.workstation ?? null} onChange={(value) => setFilter({ workstation: value ?? undefined })} />
      </Group>
      {can(session.role, 'operator') && (
        <Group gap="sm">
          <Text size="sm">{ids.length > 0 ? `${ids.length} selected` : 'Shift-click tiles to select them'}</Text>
          <BulkActions selection={{ target: batchTargetFor({}, ids), ids, ...scope }} onSubmitted={() => setSelected(new Set())} />
        </Group>
      )}
      <SimpleGrid cols={{ base: 2, xs: 3, sm: 4, lg: 6 }} spacing="sm">
        {shown.map((emulator) => (
          <Tile key={emulator.id} emulator={emulator} selected={selected.has(emulator.id)} onClick={onTile} />
        ))}
      </SimpleGrid>
    </Stack>
  );
}

function Tile({ emulator, selected, onClick }: { emulator: Emulator; selected: boolean; onClick: (emulator: Emulator, event: MouseEvent) => void }) {
  const ref = useRef<HTMLButtonElement>(null);
  const [visible, setVisible] = useState(false);
  const [url, setUrl] = useState<string | null>(null);
  const state = displayState(emulator);

  useEffect(() => {
    const observer = new IntersectionObserver(([entry]) => setVisible(entry?.isIntersecting ?? false));
    if (ref.current) observer.observe(ref.current);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (!visible || emulator.state === 'stopped') return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      schedule(async () => {
        if (stopped) return;
        try {
          const png = await api().screenshot(emulator.id);
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the cleanup sets it during the await; TypeScript keeps the narrowing across it
          if (stopped) return;
          const next = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
          setUrl((old) => {
            if (old) URL.revokeObjectURL(old);
            return next;
          });
        } catch {
          // A tile whose screen cannot be read keeps its last picture; the border shows its state.
        } finally {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- as above
          if (!stopped) timer = setTimeout(load, REFRESH_MS);
        }
      });
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [visible, emulator.id, emulator.state]);

  useEffect(() => () => {
    if (url) URL.revokeObjectURL(url);
  }, [url]);

  return (
    <button ref={ref} type="button" className="tile" data-state={state} data-selected={selected} aria-pressed={selected} aria-label={`${emulator.name}, ${state}`} onClick={(event) => onClick(emulator, event)}>
      {url ? <img src={url} alt="" /> : <div className="blank" />}
      <Text size="xs" px={6} py={4} truncate ta="left">
        {emulator.name}
      </Text>
    </button>
  );
}
