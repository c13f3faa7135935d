/**
 * Target resolution: which stored emulator an operation acts on, what the agent's replies say
 * about instances (written back to the fleet), and the recovery reads of create/clone and of an
 * instance the agent momentarily did not list. Every read goes through the fleet unit.
 */
import { randomUUID } from 'node:crypto';
import type { ObservedInstance } from '../../protocol/index.js';
import type { EmulatorsTable } from '../fleet/index.js';
import type { EngineCore } from './core.js';
import { ActionFailure, conflictFailure } from './errors.js';
import type { OperationsTable } from './schema.js';

/** The agent reported an instance missing that a fresh inventory shows is there. */
export const INVENTORY_GLITCH = 'inventory_glitch';

export class Targets {
  constructor(private readonly core: EngineCore) {}

  /**
   * The operation's emulator: by id, else by the instance identity it was made for (an
   * emulator the inventory lost sight of and found again may have been given a new id; then
   * the operation follows it).
   */
  async emulatorOf(row: OperationsTable): Promise<EmulatorsTable | undefined> {
    if (row.emulator_id === null) return undefined;
    const byId = await this.core.fleet.emulator(row.emulator_id);
    if (byId || row.target_index === null || row.target_generation === null) return byId;
    const sameInstance = await this.core.fleet.instance(row.workstation_id, row.target_index, row.target_generation);
    if (sameInstance) await this.core.repo.setEmulatorId(row.id, sameInstance.id);
    return sameInstance ?? this.onAgent(row);
  }

  /**
   * Last resort before calling an emulator gone: the agent's own fresh inventory. The stored
   * inventory lags the agent's polls; when the agent still lists the instance, it is recorded
   * again and the operation follows it.
   */
  private async onAgent(row: OperationsTable): Promise<EmulatorsTable | undefined> {
    if (row.target_index === null || row.target_generation === null) return undefined;
    let instances: ObservedInstance[];
    try {
      ({ instances } = await this.freshInventory(row.workstation_id));
    } catch (error) {
      this.core.logError(error, { operationId: row.id, workstationId: row.workstation_id }, 'fresh inventory for a lost target failed');
      return undefined;
    }
    const instance = instances.find((candidate) => candidate.index === row.target_index && candidate.generation === row.target_generation);
    if (!instance) return undefined;
    const emulatorId = await this.observed(row.workstation_id, instance);
    await this.core.repo.setEmulatorId(row.id, emulatorId);
    return this.core.fleet.emulator(emulatorId);
  }

  /** Records what the agent returned about an instance and gives its emulator id. */
  async observed(workstationId: string, instance: ObservedInstance): Promise<string> {
    await this.core.fleet.applyInventory(workstationId, { type: 'inventory', full: false, upserts: [instance], removed: [] });
    const row = await this.core.fleet.instance(workstationId, instance.index, instance.generation);
    if (!row) throw new ActionFailure('ldconsole', 'inventory_mismatch', `instance ${instance.index} is not in the inventory`);
    return row.id;
  }

  async observedRemoved(workstationId: string, emulator: Pick<EmulatorsTable, 'idx' | 'generation'>): Promise<void> {
    await this.core.fleet.applyInventory(workstationId, {
      type: 'inventory',
      full: false,
      upserts: [],
      removed: [{ index: emulator.idx, generation: emulator.generation }],
    });
  }

  /**
   * Create/clone recovery: asks the agent for a fresh inventory and looks for an instance with
   * the operation's name that the store did not know before the operation started.
   */
  async createdSince(
    row: OperationsTable,
    name: string,
    inventory: () => Promise<{ instances: ObservedInstance[] }>,
  ): Promise<{ emulatorId: string; instance: ObservedInstance } | undefined> {
    const known = await this.core.fleet.namedBefore(row.workstation_id, name, row.started_at ?? row.created_at);
    const before = new Set(known.map((emulator) => `${emulator.idx}/${emulator.generation}`));
    const { instances } = await inventory();
    const instance = instances.find((candidate) => candidate.name === name && !before.has(`${candidate.index}/${candidate.generation}`));
    if (!instance) return undefined;
    return { emulatorId: await this.observed(row.workstation_id, instance), instance };
  }

  /**
   * The agent said it found no instance at the emulator's index. Either the emulator was
   * removed behind ldfleet's back (then: `conflict`/`emulator_gone`), or the agent's view was
   * momentarily incomplete; a fresh inventory tells which. The latter stays a transient failure.
   */
  async explainMissing(row: OperationsTable, failure: ActionFailure): Promise<ActionFailure> {
    if (row.emulator_id === null || failure.category !== 'ldconsole' || failure.code !== 'not_found') return failure;
    const emulator = await this.emulatorOf(row);
    if (!emulator) return goneFailure(row.emulator_id);
    try {
      const { instances } = await this.freshInventory(row.workstation_id);
      const still = instances.find((instance) => instance.index === emulator.idx && instance.generation === emulator.generation);
      if (!still) {
        await this.observedRemoved(row.workstation_id, emulator);
        return goneFailure(row.emulator_id, 'the agent no longer lists it');
      }
      await this.observed(row.workstation_id, still);
      return new ActionFailure('ldconsole', INVENTORY_GLITCH, `the agent briefly did not see instance ${emulator.idx}: ${failure.message}`);
    } catch (error) {
      this.core.logError(error, { operationId: row.id, workstationId: row.workstation_id }, 'could not tell whether a missing instance is gone');
      return failure;
    }
  }

  private freshInventory(workstationId: string): Promise<{ instances: ObservedInstance[] }> {
    return this.core.callAgent(workstationId, 'inventory', {}, { timeoutMs: this.core.options.timeouts.callMs, id: `sync:${randomUUID()}` });
  }
}

export function goneFailure(emulatorId: string, why = 'neither the inventory nor the agent lists it'): ActionFailure {
  return conflictFailure('emulator_gone', `emulator ${emulatorId} no longer exists on its workstation: ${why}`);
}
