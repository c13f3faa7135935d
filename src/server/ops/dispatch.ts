/**
 * The dispatcher: claims queued operations of workstations whose agent is connected to this
 * process, admits them through the workstation's lane (limits.ts), runs them, and hands each
 * ended attempt to the outcomes.
 *
 * Each workstation is pumped on its own (no global queue): a pump claims what the lane admits
 * now, starts it without awaiting it, and is run again whenever something may have changed
 * (an operation was queued or finished, a session opened, a launch interval or a retry delay
 * passed, or the periodic sweep).
 */
import { HANDLERS } from './actions.js';
import { actionContext } from './action-context.js';
import type { RunningAttempt } from './action-context.js';
import { every } from './clock.js';
import type { EngineCore } from './core.js';
import { ActionFailure, ReadRefusedError, toActionFailure } from './errors.js';
import type { Admission } from './limits.js';
import { WorkstationLane, resolveLimits } from './limits.js';
import { BatchProgress, Outcomes } from './outcomes.js';
import type { OperationsTable } from './schema.js';
import { Targets } from './targets.js';
import { nowIso } from '../store/index.js';
import type { ActionClass } from './types.js';

const LANES: readonly ActionClass[] = ['boot', 'mutation', 'read'];
const LIMITS_TTL_MS = 2000;
/** A `running` row this process holds no attempt for, untouched this long, was lost track of. */
const ORPHAN_AFTER_MS = 5000;

interface Running {
  readonly controller: AbortController;
  readonly workstationId: string;
}

/** A synchronous read waiting for a read slot of its workstation. */
interface ReadWaiter {
  grant(admission: Admission): void;
  fail(failure: ActionFailure): void;
}

export class Dispatcher {
  readonly targets: Targets;
  readonly outcomes: Outcomes;
  readonly batches: BatchProgress;
  private readonly lanes = new Map<string, { lane: WorkstationLane; readAt: number }>();
  private readonly running = new Map<string, Running>();
  /** Operations found running after a restart or reconnect, waiting for a place in their lane. */
  private readonly resumable = new Map<string, OperationsTable[]>();
  private readonly pumping = new Set<string>();
  private readonly pumpAgain = new Set<string>();
  private readonly wakeups = new Map<string, { at: number; cancel: () => void }>();
  private readonly readWaiters = new Map<string, ReadWaiter[]>();
  private stopSweep: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = true;

  constructor(private readonly core: EngineCore) {
    this.targets = new Targets(core);
    this.outcomes = new Outcomes(core, (workstationId, at) => this.wakeAt(workstationId, at));
    this.batches = new BatchProgress(core);
    core.batchChanged = (batchId) => this.batches.changed(batchId);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.batches.start();
    this.unsubscribe = this.core.agents.onSessionOpen((workstationId) => {
      // A fresh session is a fresh start for the breaker: the failures it counted were the old link's.
      this.core.breakers.reset(workstationId);
      void this.resume(workstationId);
    });
    this.stopSweep = every(this.core.clock, this.core.options.sweepIntervalMs, () => void this.sweep());
    // A server that was down could not tell how long workstations stayed offline: their grace starts now.
    void this.core.repo
      .restartOfflineWaits(this.core.clock.now())
      .catch((error: unknown) => this.core.logError(error, {}, 'could not restart the offline waits'))
      .then(() => this.sweep());
  }

