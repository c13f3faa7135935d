/**
 * Live data: the whole inventory held once in the page (10,000 rows are a few MB), kept current
 * by the event stream, and the other server state in TanStack Query, refreshed by the same
 * events. The stream is coalesced (the server sends each emulator's last state per ~50 ms
 * frame) and events are applied once per animation frame, so 200 changes a second cost 20
 * renders at most; after the stream comes back or says `stream.resync` everything is refetched
 * (events may have been missed).
 */
import { QueryClient } from '@tanstack/react-query';
import { useSyncExternalStore } from 'react';
import { subscribeEvents } from '../sdk/index.js';
import type { Batch, Emulator, EventSubscription, FleetStreamEvent, Operation, StreamStatus } from '../sdk/index.js';
import { api } from './session.js';

export const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 30_000, refetchOnWindowFocus: false, retry: 1 } },
});

export interface LastOperation {
  id: string;
  action: string;
  status: Operation['status'];
  error?: Operation['error'];
}

export interface FleetSnapshot {
  /** Bumped on every change, for memoised derivations. */
  version: number;
  /**
   * Bumped when an emulator appears, goes or changes name or workstation: lists derive their
   * rows from this (and `stateVersion` when they filter or sort by state), so a state change
   * re-renders only its own row.
   */
  structureVersion: number;
  stateVersion: number;
  emulators: ReadonlyMap<string, Emulator>;
  lastOperation: ReadonlyMap<string, LastOperation>;
  /** The first page arrived (the view can render); `complete` once every page did. */
  loaded: boolean;
  complete: boolean;
  error: string | null;
}

let snapshot: FleetSnapshot = { version: 0, structureVersion: 0, stateVersion: 0, emulators: new Map(), lastOperation: new Map(), loaded: false, complete: false, error: null };
let stream: StreamStatus = 'connecting';
const listeners = new Set<() => void>();
const operationListeners = new Set<(operation: Operation) => void>();
let subscription: EventSubscription | undefined;
let pending: FleetStreamEvent[] = [];
let frame: number | undefined;
let loadGeneration = 0;

function notify(): void {
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useFleet(): FleetSnapshot {
  return useSyncExternalStore(subscribe, () => snapshot);
}

export function useStreamStatus(): StreamStatus {
  return useSyncExternalStore(subscribe, () => stream);
}

export function fleetNow(): FleetSnapshot {
  return snapshot;
}

/** One emulator, re-rendering its component only when that emulator changes. */
export function useEmulator(id: string): Emulator | undefined {
  return useSyncExternalStore(subscribe, () => snapshot.emulators.get(id));
}

export function useLastOperation(id: string): LastOperation | undefined {
  return useSyncExternalStore(subscribe, () => snapshot.lastOperation.get(id));
}

/** Calls `listener` with every operation event (a batch drawer follows its children with it). */
export function onOperation(listener: (operation: Operation) => void): () => void {
  operationListeners.add(listener);
  return () => operationListeners.delete(listener);
}

/** Loads the inventory page by page; the view renders from the first page on. */
async function loadFleet(): Promise<void> {
  const generation = ++loadGeneration;
  const emulators = new Map<string, Emulator>();
  let cursor: string | undefined;
  try {
    do {
      // A small first page paints the view at once; the rest follow in large ones.
      const page = await api().listEmulators({ limit: cursor ? 1000 : 200, ...(cursor ? { cursor } : {}) });
      if (generation !== loadGeneration) return;
      for (const emulator of page.items) emulators.set(emulator.id, emulator);
      cursor = page.nextCursor ?? undefined;
      snapshot = {
        ...snapshot,
        version: snapshot.version + 1,
        structureVersion: snapshot.structureVersion + 1,
        stateVersion: snapshot.stateVersion + 1,
        emulators: new Map(emulators),
        loaded: true,
        complete: !cursor,
        error: null,
      };
      notify();
    } while (cursor);
    await loadLastOperations(generation);
  } catch (error) {
    if (generation !== loadGeneration) return;
    snapshot = { ...snapshot, version: snapshot.version + 1, loaded: true, error: error instanceof Error ? error.message : String(error) };
    notify();
  }
}

/** The latest operation of each emulator, from the newest operations. */
async function loadLastOperations(generation: number): Promise<void> {
  const page = await api().listOperations({ limit: 1000 });
  if (generation !== loadGeneration) return;
  const last = new Map<string, LastOperation>();
  // Newest first (the contract) or oldest first (older servers): keep the latest createdAt.
  const sorted = [...page.items].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const operation of sorted) if (operation.emulatorId) last.set(operation.emulatorId, lastOf(operation));
  for (const [id, known] of snapshot.lastOperation) if (!last.has(id)) last.set(id, known);
  snapshot = { ...snapshot, version: snapshot.version + 1, lastOperation: last };
  notify();
}

