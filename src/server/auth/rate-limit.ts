import type { WindowCounters } from '../shared/index.js';

export interface LoginThrottleLimits {
  readonly maxPerIp: number;
  readonly maxPerUser: number;
  readonly windowMs: number;
}

/**
 * Failed logins counted per client address and per (user name, address), in counters every
 * replica shares (`WindowCounters`: a table, or Redis). Keyed on the address, so an attacker
 * guessing a name is stopped at theirs and never locks the real user out elsewhere; a success
 * takes its attempt back, so only failures use up a window.
 */
export class LoginThrottle {
  constructor(
    private readonly counters: WindowCounters,
    private readonly limits: LoginThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one attempt before the password is hashed (so a burst of parallel guesses on several
   * replicas cannot all pass a check made before the count); returns the seconds to wait when
   * the address or the (user, address) pair is over its limit, else 0.
   */
  async attempt(ip: string, username: string): Promise<number> {
    const now = this.now();
    const [address, pair] = await Promise.all([
      this.counters.hit(ipKey(ip), this.limits.windowMs, now),
      this.counters.hit(pairKey(ip, username), this.limits.windowMs, now),
    ]);
    const over = [address.hits > this.limits.maxPerIp ? address : undefined, pair.hits > this.limits.maxPerUser ? pair : undefined];
    const waitMs = Math.max(0, ...over.map((window) => window?.endsInMs ?? 0));
    return over.some(Boolean) ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
  }

  /** The attempt succeeded, so it was no guess: the pair starts again, the address gets it back. */
  async succeeded(ip: string, username: string): Promise<void> {
    await Promise.all([this.counters.reset(pairKey(ip, username)), this.counters.refund(ipKey(ip), this.now())]);
  }
}

const ipKey = (ip: string) => `login:ip:${ip}`;
// An address never holds '|', so the name before the last one cannot make two pairs collide.
const pairKey = (ip: string, username: string) => `login:user:${username.toLowerCase()}|${ip}`;
