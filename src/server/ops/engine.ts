/**
 * The dispatcher: claims queued operations of workstations whose agent is connected to this
 * process, admits them through the workstation's lane (limits.ts), runs them through the
 * workstation's breaker, and persists every transition.
 *
 * Each workstation is pumped on its own (no global queue): a pump claims what the lane admits
 * now, starts it without awaiting it, and is run again whenever something may have changed
 * (an operation was queued or finished, a session opened, a launch interval or a retry delay
 * passed, or the periodic sweep).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObservedInstance, RpcMethod, RpcMethods } from '../../protocol/index.js';
import type { EventBus } from '../events/index.js';
import type { EmulatorsTable } from '../fleet/schema.js';
import { nowIso } from '../store/index.js';
import type { ActionContext, ActionTimeouts } from './actions.js';
import { HANDLERS, isRepeatable } from './actions.js';
import type { BreakerOptions, BreakerState } from './breakers.js';
import { WorkstationBreakers } from './breakers.js';
import { ActionFailure, conflictFailure, toActionFailure } from './errors.js';
import type { Admission, WorkstationLimits } from './limits.js';
import { WorkstationLane, resolveLimits } from './limits.js';
import type { EngineMetrics } from './metrics.js';
import type { AgentCalls, InventorySink } from './ports.js';
import type { OperationRepository } from './repository.js';
import { toBatch, toOperation } from './repository.js';
import type { OperationsTable } from './schema.js';
import type { Action, ActionClass, OperationStatus } from './types.js';
import './events.js';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface EngineOptions {
  readonly limits: WorkstationLimits;
  readonly timeouts: ActionTimeouts;
  readonly retry: RetryOptions;
  readonly breaker: BreakerOptions;
  /** Where uploaded APKs wait for their install operation. */
  readonly uploadDir: string;
  /** How often queued work is looked for even when nothing announced it. */
  readonly sweepIntervalMs: number;
  /** How long a start keeps the mutation lane after sending its launch (the launch's own duration). */
  readonly launchHoldMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: Omit<EngineOptions, 'uploadDir'> = {
  limits: { maxConcurrentBoots: 2, launchIntervalMs: 2000, maxParallelReads: 8 },
  timeouts: { callMs: 60_000, bootMs: 180_000 },
  retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 30_000 },
  breaker: { consecutiveFailures: 5, halfOpenAfterMs: 60_000 },
  sweepIntervalMs: 1000,
  launchHoldMs: 500,
};

const LANES: readonly ActionClass[] = ['boot', 'mutation', 'read'];
const LIMITS_TTL_MS = 2000;
/** The agent reported an instance missing that a fresh inventory shows is there. */
const INVENTORY_GLITCH = 'inventory_glitch';
const BATCH_UPDATE_DELAY_MS = 200;

interface Running {
  readonly controller: AbortController;
  readonly workstationId: string;
}

export class OperationEngine {
  readonly breakers: WorkstationBreakers;
  private readonly lanes = new Map<string, { lane: WorkstationLane; readAt: number }>();
  private readonly running = new Map<string, Running>();
  /** Operations found running after a restart or reconnect, waiting for a place in their lane. */
  private readonly resumable = new Map<string, OperationsTable[]>();
  private readonly pumping = new Set<string>();
  private readonly pumpAgain = new Set<string>();
  private readonly wakeups = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly batchUpdates = new Map<string, NodeJS.Timeout>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = true;

  constructor(
    private readonly repo: OperationRepository,
    private readonly bus: EventBus,
    private readonly agents: AgentCalls,
    private readonly fleet: InventorySink,
    private readonly metrics: EngineMetrics,
    readonly options: EngineOptions,
  ) {
    this.breakers = new WorkstationBreakers(options.breaker, (workstationId, state) => {
      metrics.breakerState(workstationId, state);
      fleet.breakerChanged?.(workstationId, state === 'open');
    });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.agents.onSessionOpen((workstationId) => {
      // A fresh session is a fresh start for the breaker: the failures it counted were the old link's.
      this.breakers.reset(workstationId);
      void this.resume(workstationId);
    });
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
    void this.sweep();
  }

