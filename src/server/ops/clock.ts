/**
 * The engine's time: the current instant and one-shot timers. Injected so that tests of grace
 * periods, backoff and launch intervals move time forward instead of sleeping.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms`; returns the function that cancels it. Never keeps the process alive. */
  schedule(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Runs `fn` every `ms` on `clock` until the returned function is called. */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let cancel: () => void = () => undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    cancel = clock.schedule(() => {
      fn();
      tick();
    }, ms);
  };
  tick();
  return () => {
    stopped = true;
    cancel();
  };
}
