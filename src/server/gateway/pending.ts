import { RpcError } from './errors.js';

interface Waiter {
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * The RPCs of one session awaiting their `rpc.result`, by call id. Several callers may wait on
 * one id (a call repeated while in flight joins it); each waiter has its own deadline and
 * abort signal, and the id is forgotten once nobody waits for it.
 */
export class PendingCalls {
  private readonly waitersById = new Map<string, Set<Waiter>>();

  has(id: string): boolean {
    return this.waitersById.has(id);
  }

  get size(): number {
    return this.waitersById.size;
  }

  /** Waits for the result of `id` until `deadlineMs` passes or `signal` aborts. */
  wait(id: string, options: { method: string; timeoutMs: number; deadlineMs: number; signal?: AbortSignal | undefined }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let waiters = this.waitersById.get(id);
      if (!waiters) {
        waiters = new Set();
        this.waitersById.set(id, waiters);
      }
      const onAbort = () => settle(() => reject(options.signal?.reason));
      const timer = setTimeout(() => settle(() => reject(RpcError.timeout(options.method, options.timeoutMs))), options.deadlineMs);
      const waiter: Waiter = {
        resolve: (result) => settle(() => resolve(result)),
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (finish: () => void) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.forget(id, waiter);
        finish();
      };
      waiters.add(waiter);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Settles every waiter of `id`; false when nobody waits for it (a late or unknown result). */
  settle(id: string, outcome: { ok: true; result: unknown } | { ok: false; error: unknown }): boolean {
    const waiters = this.waitersById.get(id);
    if (!waiters) return false;
    for (const waiter of [...waiters]) {
      if (outcome.ok) waiter.resolve(outcome.result);
      else waiter.reject(outcome.error);
    }
    return true;
  }

  rejectAll(error: unknown): void {
    for (const id of [...this.waitersById.keys()]) this.settle(id, { ok: false, error });
  }

  private forget(id: string, waiter: Waiter): void {
    const waiters = this.waitersById.get(id);
    waiters?.delete(waiter);
    if (waiters?.size === 0) this.waitersById.delete(id);
  }
}
