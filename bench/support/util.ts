/** Small helpers the benchmarks share: settings from the environment, waiting, statistics, ports. */
import { WebSocket } from 'ws';
export { freePort } from '../../test/support/ports.js';

export function intFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every `everyMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The value at rank ⌈p·n⌉ of the sorted values (nearest rank); NaN when there are none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Runs `task` over `items` with at most `concurrency` at once, in order of start. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * The least wall time a batch start can take under per-workstation limits: launches at least S
 * apart and at most K booting, each boot B long. Workstations run in parallel, so the fleet's
 * minimum is that of its most loaded workstation (`perWorkstation` instances).
 */
export function minimumStartWallMs(limits: { perWorkstation: number; maxConcurrentBoots: number; launchIntervalMs: number; bootMs: number }): number {
  const { perWorkstation: n, maxConcurrentBoots: k, launchIntervalMs: s, bootMs: b } = limits;
  return Math.max((n - 1) * s + b, Math.ceil(n / k) * b);
}

/** Closes a bench client's socket and waits for it, cutting it after 2 s if the server does not answer. */
export async function closeSocket(socket: WebSocket | undefined): Promise<void> {
  if (!socket || socket.readyState === WebSocket.CLOSED) return;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.close(1000, 'bench done');
  const forced = setTimeout(() => socket.terminate(), 2_000);
  await closed;
  clearTimeout(forced);
}