  /**
   * Stops dispatching. Operations in flight stay `running` in the store (or go back to the queue
   * with their rpc id when the gateway's closing ends their call); the next process resumes them.
   */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of [...[...this.wakeups.values()].map((wakeup) => wakeup.timer), ...this.batchUpdates.values()]) clearTimeout(timer);
    this.wakeups.clear();
    this.batchUpdates.clear();
  }

  isOnline(workstationId: string): boolean {
    return this.agents.isOnline(workstationId);
  }

  /**
   * A synchronous read for a request that waits for it (screenshots): through the same breaker
   * and call timeout as operations, outside the queue.
   */
  async callNow<M extends RpcMethod>(workstationId: string, method: M, params: RpcMethods[M]['params']): Promise<RpcMethods[M]['result']> {
    return this.breakers.execute(workstationId, () =>
      this.agents
        .call(workstationId, method, params, { timeoutMs: this.options.timeouts.callMs, id: `sync:${randomUUID()}` })
        .catch((error: unknown) => {
          throw toActionFailure(error);
        }),
    );
  }

  breakerState(workstationId: string): BreakerState {
    return this.breakers.state(workstationId);
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

  /** Announces a change of an operation and, when it has one, of its batch. */
  announce(row: OperationsTable, type: 'operation.created' | 'operation.updated' | 'operation.finished'): void {
    this.bus.publish(type, toOperation(row));
    if (row.batch_id !== null && type !== 'operation.created') this.scheduleBatchUpdate(row.batch_id);
  }

  // -------------------------------------------------------------------------------------------
  // dispatching

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      const workstations = await this.repo.workstationsWithQueued();
      for (const workstationId of workstations) void this.pump(workstationId);
      const due = await this.repo.nextDueRetry(Date.now());
      if (due !== undefined) this.wakeAt(undefined, Date.parse(due));
    } catch {
      // The store is unavailable (shutting down, database restarting); the next sweep retries.
    }
  }

  private async pump(workstationId: string): Promise<void> {
    if (this.stopped || !this.agents.isOnline(workstationId)) return;
    if (this.pumping.has(workstationId)) {
      this.pumpAgain.add(workstationId);
      return;
    }
    this.pumping.add(workstationId);
    try {
      do {
        this.pumpAgain.delete(workstationId);
        await this.admitAll(workstationId);
      } while (this.pumpAgain.has(workstationId) && !this.stopped);
    } catch {
      // A store error: the sweep comes back to this workstation.
    } finally {
      this.pumping.delete(workstationId);
    }
  }

  private async admitAll(workstationId: string): Promise<void> {
    const lane = await this.laneOf(workstationId);
    this.admitResumable(workstationId, lane);
    for (const kind of LANES) {
      for (;;) {
        const now = Date.now();
        const wait = lane.waitFor(kind, now);
        if (wait > 0) {
          if (Number.isFinite(wait)) this.wakeAt(workstationId, now + wait);
          break;
        }
        const row = await this.repo.claimNext(workstationId, kind, now);
        if (!row) break;
        this.execute(row, lane.admit(kind, Date.now()), false);
      }
    }
  }

  private admitResumable(workstationId: string, lane: WorkstationLane): void {
    const waiting = this.resumable.get(workstationId) ?? [];
    const now = Date.now();
    const still: OperationsTable[] = [];
    for (const row of waiting) {
      const kind = row.lane as ActionClass;
      const wait = lane.waitFor(kind, now);
      if (wait === 0) this.execute(row, lane.admit(kind, now), true);
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
      const rows = await this.repo.runningOf(workstationId);
      const queued = new Set((this.resumable.get(workstationId) ?? []).map((row) => row.id));
      const orphans = rows.filter((row) => !this.running.has(row.id) && !queued.has(row.id));
      if (orphans.length > 0) this.resumable.set(workstationId, [...(this.resumable.get(workstationId) ?? []), ...orphans]);
    } catch {
      // Tried again on the next session open.
    }
    void this.pump(workstationId);
  }

  private async laneOf(workstationId: string): Promise<WorkstationLane> {
    const cached = this.lanes.get(workstationId);
    const now = Date.now();
    if (cached && now - cached.readAt < LIMITS_TTL_MS) return cached.lane;
    const limits = resolveLimits(await this.repo.workstationLimits(workstationId), this.options.limits);
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
  private wakeAt(workstationId: string | undefined, at: number): void {
    if (this.stopped) return;
    const key = workstationId ?? '*';
    const pending = this.wakeups.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.wakeups.delete(key);
      this.kick(workstationId);
    }, Math.max(1, at - Date.now()));
    timer.unref();
    this.wakeups.set(key, { at, timer });
  }

  // -------------------------------------------------------------------------------------------
  // running one operation

  private execute(row: OperationsTable, admission: Admission, resumed: boolean): void {
    const controller = new AbortController();
    this.running.set(row.id, { controller, workstationId: row.workstation_id });
    const calls = new Set<Promise<unknown>>();
    this.announce(row, 'operation.updated');
    void this.run(row, admission, controller.signal, calls, resumed)
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(row.id);
        // A cancelled operation stopped waiting, not the agent: its place in the lane is
        // kept until the agent's calls have settled, so the limits hold.
        void Promise.allSettled([...calls]).then(() => {
          admission.release();
          this.kick(row.workstation_id);
        });
      });
  }

  private async run(
    row: OperationsTable,
    admission: Admission,
    signal: AbortSignal,
    calls: Set<Promise<unknown>>,
    resumed: boolean,
  ): Promise<void> {
    const rpcId = row.rpc_id ?? `${row.id}:${row.attempts}`;
    const context = this.contextFor(row, rpcId, admission, signal, calls, resumed);
    try {
      if (row.cancel_requested === 1) context.throwIfCancelled();
      const result = await HANDLERS[row.action as keyof typeof HANDLERS](context);
      await this.finish(row, 'succeeded', { result: JSON.stringify(result ?? null) });
    } catch (error) {
      await this.failed(row, await this.explainMissing(row, toActionFailure(error)), signal);
    }
  }

  /**
   * The agent said it found no instance at the emulator's index. Either the emulator was
   * removed behind ldfleet's back (then: `conflict`/`emulator_gone`), or the agent's view was
   * momentarily incomplete; a fresh inventory tells which. The latter stays a transient failure.
   */
  private async explainMissing(row: OperationsTable, failure: ActionFailure): Promise<ActionFailure> {
    if (row.emulator_id === null || failure.category !== 'ldconsole' || failure.code !== 'not_found') return failure;
    const emulator = await this.targetEmulator(row);
    if (!emulator) return goneFailure(row.emulator_id);
    try {
      const { instances } = await this.callNow(row.workstation_id, 'inventory', {});
      const still = instances.find((instance) => instance.index === emulator.idx && instance.generation === emulator.generation);
      if (!still) {
        await this.fleet.applyInventory(row.workstation_id, { type: 'inventory', full: false, upserts: [], removed: [{ index: emulator.idx, generation: emulator.generation }] });
        return goneFailure(row.emulator_id, 'the agent no longer lists it');
      }
      await this.observed(row.workstation_id, still);
      return new ActionFailure('ldconsole', INVENTORY_GLITCH, `the agent briefly did not see instance ${emulator.idx}: ${failure.message}`);
    } catch {
      return failure;
    }
  }

  private contextFor(
    row: OperationsTable,
    rpcId: string,
    admission: Admission,
    signal: AbortSignal,
    calls: Set<Promise<unknown>>,
    resumed: boolean,
  ): ActionContext {
    const workstationId = row.workstation_id;
    let rpcIdSaved = row.rpc_id === rpcId;
    const throwIfCancelled = () => {
      if (signal.aborted) throw toActionFailure(signal.reason);
    };
    return {
      params: JSON.parse(row.params) as Record<string, unknown>,
      workstationId,
      emulatorId: row.emulator_id ?? undefined,
      resumed: resumed || row.rpc_id !== null,
      launchIntervalMs: admission.launchIntervalMs,
      timeouts: this.options.timeouts,
      call: async <M extends RpcMethod>(method: M, params: RpcMethods[M]['params'], timeoutMs: number, step?: string) => {
        throwIfCancelled();
        if (!rpcIdSaved) {
          // Written before the call goes out: whoever picks this operation up after a crash sends the same id.
          await this.repo.setRpcId(row.id, rpcId);
          rpcIdSaved = true;
        }
        const id = step === undefined ? rpcId : `${rpcId}:${step}`;
        const call = this.breakers.execute(workstationId, () =>
          this.agents.call(workstationId, method, params, { timeoutMs, id }).catch((error: unknown) => {
            throw toActionFailure(error);
          }),
        );
        calls.add(call);
        void call.catch(() => undefined).finally(() => calls.delete(call));
        return abortable(call, signal);
      },
      emulator: async () => {
        const emulator = await this.targetEmulator(row);
        if (!emulator) throw goneFailure(row.emulator_id ?? '?');
        return emulator;
      },
      findEmulator: (id) => this.findEmulator(id),
      observed: (instance) => this.observed(workstationId, instance),
      observedRemoved: async (emulator) => {
        await this.fleet.applyInventory(workstationId, {
          type: 'inventory',
          full: false,
          upserts: [],
          removed: [{ index: emulator.idx, generation: emulator.generation }],
        });
      },
      findCreatedSince: (name) => this.findCreatedSince(row, rpcId, name, signal, calls),
      sendUpload: async (transferId) => {
        const source = createReadStream(this.uploadPath(transferId));
        const sending = this.agents.sendFile(workstationId, transferId, source, { signal });
        calls.add(sending);
        void sending.catch(() => undefined).finally(() => calls.delete(sending));
        await sending.catch((error: unknown) => {
          throw toActionFailure(error);
        });
      },
      progress: async (text) => {
        const updated = await this.repo.setProgress(row.id, text, Date.now());
        if (updated) this.announce(updated, 'operation.updated');
      },
      launched: () => {
        const timer = setTimeout(() => {
          admission.releaseLane();
          this.kick(workstationId);
        }, Math.min(this.options.launchHoldMs, admission.launchIntervalMs));
        timer.unref();
      },
      throwIfCancelled,
    };
  }

  /**
   * The operation's emulator: by id, else by the instance identity it was made for (an
   * emulator the inventory lost sight of and found again may have been given a new id; then
   * the operation follows it).
   */
  private async targetEmulator(row: OperationsTable): Promise<EmulatorsTable | undefined> {
    if (row.emulator_id === null) return undefined;
    const byId = await this.findEmulator(row.emulator_id);
    if (byId || row.target_index === null || row.target_generation === null) return byId;
    const sameInstance = await this.repo.db
      .selectFrom('emulators')
      .selectAll()
      .where('workstation_id', '=', row.workstation_id)
      .where('idx', '=', row.target_index)
      .where('generation', '=', row.target_generation)
      .executeTakeFirst();
    if (sameInstance) await this.repo.db.updateTable('operations').set({ emulator_id: sameInstance.id }).where('id', '=', row.id).execute();
    return sameInstance ?? this.targetOnAgent(row);
  }

  /**
   * Last resort before calling an emulator gone: the agent's own fresh inventory. The stored
   * inventory lags the agent's polls; when the agent still lists the instance, it is recorded
   * again and the operation follows it.
   */
  private async targetOnAgent(row: OperationsTable): Promise<EmulatorsTable | undefined> {
    if (row.target_index === null || row.target_generation === null) return undefined;
    let instances: ObservedInstance[];
    try {
      ({ instances } = await this.callNow(row.workstation_id, 'inventory', {}));
    } catch {
      return undefined;
    }
    const instance = instances.find((candidate) => candidate.index === row.target_index && candidate.generation === row.target_generation);
    if (!instance) return undefined;
    const emulatorId = await this.observed(row.workstation_id, instance);
    await this.repo.db.updateTable('operations').set({ emulator_id: emulatorId }).where('id', '=', row.id).execute();
    return this.findEmulator(emulatorId);
  }

  private async findEmulator(id: string): Promise<EmulatorsTable | undefined> {
    return this.repo.db.selectFrom('emulators').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Records what the agent returned about an instance and gives its emulator id. */
  private async observed(workstationId: string, instance: ObservedInstance): Promise<string> {
    await this.fleet.applyInventory(workstationId, { type: 'inventory', full: false, upserts: [instance], removed: [] });
    const row = await this.repo.db
      .selectFrom('emulators')
      .select('id')
      .where('workstation_id', '=', workstationId)
      .where('idx', '=', instance.index)
      .where('generation', '=', instance.generation)
      .executeTakeFirst();
    if (!row) throw new ActionFailure('ldconsole', 'inventory_mismatch', `instance ${instance.index} is not in the inventory`);
    return row.id;
  }

  /**
   * Create/clone recovery: asks the agent for a fresh inventory and looks for an instance with
   * the operation's name that the store did not know before the operation started.
   */
  private async findCreatedSince(
    row: OperationsTable,
    rpcId: string,
    name: string,
    signal: AbortSignal,
    calls: Set<Promise<unknown>>,
  ): Promise<{ emulatorId: string; instance: ObservedInstance } | undefined> {
    const startedAt = row.started_at ?? row.created_at;
    const known = await this.repo.db
      .selectFrom('emulators')
      .select(['idx', 'generation'])
      .where('workstation_id', '=', row.workstation_id)
      .where('name', '=', name)
      .where('created_at', '<', startedAt)
      .execute();
    const before = new Set(known.map((emulator) => `${emulator.idx}/${emulator.generation}`));
    const call = this.breakers.execute(row.workstation_id, () =>
      this.agents
        .call(row.workstation_id, 'inventory', {}, { timeoutMs: this.options.timeouts.callMs, id: `${rpcId}:inventory:${Date.now()}` })
        .catch((error: unknown) => {
          throw toActionFailure(error);
        }),
    );
    calls.add(call);
    const { instances } = await abortable(call, signal);
    const instance = instances.find((candidate) => candidate.name === name && !before.has(`${candidate.index}/${candidate.generation}`));
    if (!instance) return undefined;
    return { emulatorId: await this.observed(row.workstation_id, instance), instance };
  }

  private uploadPath(transferId: string): string {
    return join(this.options.uploadDir, `${transferId}.apk`);
  }

  // -------------------------------------------------------------------------------------------
  // outcomes

  private async failed(row: OperationsTable, failure: ActionFailure, signal: AbortSignal): Promise<void> {
    const current = await this.repo.get(row.id);
    if (signal.aborted || current?.cancel_requested === 1) {
      await this.finish(row, 'cancelled', { error: null });
      return;
    }
    const attempts = Number(current?.attempts ?? row.attempts);
    if (this.isTransient(row, failure) && attempts < this.options.retry.maxAttempts) {
      await this.scheduleRetry(row, failure, attempts);
      return;
    }
    await this.finish(row, 'failed', { error: JSON.stringify(failure.toJSON()) });
  }

  /**
   * `transport` always (the call is re-sent with its id); `timeout` and a momentary blind spot
   * of the agent's inventory only for repeatable actions (with a new id).
   */
  private isTransient(row: OperationsTable, failure: ActionFailure): boolean {
    if (failure.category === 'transport') return true;
    const repeatable = isRepeatable(row.action as Action);
    return repeatable && (failure.category === 'timeout' || failure.code === INVENTORY_GLITCH);
  }

  private async scheduleRetry(row: OperationsTable, failure: ActionFailure, attempts: number): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.options.retry;
    // Full jitter: spreads the retries of a batch that failed together.
    const delay = Math.round(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1)));
    const notBefore = Date.now() + delay;
    const updated = await this.repo.transition(
      row.id,
      ['running'],
      {
        status: 'queued',
        not_before: nowIso(notBefore),
        error: JSON.stringify(failure.toJSON()),
        progress: `retrying after ${failure.category}`,
        // Only a lost connection leaves the outcome unknown; then the same id must go again.
        ...(failure.category === 'transport' ? {} : { rpc_id: null }),
      },
      Date.now(),
    );
    if (!updated) return;
    this.metrics.retryScheduled(row.action, failure.category);
    this.announce(updated, 'operation.updated');
    this.wakeAt(row.workstation_id, notBefore);
  }

  private async finish(
    row: OperationsTable,
    status: Extract<OperationStatus, 'succeeded' | 'failed' | 'cancelled'>,
    values: { result?: string; error?: string | null },
  ): Promise<void> {
    const now = Date.now();
    const updated = await this.repo.transition(
      row.id,
      ['running'],
      { status, finished_at: nowIso(now), rpc_id: null, progress: null, not_before: null, ...values },
      now,
    );
    if (!updated) return;
    this.metrics.operationFinished(row.action, status, (now - Date.parse(row.created_at)) / 1000);
    this.announce(updated, 'operation.finished');
    if (updated.action === 'installApp' && status === 'succeeded') await this.dropUpload(updated);
  }

  /** Only a successful install drops its file: a failed or cancelled one may be retried. */
  private async dropUpload(row: OperationsTable): Promise<void> {
    const transferId = (JSON.parse(row.params) as { transferId?: unknown }).transferId;
    if (typeof transferId === 'string') await rm(this.uploadPath(transferId), { force: true });
  }

  private scheduleBatchUpdate(batchId: string): void {
    if (this.batchUpdates.has(batchId) || this.stopped) return;
    const timer = setTimeout(() => {
      this.batchUpdates.delete(batchId);
      void this.publishBatch(batchId).catch(() => undefined);
    }, BATCH_UPDATE_DELAY_MS);
    timer.unref();
    this.batchUpdates.set(batchId, timer);
  }

  private async publishBatch(batchId: string): Promise<void> {
    const row = await this.repo.getBatch(batchId);
    if (!row) return;
    const counts = await this.repo.batchCounts(batchId);
    this.bus.publish('batch.updated', toBatch(row, counts));
    const finished = await this.repo.finishBatchIfDone(batchId, Date.now());
    if (finished) this.bus.publish('batch.finished', toBatch(finished, counts));
  }
}

function goneFailure(emulatorId: string, why = 'neither the inventory nor the agent lists it'): ActionFailure {
  return conflictFailure('emulator_gone', `emulator ${emulatorId} no longer exists on its workstation: ${why}`);
}

/** Rejects with the signal's reason as soon as it aborts; the call itself goes on. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(toActionFailure(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(toActionFailure(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
