import type { AuditLog, AuthService } from './auth/index.js';
import type { Config } from './config/index.js';
import type { EventBus } from './events/index.js';
import type { Fleet } from './fleet/index.js';
import type { Gateway } from './gateway/index.js';
import type { Store } from './store/index.js';
import type { WindowCounters } from './shared/index.js';

/** What the server's assembly gives every unit to build its routes and services on. */
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
  /** Fixed-window counters every replica shares (the `rate_limits` table, or Redis). */
  readonly counters: WindowCounters;
}
