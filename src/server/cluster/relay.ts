/**
 * Synchronous reads across replicas. A screenshot or an app list asked of a replica that does
 * not hold the workstation's session is run by the one that does, over `ldfleet_control`: the
 * asking replica sends `read` with a fresh id; the owner runs it in the workstation's read lane,
 * writes the outcome into `cluster_events` under that id (a screenshot is far over NOTIFY's
 * 8,000 bytes) and answers `read_done`; the asker takes the row (reads and deletes it). An
 * asker that gave up (its client went away, its wait ran out) deletes the row when the answer
 * comes anyway, and the heartbeat's sweep of `cluster_events` takes whatever is left.
 */
import type { Kysely } from 'kysely';
import type { RelayedRead, SyncRead } from '../ops/index.js';
import type { Database } from '../store/index.js';
import { newId, nowIso } from '../store/index.js';
import type { RelayMessage } from './bridge.js';
import { errorOf } from './bridge.js';

export interface RelayOptions {
  readonly db: Kysely<Database>;
  readonly replicaId: string;
  /** The database's clock (`cluster_events` rows are stamped with it). */
  readonly clock: () => number;
  /** Sends a request or an answer to the other replicas; false when it cannot go in one notification. */
  readonly send: (message: RelayMessage) => boolean;
  /** The live replica holding the workstation's session, if any. */
  readonly ownerOf: (workstationId: string) => Promise<string | undefined>;
  /** Runs a read on this replica (for another one). */
  readonly readHere: (workstationId: string, read: SyncRead, waitMs: number) => Promise<RelayedRead>;
  readonly logger: { warn(object: object, message: string): void };
}

/** How a wait for an answer ended. */
type Ending = 'answered' | 'timed_out' | 'aborted' | 'closed' | 'owner_gone';

interface Waiter {
  /** The replica asked. */
  readonly owner: string;
  readonly end: (ending: Ending) => void;
}

export class ReadRelay {
  private readonly waiting = new Map<string, Waiter>();

  constructor(private readonly options: RelayOptions) {}

  /**
   * Runs the read on the replica holding the session: undefined when none does (or this one
   * does), else its outcome, or a typed failure when no answer came within `timeoutMs`.
   */
  async read(workstationId: string, read: SyncRead, bounds: { waitMs: number; timeoutMs: number }, signal?: AbortSignal): Promise<RelayedRead | undefined> {
    const owner = await this.options.ownerOf(workstationId);
    if (owner === undefined || owner === this.options.replicaId) return undefined;
    const id = newId(this.options.clock());
    const ending = this.answerOf(id, owner, bounds.timeoutMs, signal);
    const sent = this.options.send({ kind: 'read', to: owner, id, workstationId, method: read.method, params: read.params, waitMs: bounds.waitMs });
    if (!sent) {
      this.waiting.get(id)?.end('closed');
      return failure('ldconsole', 'internal', 'the read is too large to ask of another replica');
    }
    switch (await ending) {
      case 'timed_out':
        return failure('timeout', 'replica_timeout', `the replica holding the workstation's session did not answer within ${Math.round(bounds.timeoutMs / 1000)} s`);
      case 'aborted':
        return failure('transport', 'client_gone', 'the client went away before the answer came');
      case 'closed':
        return failure('transport', 'replica_closing', 'this server is shutting down; ask again');
      case 'owner_gone':
        return failure('transport', 'replica_gone', 'the replica holding the workstation\'s session stopped before it answered; ask again once the agent has reconnected');
      case 'answered':
        return this.take(id);
    }
  }

  /** Another replica asks this one (the owner) for a read: run it and leave the outcome for the asker. */
  async serve(message: Extract<RelayMessage, { kind: 'read' }>, from: string): Promise<void> {
    const outcome = await this.options.readHere(message.workstationId, { method: message.method, params: message.params } as SyncRead, message.waitMs);
    try {
      await this.options.db.insertInto('cluster_events').values({ id: message.id, payload: JSON.stringify(outcome), created_at: nowIso(this.options.clock()) }).execute();
      this.options.send({ kind: 'read_done', to: from, id: message.id });
    } catch (error) {
      // The asker times out; nothing else waits on this read.
      this.options.logger.warn({ err: errorOf(error), workstationId: message.workstationId }, 'could not hand a relayed read back to the replica that asked');
    }
  }

  /** The owner's answer is in `cluster_events`. */
  answered(id: string): void {
    const waiter = this.waiting.get(id);
    if (waiter) {
      waiter.end('answered');
      return;
    }
    // Nobody waits any longer: the answer is of no use.
    this.options.db
      .deleteFrom('cluster_events')
      .where('id', '=', id)
      .execute()
      .catch((error: unknown) => this.options.logger.warn({ err: errorOf(error) }, 'could not delete an unclaimed relayed read (the sweep will)'));
  }

  /** These replicas were taken for dead: the reads asked of them will not be answered. */
  ownersGone(replicas: readonly string[]): void {
    for (const waiter of [...this.waiting.values()]) if (replicas.includes(waiter.owner)) waiter.end('owner_gone');
  }

  /** Ends every wait: the replica is closing. */
  close(): void {
    for (const waiter of [...this.waiting.values()]) waiter.end('closed');
  }

  private answerOf(id: string, owner: string, timeoutMs: number, signal?: AbortSignal): Promise<Ending> {
    return new Promise<Ending>((resolve) => {
      const onAbort = () => end('aborted');
      const timer = setTimeout(() => end('timed_out'), timeoutMs);
      const end = (ending: Ending) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiting.delete(id);
        resolve(ending);
      };
      this.waiting.set(id, { owner, end });
      if (signal?.aborted) end('aborted');
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async take(id: string): Promise<RelayedRead> {
    try {
      const row = await this.options.db.deleteFrom('cluster_events').where('id', '=', id).returning('payload').executeTakeFirst();
      if (row) return JSON.parse(row.payload) as RelayedRead;
      return failure('transport', 'replica_answer_lost', 'the answer of the replica holding the session was gone before it was read');
    } catch (error) {
      return failure('transport', 'database_unreachable', `could not read the answer of the replica holding the session: ${errorOf(error).message}`);
    }
  }
}

function failure(category: 'transport' | 'timeout' | 'ldconsole', code: string, message: string): RelayedRead {
  return { ok: false, failure: { category, code, message } };
}