function lastOf(operation: Operation): LastOperation {
  return { id: operation.id, action: operation.action, status: operation.status, ...(operation.error ? { error: operation.error } : {}) };
}

function enqueue(event: FleetStreamEvent): void {
  pending.push(event);
  if (frame === undefined) frame = requestAnimationFrame(flush);
}

const invalidations = new Set<string>();

/** Applies every event of this frame in one new snapshot. */
function flush(): void {
  frame = undefined;
  const events = pending;
  pending = [];
  let emulators: Map<string, Emulator> | undefined;
  let lastOperation: Map<string, LastOperation> | undefined;
  let structural = false;
  let stateChanged = false;
  for (const event of events) {
    const type = event.type as string;
    if (type.startsWith('emulator.')) {
      const emulator = event.data as Emulator;
      emulators ??= new Map(snapshot.emulators);
      const known = emulators.get(emulator.id);
      if (type === 'emulator.removed') {
        emulators.delete(emulator.id);
        structural = true;
      } else {
        // The event's extra fields (previousState…) are not part of the row.
        const { previousState: _s, previousBooted: _b, ...row } = emulator as Emulator & { previousState?: unknown; previousBooted?: unknown };
        emulators.set(emulator.id, row);
        if (!known || known.name !== row.name || known.workstationId !== row.workstationId) structural = true;
        if (!known || known.state !== row.state || known.booted !== row.booted) stateChanged = true;
      }
    } else if (type.startsWith('operation.')) {
      const operation = event.data as Operation;
      if (operation.emulatorId) {
        lastOperation ??= new Map(snapshot.lastOperation);
        lastOperation.set(operation.emulatorId, lastOf(operation));
      }
      for (const listener of operationListeners) listener(operation);
      invalidations.add('operations');
    } else if (type.startsWith('batch.')) {
      const batch = event.data as Batch;
      queryClient.setQueryData<Batch>(['batch', batch.id], (known) => ({ ...known, ...batch, operations: known?.operations ?? [] }));
      invalidations.add('batches');
    } else if (type.startsWith('workstation.')) {
      invalidations.add('workstations');
    }
  }
  if (emulators || lastOperation) {
    snapshot = {
      ...snapshot,
      version: snapshot.version + 1,
      structureVersion: snapshot.structureVersion + (structural ? 1 : 0),
      stateVersion: snapshot.stateVersion + (stateChanged ? 1 : 0),
      emulators: emulators ?? snapshot.emulators,
      lastOperation: lastOperation ?? snapshot.lastOperation,
    };
    notify();
  }
  scheduleInvalidations();
}

let invalidateTimer: ReturnType<typeof setTimeout> | undefined;
/** Lists (operations, batches, workstations) refetch at most twice a second under a storm of events. */
function scheduleInvalidations(): void {
  if (invalidateTimer !== undefined || invalidations.size === 0) return;
  invalidateTimer = setTimeout(() => {
    invalidateTimer = undefined;
    for (const key of invalidations) void queryClient.invalidateQueries({ queryKey: [key] });
    invalidations.clear();
  }, 500);
}

/** Starts the stream and the inventory load (after sign-in); idempotent. */
export function startLive(): void {
  if (subscription) return;
  void loadFleet();
  subscription = subscribeEvents(api(), {
    topics: ['emulator.*', 'workstation.*', 'operation.*', 'batch.*'],
    // The table shows each emulator's current state: intermediate ones inside a frame are not sent.
    coalesce: true,
    onEvent: enqueue,
    onStatus: (status) => {
      stream = status;
      notify();
    },
    // After a reconnect, or `stream.resync` (a replica's listener came back, a frame overflowed).
    onResync: () => {
      void loadFleet();
      void queryClient.invalidateQueries();
    },
  });
}

/** Stops everything and forgets the data (sign-out). */
export function stopLive(): void {
  subscription?.close();
  subscription = undefined;
  loadGeneration += 1;
  pending = [];
  stream = 'connecting';
  snapshot = { version: 0, structureVersion: 0, stateVersion: 0, emulators: new Map(), lastOperation: new Map(), loaded: false, complete: false, error: null };
  queryClient.clear();
  notify();
}