  /**
   * Stops dispatching. Operations in flight stay `running` in the store (or go back to the queue
   * with their rpc id when the gateway's closing ends their call); the next process resumes them.
   */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.stopSweep?.();
    for (const wakeup of this.wakeups.values()) wakeup.cancel();
    this.wakeups.clear();
    this.batches.stop();
    for (const workstationId of [...this.readWaiters.keys()]) this.failReadWaiters(workstationId, 'the server is stopping');
  }

  /**
   * A read slot of the workstation's lane for a synchronous read: at once when one is free and
   * no one waits, else in line behind the others (interactive reads go before queued shell
   * operations). At most `waitingPerWorkstation` wait; more are refused. A wait ends with a
   * `timeout` after the call timeout, or when the client goes away (`signal`).
   */
  async readSlot(workstationId: string, signal?: AbortSignal): Promise<Admission> {
    const lane = await this.laneOf(workstationId);
    const line = this.readWaiters.get(workstationId) ?? [];
    const now = this.core.clock.now();
    if (line.length === 0 && lane.waitFor('read', now) === 0) return lane.admit('read', now);
    const { waitingPerWorkstation } = this.core.options.syncReads;
    if (line.length >= waitingPerWorkstation) {
      throw new ReadRefusedError(
        'read_slots_full',
        `the workstation's ${lane.limits.maxParallelReads} read slots are busy and ${line.length} reads wait for one; try again shortly`,
        waitingPerWorkstation,
      );
    }
    if (signal?.aborted) throw toActionFailure(signal.reason);
    return new Promise<Admission>((resolve, reject) => {
      const leave = () => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        const rest = (this.readWaiters.get(workstationId) ?? []).filter((other) => other !== waiter);
        if (rest.length > 0) this.readWaiters.set(workstationId, rest);
        else this.readWaiters.delete(workstationId);
      };
      const waiter: ReadWaiter = {
        grant: (admission) => {
          leave();
          resolve(admission);
        },
        fail: (failure) => {
          leave();
          reject(failure);
        },
      };
      const onAbort = () => waiter.fail(new ActionFailure('conflict', 'cancelled', 'the client went away'));
      const timeoutMs = this.core.options.timeouts.callMs;
      const cancelTimer = this.core.clock.schedule(
        () => waiter.fail(new ActionFailure('timeout', 'read_slots', `no read slot of the workstation was free within ${timeoutMs} ms`)),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.readWaiters.set(workstationId, [...line, waiter]);
      void this.pump(workstationId);
    });
  }

  /** Waiting synchronous reads take the read slots that are free, first come first served. */
  private admitReadWaiters(workstationId: string, lane: WorkstationLane): void {
    for (;;) {
      const [first] = this.readWaiters.get(workstationId) ?? [];
      const now = this.core.clock.now();
      if (!first || lane.waitFor('read', now) !== 0) return;
      first.grant(lane.admit('read', now));
    }
  }

  private failReadWaiters(workstationId: string, why: string): void {
    for (const waiter of this.readWaiters.get(workstationId) ?? []) waiter.fail(new ActionFailure('transport', 'workstation_offline', why));
  }

  /** Something may be runnable on `workstationId` (or anywhere, without one). */
  kick(workstationId?: string): void {
    if (this.stopped) return;
    if (workstationId === undefined) void this.sweep();
    else void this.pump(workstationId);
  }

  /** Stops waiting for a running operation of this process; true when there was one. */
  abortRunning(operationId: string): boolean {
    const running = this.running.get(operationId);
    if (!running) return false;
    running.controller.abort(new ActionFailure('conflict', 'cancelled', 'the operation was cancelled'));
    return true;
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      const workstations = await this.core.repo.workstationsWithQueued();
      for (const workstationId of workstations) void this.pump(workstationId);
      const due = await this.core.repo.nextDueRetry(this.core.clock.now());
      if (due !== undefined) this.wakeAt(undefined, Date.parse(due));
      await this.offlineWaits();
      await this.adoptOrphans();
    } catch (error) {
      // The store is unavailable (shutting down, database restarting); the next sweep retries.
      this.core.logError(error, {}, 'dispatcher sweep failed');
    }
  }

  /**
   * Queued operations of offline workstations say so, and fail once their workstation has been
   * offline for longer than their grace (the request's, else the server's `offlineGraceMs`).
   */
  private async offlineWaits(): Promise<void> {
    const { repo, clock, options } = this.core;
    const now = clock.now();
    for (const { workstation_id: workstationId } of await repo.queuedOnOffline(1000)) {
      const message = `workstation ${workstationId} is offline; the operation fails unless it comes back within its grace (default ${options.offlineGraceMs} ms)`;
      for (const row of await repo.markWaiting(workstationId, undefined, 'workstation_offline', message, now)) this.core.announce(row, 'operation.updated');
      // Thousands of rows per workstation after a big batch: let requests run between workstations.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const expired = (await repo.waitingOffline()).filter(
      (row) => now - Date.parse(row.waiting_since ?? '') >= (row.offline_grace_ms ?? options.offlineGraceMs),
    );
    for (const row of expired) {
      const grace = row.offline_grace_ms ?? options.offlineGraceMs;
      const error = { category: 'transport', code: 'workstation_offline', message: `workstation ${row.workstation_id} stayed offline for more than ${grace} ms` };
      const failed = await repo.transition(
        row.id,
        ['queued'],
        { status: 'failed', finished_at: nowIso(now), not_before: null, progress: null, error: JSON.stringify(error) },
        now,
      );
      if (!failed) continue;
      this.core.metrics.operationFinished(failed.action, 'failed', (now - Date.parse(failed.created_at)) / 1000);
      this.core.announce(failed, 'operation.finished');
    }
  }

  /**
   * An operation can never stay `running` without a live attempt: a running row of a
   * workstation this process serves that no attempt here is behind (its outcome could not be
   * written, or it was claimed by a process that died) is resumed with its rpc id.
   */
  private async adoptOrphans(): Promise<void> {
    const online = this.core.agents.onlineWorkstations();
    const cutoff = this.core.clock.now() - ORPHAN_AFTER_MS;
    for (const row of await this.resumableOf(await this.core.repo.runningOn(online))) {
      if (this.running.has(row.id) || Date.parse(row.updated_at) > cutoff) continue;
      const waiting = this.resumable.get(row.workstation_id) ?? [];
      if (waiting.some((candidate) => candidate.id === row.id)) continue;
      this.core.log.warn({ operationId: row.id, workstationId: row.workstation_id }, 'resuming an operation that was running without an attempt');
      this.resumable.set(row.workstation_id, [...waiting, row]);
      void this.pump(row.workstation_id);
    }
  }

  private async pump(workstationId: string): Promise<void> {
    if (!this.core.agents.isOnline(workstationId)) this.failReadWaiters(workstationId, 'the agent of the workstation is not connected');
    if (this.stopped || !this.core.agents.isOnline(workstationId)) return;
    if (this.pumping.has(workstationId)) {
      this.pumpAgain.add(workstationId);
      return;
    }
    this.pumping.add(workstationId);
    try {
      do {
        this.pumpAgain.delete(workstationId);
        await this.admitAll(workstationId);
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may set it while admitAll is awaited; TypeScript keeps the narrowing across the await
      } while (this.pumpAgain.has(workstationId) && !this.stopped);
    } catch (error) {
      // A store error: the sweep comes back to this workstation.
      this.core.logError(error, { workstationId }, 'pump failed');
    } finally {
      this.pumping.delete(workstationId);
    }
  }

  private async admitAll(workstationId: string): Promise<void> {
    const lane = await this.laneOf(workstationId);
    this.admitResumable(workstationId, lane);
    this.admitReadWaiters(workstationId, lane);
    for (const kind of LANES) {
      for (;;) {
        const now = this.core.clock.now();
        const wait = lane.waitFor(kind, now);
        if (wait > 0) {
          if (Number.isFinite(wait)) this.wakeAt(workstationId, now + wait);
          await this.markWaiting(workstationId, kind, lane, now);
          break;
        }
        // The free slots of the lane in one claim: a read lane of 8 is filled by one statement.
        const wanted = lane.admissible(kind, now);
        const claimed = await this.core.repo.claimDue(workstationId, kind, wanted, now, this.core.replica?.id);
        for (const { row, hadRpcId } of claimed) this.execute(row, lane.admit(kind, this.core.clock.now()), { resumed: false, rpcIdStored: true, hadRpcId });
        if (claimed.length < wanted) break;
      }
    }
  }

  /** The queued operations of a lane that cannot start say why, once per change of reason. */
  private async markWaiting(workstationId: string, kind: ActionClass, lane: WorkstationLane, now: number): Promise<void> {
    const why = lane.whyWaiting(kind, now);
    if (!why) return;
    for (const row of await this.core.repo.markWaiting(workstationId, kind, why.reason, why.message, now)) this.core.announce(row, 'operation.updated');
  }

  private admitResumable(workstationId: string, lane: WorkstationLane): void {
    const waiting = this.resumable.get(workstationId) ?? [];
    const now = this.core.clock.now();
    const still: OperationsTable[] = [];
    for (const row of waiting) {
      const kind = row.lane as ActionClass;
      const wait = lane.waitFor(kind, now);
      if (wait === 0) this.execute(row, lane.admit(kind, now), { resumed: true, rpcIdStored: row.rpc_id !== null, hadRpcId: row.rpc_id !== null });
      else {
        still.push(row);
        if (Number.isFinite(wait)) this.wakeAt(workstationId, now + wait);
      }
    }
    if (still.length > 0) this.resumable.set(workstationId, still);
    else this.resumable.delete(workstationId);
  }

  /**
   * An agent connected: its operations that are `running` in the store but not in this
   * process were lost track of (a server restart, or a session that dropped mid-call). They
   * are run again with the rpc id they had, so the agent joins or replays the first run.
   */
  private async resume(workstationId: string): Promise<void> {
    try {
      const rows = await this.resumableOf(await this.core.repo.runningOf(workstationId));
      const queued = new Set((this.resumable.get(workstationId) ?? []).map((row) => row.id));
      const orphans = rows.filter((row) => !this.running.has(row.id) && !queued.has(row.id));
      if (orphans.length > 0) this.resumable.set(workstationId, [...(this.resumable.get(workstationId) ?? []), ...orphans]);
    } catch (error) {
      // Tried again on the next session open.
      this.core.logError(error, { workstationId }, 'could not read the operations to resume');
    }
    void this.pump(workstationId);
  }

  /** Of these running rows, those not run by another live replica (taken over from dead ones). */
  private async resumableOf(rows: OperationsTable[]): Promise<OperationsTable[]> {
    const { replica } = this.core;
    if (!replica || rows.length === 0) return rows;
    return this.core.repo.takeOver(rows.filter((row) => !this.running.has(row.id)), replica.id, await replica.liveReplicas());
  }

  private async laneOf(workstationId: string): Promise<WorkstationLane> {
    const cached = this.lanes.get(workstationId);
    const now = this.core.clock.now();
    if (cached && now - cached.readAt < LIMITS_TTL_MS) return cached.lane;
    const limits = resolveLimits(await this.core.repo.workstationLimits(workstationId), this.core.options.limits);
    if (cached) {
      cached.lane.limits = limits;
      cached.readAt = now;
      return cached.lane;
    }
    const lane = new WorkstationLane(limits);
    this.lanes.set(workstationId, { lane, readAt: now });
    return lane;
  }

  /** Kicks `workstationId` (or every workstation) at `at`; one pending wake-up per key, the earliest. */
  wakeAt(workstationId: string | undefined, at: number): void {
    if (this.stopped) return;
    const key = workstationId ?? '*';
    const pending = this.wakeups.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const cancel = this.core.clock.schedule(() => {
      this.wakeups.delete(key);
      this.kick(workstationId);
    }, Math.max(1, at - this.core.clock.now()));
    this.wakeups.set(key, { at, cancel });
  }

  // -------------------------------------------------------------------------------------------
  // running one operation

  /**
   * Runs an attempt. A claimed row has its attempt's rpc id stored already (`rpcIdStored`); a
   * resumed one keeps the id it had, or gets one stored before its first call.
   */
  private execute(row: OperationsTable, admission: Admission, how: { resumed: boolean; rpcIdStored: boolean; hadRpcId: boolean }): void {
    const controller = new AbortController();
    this.running.set(row.id, { controller, workstationId: row.workstation_id });
    const attempt: RunningAttempt = {
      row,
      rpcId: row.rpc_id ?? `${row.id}:${row.attempts}`,
      rpcIdStored: how.rpcIdStored,
      admission,
      signal: controller.signal,
      calls: new Set(),
      resumed: how.resumed || how.hadRpcId,
    };
    this.core.announce(row, 'operation.updated');
    void this.run(attempt)
      .catch((error: unknown) => this.lostAttempt(row, error))
      .finally(() => {
        this.running.delete(row.id);
        // A cancelled operation stopped waiting, not the agent: its place in the lane is
        // kept until the agent's calls have settled, so the limits hold.
        void Promise.allSettled([...attempt.calls]).then(() => {
          admission.release();
          this.kick(row.workstation_id);
        });
      });
  }

  private async run(attempt: RunningAttempt): Promise<void> {
    const { row } = attempt;
    const context = actionContext(this.core, this.targets, attempt, (workstationId) => this.kick(workstationId));
    let result: unknown;
    try {
      if (row.cancel_requested === 1) context.throwIfCancelled();
      result = await HANDLERS[row.action as keyof typeof HANDLERS](context);
    } catch (error) {
      await this.outcomes.failed(row, await this.targets.explainMissing(row, toActionFailure(error)), attempt.signal);
      return;
    }
    await this.outcomes.succeeded(row, result);
  }

  /**
   * Writing an attempt's outcome failed (the store is unavailable). The operation is `running`
   * in the store with no attempt behind it any more; it goes back to the queue with its rpc id,
   * so the next attempt joins or replays what the agent did. Until the store answers again,
   * the resume on the next session open finds it.
   */
  private async lostAttempt(row: OperationsTable, error: unknown): Promise<void> {
    this.core.logError(error, { operationId: row.id, workstationId: row.workstation_id }, 'recording the outcome of an operation failed');
    try {
      const requeued = await this.core.repo.transition(row.id, ['running'], { status: 'queued', progress: 'requeued after a store error' }, this.core.clock.now());
      if (requeued) {
        this.core.announce(requeued, 'operation.updated');
        this.wakeAt(row.workstation_id, this.core.clock.now() + this.core.options.retry.baseDelayMs);
      }
    } catch (again) {
      this.core.logError(again, { operationId: row.id, workstationId: row.workstation_id }, 'could not requeue an operation after a store error');
    }
  }
}
