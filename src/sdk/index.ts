/** The typed client of the ldfleet API (fetch-based; Node 20+ and browsers). */
export { LdfleetClient, ApiError } from './client.js';
export type { ClientOptions, RequestOptions } from './client.js';
export type * from './types.js';
export type * from './fleet-types.js';
export type * from './ops-types.js';
export { subscribeEvents, waitForOperation, waitForBatch, isFinalOperation, isFinishedBatch } from './events.js';
export type {
  EventSubscription,
  FleetEventType,
  FleetStreamEvent,
  StreamStatus,
  SubscribeOptions,
  WaitOptions,
  WebSocketConstructorLike,
  WebSocketLike,
} from './events.js';
