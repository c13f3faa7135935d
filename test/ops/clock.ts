/**
 * A clock for the engine that tests move forward: real time plus an offset. Timers also run in
 * real time (so sweeps and pumps go on as usual), and `advance` fires the ones it passed at once.
 */
import type { Clock } from '../../src/server/ops/index.js';

interface Timer {
  due: number;
  fn: () => void;
  real: NodeJS.Timeout;
}

export class TestClock implements Clock {
  private offset = 0;
  private readonly timers = new Set<Timer>();

  now(): number {
    return Date.now() + this.offset;
  }

  schedule(fn: () => void, ms: number): () => void {
    const timer: Timer = { due: this.now() + ms, fn, real: setTimeout(() => this.fire(timer), Math.max(0, ms)) };
    timer.real.unref();
    this.timers.add(timer);
    return () => {
      clearTimeout(timer.real);
      this.timers.delete(timer);
    };
  }

  /** Moves time forward by `ms` and runs every timer that is due by then. */
  advance(ms: number): void {
    this.offset += ms;
    const now = this.now();
    for (const timer of [...this.timers]) {
      if (timer.due <= now) {
        clearTimeout(timer.real);
        this.fire(timer);
      }
    }
  }

  private fire(timer: Timer): void {
    if (!this.timers.delete(timer)) return;
    timer.fn();
  }
}
