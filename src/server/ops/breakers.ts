/**
 * One circuit breaker per workstation (cockatiel). Only failures that say the workstation is
 * unhealthy count: `transport` and `timeout`. An ldconsole refusal or a conflict is an answer,
 * not an outage. When open, calls fail at once with `circuit_open` until `halfOpenAfterMs` has
 * passed; then one call probes and its outcome closes or reopens the breaker.
 */
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { CircuitBreakerPolicy } from 'cockatiel';
import { ActionFailure } from './errors.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  consecutiveFailures: number;
  halfOpenAfterMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { consecutiveFailures: 5, halfOpenAfterMs: 60_000 };

/** The numeric value of each state on the `/metrics` gauge. */
export const BREAKER_GAUGE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

function countsAgainstHealth(error: unknown): boolean {
  return error instanceof ActionFailure && (error.category === 'transport' || error.category === 'timeout');
}

interface Entry {
  policy: CircuitBreakerPolicy;
  openedAt: number;
}

export class WorkstationBreakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: BreakerOptions,
    private readonly onChange: (workstationId: string, state: BreakerState) => void = () => undefined,
  ) {}

  /** Runs `call` through the workstation's breaker; an open breaker throws `circuit_open`. */
  async execute<T>(workstationId: string, call: () => Promise<T>): Promise<T> {
    const entry = this.entry(workstationId);
    try {
      return await entry.policy.execute(call);
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new ActionFailure(
          'circuit_open',
          'circuit_open',
          `workstation ${workstationId} failed ${this.options.consecutiveFailures} calls in a row; calls are refused until a probe succeeds`,
        );
      }
      throw error;
    } finally {
      this.onChange(workstationId, this.state(workstationId));
    }
  }

  /**
   * `half_open` also when the open period has passed and the next call will be the probe:
   * cockatiel only changes its own state when that call arrives.
   */
  state(workstationId: string): BreakerState {
    const entry = this.entries.get(workstationId);
    if (!entry) return 'closed';
    switch (entry.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half_open';
      case CircuitState.Open:
      case CircuitState.Isolated:
        return Date.now() - entry.openedAt >= this.options.halfOpenAfterMs ? 'half_open' : 'open';
    }
  }

  /** Forgets the workstation's failures (its agent opened a new session). */
  reset(workstationId: string): void {
    if (!this.entries.delete(workstationId)) return;
    this.onChange(workstationId, 'closed');
  }

  private entry(workstationId: string): Entry {
    let entry = this.entries.get(workstationId);
    if (!entry) {
      const policy = circuitBreaker(handleWhen(countsAgainstHealth), {
        halfOpenAfter: this.options.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(this.options.consecutiveFailures),
      });
      const created: Entry = { policy, openedAt: 0 };
      policy.onBreak(() => {
        created.openedAt = Date.now();
      });
      policy.onStateChange(() => this.onChange(workstationId, this.state(workstationId)));
      this.entries.set(workstationId, created);
      entry = created;
    }
    return entry;
  }
}
