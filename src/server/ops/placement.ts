/**
 * Where new emulators go. Without a workstation given: the online workstation with the most
 * free capacity (`limits.maxInstances` minus its instances, counting creates still queued or
 * running); a tie, or no limit at all, goes to the one with the fewest instances.
 */
import { HttpError, notFound } from '../http/index.js';
import type { AgentCalls, FleetPort } from './ports.js';
import type { OperationRepository } from './repository.js';

interface Candidate {
  id: string;
  maxInstances: number;
  instances: number;
}

export class Placement {
  constructor(
    private readonly repo: OperationRepository,
    private readonly agents: Pick<AgentCalls, 'onlineWorkstations'>,
    private readonly fleet: Pick<FleetPort, 'emulatorCounts'>,
  ) {}

  /** One workstation id per new instance; throws 404 or 409 when they cannot be placed. */
  async place(count: number, workstationId?: string): Promise<string[]> {
    if (workstationId !== undefined) {
      const [candidate] = await this.candidates([workstationId]);
      if (!candidate) throw notFound('workstation');
      if (candidate.instances + count > candidate.maxInstances) {
        throw new HttpError(409, 'capacity_exhausted', `workstation ${workstationId} has room for ${Math.max(0, candidate.maxInstances - candidate.instances)} more instances`);
      }
      return Array.from({ length: count }, () => workstationId);
    }
    const online = this.agents.onlineWorkstations();
    if (online.length === 0) throw new HttpError(409, 'no_workstation_online', 'no workstation has a connected agent to place the emulator on');
    const candidates = await this.candidates(online);
    const placed: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const best = pickBest(candidates);
      if (!best) throw new HttpError(409, 'capacity_exhausted', `the online workstations have room for ${placed.length} of ${count} new instances`);
      best.instances += 1;
      placed.push(best.id);
    }
    return placed;
  }

  private async candidates(ids: readonly string[]): Promise<Candidate[]> {
    const db = this.repo.db;
    const [workstations, emulators, pending] = await Promise.all([
      db.selectFrom('workstations').select(['id', 'limits']).where('id', 'in', [...ids]).execute(),
      this.fleet.emulatorCounts(ids),
      db
        .selectFrom('operations')
        .select((eb) => ['workstation_id', eb.fn.countAll<number | string | bigint>().as('n')])
        .where('workstation_id', 'in', [...ids])
        .where('action', 'in', ['create', 'clone'])
        .where('status', 'in', ['queued', 'running'])
        .groupBy('workstation_id')
        .execute(),
    ]);
    const count = (rows: { workstation_id: string; n: number | string | bigint }[], id: string) =>
      Number(rows.find((row) => row.workstation_id === id)?.n ?? 0);
    return workstations.map((row) => ({
      id: row.id,
      maxInstances: maxInstancesOf(row.limits),
      instances: (emulators.get(row.id)?.total ?? 0) + count(pending, row.id),
    }));
  }
}

function maxInstancesOf(limitsJson: string): number {
  const limits = JSON.parse(limitsJson) as { maxInstances?: unknown };
  return typeof limits.maxInstances === 'number' ? limits.maxInstances : Number.POSITIVE_INFINITY;
}

function pickBest(candidates: readonly Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const candidate of candidates) {
    const free = candidate.maxInstances - candidate.instances;
    if (free <= 0) continue;
    if (!best) {
      best = candidate;
      continue;
    }
    const bestFree = best.maxInstances - best.instances;
    if (free > bestFree || (free === bestFree && candidate.instances < best.instances)) best = candidate;
  }
  return best;
}
