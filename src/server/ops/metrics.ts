import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState } from './breakers.js';
import { BREAKER_GAUGE_VALUE } from './breakers.js';

/** The engine's Prometheus metrics, on a registry the server merges into `/metrics`. */
export class EngineMetrics {
  readonly registry: Registry;
  private readonly finished: Counter<'action' | 'status'>;
  private readonly durations: Histogram<'action' | 'status'>;
  private readonly breaker: Gauge<'workstation'>;
  private readonly retries: Counter<'action' | 'category'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.finished = new Counter({
      name: 'ldfleet_operations_finished_total',
      help: 'Operations that reached a final status',
      labelNames: ['action', 'status'],
      registers: [registry],
    });
    this.durations = new Histogram({
      name: 'ldfleet_operation_duration_seconds',
      help: 'From creation to the final status',
      labelNames: ['action', 'status'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'ldfleet_operation_retries_total',
      help: 'Attempts scheduled again after a transient failure',
      labelNames: ['action', 'category'],
      registers: [registry],
    });
    this.breaker = new Gauge({
      name: 'ldfleet_workstation_breaker_state',
      help: 'Circuit breaker per workstation: 0 closed, 1 half open, 2 open',
      labelNames: ['workstation'],
      registers: [registry],
    });
  }

  operationFinished(action: string, status: string, seconds: number): void {
    this.finished.inc({ action, status });
    this.durations.observe({ action, status }, seconds);
  }

  retryScheduled(action: string, category: string): void {
    this.retries.inc({ action, category });
  }

  breakerState(workstationId: string, state: BreakerState): void {
    this.breaker.set({ workstation: workstationId }, BREAKER_GAUGE_VALUE[state]);
  }
}
