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
