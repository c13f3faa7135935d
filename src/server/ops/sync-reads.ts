/**
 * Synchronous reads for requests that wait for them (screenshots, app lists). Each takes a slot
 * of the workstation's read lane, as shell operations do, so the agent never has more reads in
 * flight than the lane admits; it waits in line for one (at most `waitingPerWorkstation` wait
 * per workstation), and one user has at most `perUser` in flight or waiting. Past either bound
 * it is refused (`ReadRefusedError`, a 429) rather than queued. Then the same breaker and call
 * timeout as operations.
 */
import { randomUUID } from 'node:crypto';
import type { RpcMethod, RpcMethods } from '../../protocol/index.js';
import type { EngineCore } from './core.js';
import type { Dispatcher } from './dispatch.js';
import { ReadRefusedError } from './errors.js';

export class SyncReads {
  /** Synchronous reads each user has in flight or waiting. */
  private readonly readsByUser = new Map<string, number>();

  constructor(
    private readonly core: EngineCore,
    private readonly dispatcher: Dispatcher,
  ) {}

  /** `signal`: the client went away. */
  async read<M extends RpcMethod>(
    userId: string,
    workstationId: string,
    method: M,
    params: RpcMethods[M]['params'],
    signal?: AbortSignal,
  ): Promise<RpcMethods[M]['result']> {
    const { perUser } = this.core.options.syncReads;
    const held = this.readsByUser.get(userId) ?? 0;
    if (held >= perUser) {
      throw new ReadRefusedError('too_many_reads', `you have ${held} screenshots or app lists in flight; at most ${perUser} at once`, perUser);
    }
    this.readsByUser.set(userId, held + 1);
    try {
      const admission = await this.dispatcher.readSlot(workstationId, signal);
      try {
        return await this.core.callAgent(workstationId, method, params, { timeoutMs: this.core.options.timeouts.callMs, id: `sync:${randomUUID()}` });
      } finally {
        admission.release();
        this.dispatcher.kick(workstationId);
      }
    } finally {
      const left = (this.readsByUser.get(userId) ?? 1) - 1;
      if (left > 0) this.readsByUser.set(userId, left);
      else this.readsByUser.delete(userId);
    }
  }
}
