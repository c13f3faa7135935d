/**
 * Synchronous reads for requests that wait for them (screenshots, app lists). Each takes a slot
 * of the workstation's read lane, as shell operations do, so the agent never has more reads in
 * flight than the lane admits; it waits in line for one (at most `waitingPerWorkstation` wait
 * per workstation), and one user has at most `perUser` in flight or waiting (on every replica
 * together, when there are several). Past either bound it is refused (`ReadRefusedError`, a
 * 429) rather than queued. Then the same breaker and call timeout as operations. A read of a
 * workstation whose session another replica holds runs there, in that replica's lane.
 */
import { randomUUID } from 'node:crypto';
import type { RpcMethods } from '../../protocol/index.js';
import type { EngineCore } from './core.js';
import type { Dispatcher } from './dispatch.js';
import { ActionFailure, ReadRefusedError, toActionFailure } from './errors.js';
import type { RelayedRead, SyncRead, SyncReadMethod } from './ports.js';
import { SYNC_READ_METHODS } from './ports.js';

/** Beyond the owner's own bounds (its slot wait, then the call), what a relayed read allows for the round trips. */
const RELAY_MARGIN_MS = 5_000;

export class SyncReads {
  /** Synchronous reads each user has in flight or waiting (a lone process; replicas count in the database). */
  private readonly readsByUser = new Map<string, number>();

  constructor(
    private readonly core: EngineCore,
    private readonly dispatcher: Dispatcher,
  ) {}

  /** `signal`: the client went away. */
  async read<M extends SyncReadMethod>(
    userId: string,
    workstationId: string,
    method: M,
    params: RpcMethods[M]['params'],
    signal?: AbortSignal,
  ): Promise<RpcMethods[M]['result']> {
    const release = await this.userSlot(userId);
    try {
      if (this.core.agents.isOnline(workstationId)) return await this.readHere(workstationId, method, params, signal);
      const callMs = this.core.options.timeouts.callMs;
      const relayed = await this.core.replica?.readElsewhere(workstationId, { method, params }, { waitMs: callMs, timeoutMs: 2 * callMs + RELAY_MARGIN_MS }, signal);
      if (!relayed) throw new ActionFailure('transport', 'workstation_offline', 'the agent of this emulator\'s workstation is not connected');
      return resultOf(relayed) as RpcMethods[M]['result'];
    } finally {
      release();
    }
  }

  /**
   * A read another replica was asked for and this one runs (it holds the session): its outcome
   * as a value, the failure typed. Its wait for a read slot ends after `waitMs`.
   */
  async relayed(workstationId: string, read: SyncRead, waitMs: number): Promise<RelayedRead> {
    if (!(SYNC_READ_METHODS as readonly string[]).includes(read.method)) {
      return { ok: false, failure: { category: 'conflict', code: 'not_a_read', message: `${String(read.method)} is not a synchronous read` } };
    }
    if (!this.core.agents.isOnline(workstationId)) {
      return { ok: false, failure: { category: 'transport', code: 'workstation_offline', message: 'the agent of this emulator\'s workstation is not connected' } };
    }
    const slotWait = new AbortController();
    const cancel = this.core.clock.schedule(
      () => slotWait.abort(new ActionFailure('timeout', 'read_slot_timeout', `no read slot of the workstation came free within ${Math.round(waitMs / 1000)} s`)),
      waitMs,
    );
    try {
      return { ok: true, result: await this.readHere(workstationId, read.method, read.params, slotWait.signal) };
    } catch (error) {
      if (error instanceof ReadRefusedError) return { ok: false, refused: { code: error.code, message: error.message, limit: error.limit } };
      return { ok: false, failure: toActionFailure(error).toJSON() };
    } finally {
      cancel();
    }
  }

  /** Takes one of the user's read slots (or refuses); returns its release. */
  private async userSlot(userId: string): Promise<() => void> {
    const { perUser } = this.core.options.syncReads;
    const shared = this.core.replica?.readSlots;
    if (shared) {
      const slot = await shared.acquire(userId, perUser).catch((error: unknown) => {
        throw new ActionFailure('transport', 'database_unreachable', `the read slots of the servers cannot be counted: ${error instanceof Error ? error.message : String(error)}`);
      });
      if (slot === null) throw new ReadRefusedError('too_many_reads', `you have ${perUser} screenshots or app lists in flight on the servers; at most ${perUser} at once`, perUser);
      return () => shared.release(slot);
    }
    const held = this.readsByUser.get(userId) ?? 0;
    if (held >= perUser) {
      throw new ReadRefusedError('too_many_reads', `you have ${held} screenshots or app lists in flight; at most ${perUser} at once`, perUser);
    }
    this.readsByUser.set(userId, held + 1);
    return () => {
      const left = (this.readsByUser.get(userId) ?? 1) - 1;
      if (left > 0) this.readsByUser.set(userId, left);
      else this.readsByUser.delete(userId);
    };
  }

  /** In this replica's read lane, on the session it holds. */
  private async readHere<M extends SyncReadMethod>(workstationId: string, method: M, params: RpcMethods[M]['params'], signal?: AbortSignal): Promise<RpcMethods[M]['result']> {
    const admission = await this.dispatcher.readSlot(workstationId, signal);
    try {
      return await this.core.callAgent(workstationId, method, params, { timeoutMs: this.core.options.timeouts.callMs, id: `sync:${randomUUID()}` });
    } finally {
      admission.release();
      this.dispatcher.kick(workstationId);
    }
  }
}

/** A relayed read's outcome as this replica's own would have been: its result, or the error it threw. */
function resultOf(relayed: RelayedRead): unknown {
  if (relayed.ok) return relayed.result;
  if ('refused' in relayed) throw new ReadRefusedError(relayed.refused.code, relayed.refused.message, relayed.refused.limit);
  throw new ActionFailure(relayed.failure.category, relayed.failure.code, relayed.failure.message);
}
