import type { Config } from '../config/index.js';
import type { Store } from '../store/index.js';
import type { AuthService } from '../auth/service.js';
import type { AuditLog } from '../auth/audit.js';
import type { EventBus } from '../events/index.js';
import type { Fleet } from '../fleet/index.js';
import type { Gateway } from '../gateway/index.js';
import type { App } from './type-provider.js';

/** What every unit gets to build its routes and services on. */
export interface ServerContext {
  readonly config: Config;
  readonly store: Store;
  readonly auth: AuthService;
  readonly audit: AuditLog;
  /** Publish and subscribe to `workstation.*`, `emulator.*` (and other units') events. */
  readonly bus: EventBus;
  /** The inventory agents report. */
  readonly fleet: Fleet;
  /** Agent sessions: `call`, `sendFile`, `isOnline`, `onSessionOpen`. */
  readonly gateway: Gateway;
}

/**
 * A unit of the server. `routes` is called inside the /api/v1 prefix; each route must carry
 * `config: { auth: 'public' | 'viewer' | 'operator' | 'admin' }`.
 */
export interface ServerUnit {
  readonly name: string;
  routes(api: App, context: ServerContext): void | Promise<void>;
}
