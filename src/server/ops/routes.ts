/** Every route of the operation engine, one file per resource. */
import type { App } from '../http/index.js';
import { registerBatchRoutes } from './batch-routes.js';
import { registerEmulatorRoutes } from './emulator-routes.js';
import { registerOperationRoutes } from './operation-routes.js';
import type { OpsRouteDeps } from './route-support.js';

export type { OpsRouteDeps } from './route-support.js';

export function registerOpsRoutes(api: App, deps: OpsRouteDeps): void {
  registerEmulatorRoutes(api, deps);
  registerBatchRoutes(api, deps);
  registerOperationRoutes(api, deps);
}
