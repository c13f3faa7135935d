/**
 * Reconnect delays: exponential growth with "full jitter" (a uniform draw between 0 and the
 * current ceiling), so 200 agents that lost the server at the same moment do not all dial back
 * in the same millisecond.
 */
export interface BackoffOptions {
  /** The ceiling of the first delay. */
  readonly baseMs: number;
  /** No delay ever exceeds this. */
  readonly capMs: number;
  /** Uniform in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000 };

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {
    this.random = options.random ?? Math.random;
  }

  /** The ceiling the next delay is drawn under: `min(cap, base · 2^attempt)`. */
  ceilingMs(): number {
    // Past ~30 doublings the power overflows any cap; stop growing the exponent there.
    const exponent = Math.min(this.attempt, 30);
    return Math.min(this.options.capMs, this.options.baseMs * 2 ** exponent);
  }

  /** The delay before the next attempt; each call grows the ceiling. */
  nextDelayMs(): number {
    const delay = Math.floor(this.random() * this.ceilingMs());
    this.attempt += 1;
    return delay;
  }

  /** Called once a connection has proven stable. */
  reset(): void {
    this.attempt = 0;
  }
}
