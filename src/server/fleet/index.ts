/** The fleet unit: workstations' observed state and the emulator inventory with stable ids. */
export { Fleet } from './fleet.js';
export type { FleetOptions } from './fleet.js';
export { planInventory } from './inventory.js';
export type { EmulatorChange, InventoryPlan } from './inventory.js';
export { agentHealthMigration, emulatorsMigration } from './schema.js';
export type { EmulatorsTable } from './schema.js';
export { listEmulators, getEmulator } from './queries.js';
export type { EmulatorFilter } from './queries.js';
export { emulatorsUnit, registerEmulatorRoutes, EmulatorSchema } from './routes.js';
export { toEmulator, toWorkstationInfo } from './mapping.js';
export type { Emulator, EmulatorCounts, WorkstationInfo, WorkstationStatus } from './types.js';
