import { Gauge, type Registry } from 'prom-client';
import type { WorkstationsTable } from '../store/index.js';

type StatusLabels = { workstation: string; status: string; reason: string };

/**
 * `ldfleet_workstation_status{workstation, status, reason}`: one series per workstation, value 1,
 * labelled with its current status (and reason when degraded), so an alert can fire on
 * `status="degraded"`.
 */
export class FleetMetrics {
  private readonly status: Gauge<keyof StatusLabels>;
  private readonly current = new Map<string, StatusLabels>();

  constructor(registry: Registry) {
    this.status = new Gauge({
      name: 'ldfleet_workstation_status',
      help: 'Current status of each workstation seen since the server started (value 1; reason set when degraded)',
      labelNames: ['workstation', 'status', 'reason'],
      registers: [registry],
    });
  }

  statusChanged(row: Pick<WorkstationsTable, 'id' | 'status' | 'status_reason'>): void {
    const previous = this.current.get(row.id);
    if (previous) this.status.remove(previous);
    const labels: StatusLabels = { workstation: row.id, status: row.status, reason: row.status_reason ?? '' };
    this.current.set(row.id, labels);
    this.status.set(labels, 1);
  }
}
