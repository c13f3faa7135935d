/**
 * Fixed-window counters kept in memory, one per key (an IP, a user name). Enough for one server
 * process; replicas behind a balancer each count their own share.
 */
export class WindowCounter {
  private readonly windows = new Map<string, { count: number; resetsAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Seconds to wait when the key has used up its window, else 0; counts nothing. */
  wait(key: string, now: number = Date.now()): number {
    const window = this.windows.get(key);
    if (!window || window.resetsAt <= now || window.count < this.max) return 0;
    return Math.max(1, Math.ceil((window.resetsAt - now) / 1000));
  }

  /** Forgets a key's count (a login succeeded: its attempt was not a guess). */
  reset(key: string): void {
    this.windows.delete(key);
  }

  /** Takes back one counted attempt (it succeeded, so it was no guess). */
  refund(key: string): void {
    const window = this.windows.get(key);
    if (window && window.count > 0) window.count -= 1;
  }

  /** Counts one attempt; returns the seconds to wait when the key is over its limit, else 0. */
  hit(key: string, now: number = Date.now()): number {
    this.evictExpired(now);
    const window = this.windows.get(key);
    if (!window || window.resetsAt <= now) {
      this.windows.set(key, { count: 1, resetsAt: now + this.windowMs });
      return 0;
    }
    window.count += 1;
    return window.count > this.max ? Math.max(1, Math.ceil((window.resetsAt - now) / 1000)) : 0;
  }

  private evictExpired(now: number): void {
    // Bounded work per call keeps the map from growing without limit under a spray of keys.
    if (this.windows.size < 10_000) return;
    for (const [key, window] of this.windows) if (window.resetsAt <= now) this.windows.delete(key);
  }
}
