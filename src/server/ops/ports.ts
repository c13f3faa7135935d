/**
 * What the engine needs from the rest of the server, as narrow interfaces: the gateway's agent
 * sessions, and the fleet's inventory (read through it, written back through it). The wiring
 * passes the real units.
 */
import type { ActionError, InventoryMessage, RpcMethod, RpcMethods } from '../../protocol/index.js';
import type { SharedSlots } from '../events/index.js';
import type { EmulatorFilter, EmulatorsTable } from '../fleet/index.js';
import type { Page, PageRequest } from '../store/index.js';

export interface AgentCalls {
  call<M extends RpcMethod>(
    workstationId: string,
    method: M,
    params: RpcMethods[M]['params'],
    options: { timeoutMs: number; id: string; signal?: AbortSignal },
  ): Promise<RpcMethods[M]['result']>;
  sendFile(workstationId: string, transferId: string, source: AsyncIterable<Uint8Array | string>, options?: { signal?: AbortSignal }): Promise<unknown>;
  isOnline(workstationId: string): boolean;
  onlineWorkstations(): string[];
  /** Calls `listener` each time an agent session opens; returns the unsubscribe function. */
  onSessionOpen(listener: (workstationId: string) => void): () => void;
}

/**
 * The replica the engine runs in, as the cluster unit gives it. Absent, the engine is a lone
 * process: it claims whatever its sessions allow and resumes every orphaned operation.
 */
export interface ReplicaPort {
  readonly id: string;
  /** Ids of the replicas whose lease holds now (this one included); another's running operations are theirs. */
  liveReplicas(): Promise<ReadonlySet<string>>;
  /** The workstation's session may be held by another replica: ask it to pump the workstation now. */
  kick(workstationId: string): void;
  /** The operation may be running on another replica: ask it to stop the operation now. */
  cancel(operationId: string): void;
  /**
   * A synchronous read of a workstation whose session another replica holds, run there;
   * undefined when no live replica holds it. `waitMs` bounds the wait for a read slot there
   * (then the call has its own timeout); `timeoutMs` the wait for the answer here.
   */
  readElsewhere(workstationId: string, read: SyncRead, bounds: { waitMs: number; timeoutMs: number }, signal?: AbortSignal): Promise<RelayedRead | undefined>;
  /** Synchronous-read slots of each user, counted on every replica together. */
  readonly readSlots?: SharedSlots | undefined;
}

/** The RPC methods a request waits for: a screenshot, the app list. */
export const SYNC_READ_METHODS = ['screenshot', 'listApps'] as const satisfies readonly RpcMethod[];
export type SyncReadMethod = (typeof SYNC_READ_METHODS)[number];

/** A synchronous read as it travels to the replica that runs it. */
export interface SyncRead {
  readonly method: SyncReadMethod;
  readonly params: RpcMethods[SyncReadMethod]['params'];
}

/** A synchronous read's outcome as it travels back: its result, or the typed error it was refused or failed with. */
export type RelayedRead =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly failure: ActionError }
  | { readonly ok: false; readonly refused: { readonly code: 'too_many_reads' | 'read_slots_full'; readonly message: string; readonly limit: number } };

/** The fleet unit as the engine uses it: the stored inventory, and its write-back. */
export interface FleetPort {
  /** Applies what an action's reply says about an instance, so the next read sees it at once. */
  applyInventory(workstationId: string, message: InventoryMessage): Promise<unknown>;
  emulator(id: string): Promise<EmulatorsTable | undefined>;
  emulators(ids: readonly string[]): Promise<EmulatorsTable[]>;
  instance(workstationId: string, index: number, generation: string): Promise<EmulatorsTable | undefined>;
  namedBefore(workstationId: string, name: string, before: string): Promise<EmulatorsTable[]>;
  matching(filter: EmulatorFilter, page: PageRequest): Promise<Page<string>>;
  /** A workstation given by id or name, as its id. */
  workstationId(ref: string): Promise<string | undefined>;
  /** The replica whose session the workstation's row names; undefined when it is offline. */
  sessionOwner(workstationId: string): Promise<string | undefined>;
  emulatorCounts(workstationIds: readonly string[]): Promise<Map<string, { total: number; running: number }>>;
  /** The workstation's circuit breaker opened or closed (an open breaker shows as `degraded`). */
  breakerChanged?(workstationId: string, open: boolean): void;
}
