/** The workstations unit: the registry of workstations and their agents' enrollment tokens. */
export { Workstations, toWorkstation } from './service.js';
export type { Workstation, WorkstationInput, WorkstationLimits, WorkstationStatus, WorkstationChange, WorkstationChangeListener } from './service.js';
export { workstationsUnit, WorkstationSchema, LimitsSchema } from './routes.js';
