/**
 * The action context: what an action handler (actions.ts) may do while its operation runs.
 * Every agent call stores the operation's rpc id first (so whoever resumes it after a crash
 * sends the same id), goes through the workstation's breaker, is tracked until it settles (so
 * the lane is held while the agent still works) and stops being awaited on cancellation.
 */
import type { RpcMethod, RpcMethods } from '../../protocol/index.js';
import type { ActionContext } from './actions.js';
import type { EngineCore } from './core.js';
import { toActionFailure } from './errors.js';
import type { Admission } from './limits.js';
import type { OperationsTable } from './schema.js';
import type { Targets } from './targets.js';
import { goneFailure } from './targets.js';

export interface RunningAttempt {
  readonly row: OperationsTable;
  readonly rpcId: string;
  /** The rpc id is in the store already (the claim wrote it, or a resumed row had it). */
  readonly rpcIdStored: boolean;
  readonly admission: Admission;
  readonly signal: AbortSignal;
  /** Agent calls and transfers not settled yet. */
  readonly calls: Set<Promise<unknown>>;
  /** Resumed after the server lost track of it, or retried after a call whose outcome is unknown. */
  readonly resumed: boolean;
}

export function actionContext(core: EngineCore, targets: Targets, attempt: RunningAttempt, kick: (workstationId: string) => void): ActionContext {
  const { row, rpcId, admission, signal, calls } = attempt;
  const workstationId = row.workstation_id;
  let rpcIdSaved = attempt.rpcIdStored;
  const throwIfCancelled = () => {
    if (signal.aborted) throw toActionFailure(signal.reason);
  };
  const track = <T>(promise: Promise<T>): Promise<T> => {
    calls.add(promise);
    void promise.catch(() => undefined).finally(() => calls.delete(promise));
    return promise;
  };
  return {
    params: JSON.parse(row.params) as Record<string, unknown>,
    workstationId,
    emulatorId: row.emulator_id ?? undefined,
    resumed: attempt.resumed,
    timeouts: core.options.timeouts,
    launchIntervalMs: admission.launchIntervalMs,
    call: async <M extends RpcMethod>(method: M, params: RpcMethods[M]['params'], timeoutMs: number, step?: string) => {
      throwIfCancelled();
      if (!rpcIdSaved) {
        await core.repo.setRpcId(row.id, rpcId);
        rpcIdSaved = true;
      }
      const id = step === undefined ? rpcId : `${rpcId}:${step}`;
      return abortable(track(core.callAgent(workstationId, method, params, { timeoutMs, id })), signal);
    },
    emulator: async () => {
      const emulator = await targets.emulatorOf(row);
      if (!emulator) throw goneFailure(row.emulator_id ?? '?');
      return emulator;
    },
    findEmulator: (id) => core.fleet.emulator(id),
    observed: (instance) => targets.observed(workstationId, instance),
    observedRemoved: (emulator) => targets.observedRemoved(workstationId, emulator),
    findCreatedSince: (name) =>
      targets.createdSince(row, name, () =>
        abortable(
          track(core.callAgent(workstationId, 'inventory', {}, { timeoutMs: core.options.timeouts.callMs, id: `${rpcId}:inventory:${core.clock.now()}` })),
          signal,
        ),
      ),
    sendUpload: async (transferId) => {
      const source = core.uploads.open(transferId);
      await track(core.agents.sendFile(workstationId, transferId, source, { signal })).catch((error: unknown) => {
        throw toActionFailure(error);
      });
    },
    progress: async (text) => {
      const updated = await core.repo.setProgress(row.id, text, core.clock.now());
      if (updated) core.announce(updated, 'operation.updated');
    },
    launched: () => {
      core.clock.schedule(() => {
        admission.releaseLane();
        kick(workstationId);
      }, Math.min(core.options.launchHoldMs, admission.launchIntervalMs));
    },
    throwIfCancelled,
  };
}

/** Rejects with the signal's reason as soon as it aborts; the call itself goes on. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
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
