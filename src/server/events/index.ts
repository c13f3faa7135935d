/** The events unit: the in-process bus and the `/api/v1/events` WebSocket stream. */
export { EventBus, eventJson } from './bus.js';
export type { AnyFleetEvent, EventDataMap, EventListener, EventType, FleetEvent, EventLogger } from './bus.js';
export { parseTopicFilter, InvalidTopicError } from './topics.js';
export type { TopicFilter } from './topics.js';
export { coalesceFrame } from './coalesce.js';
export { FrameFanout } from './frames.js';
export type { FrameFanoutOptions, FrameMember, FrameMode } from './frames.js';
export { eventsUnit, registerEventsRoute, EVENTS_PATH, EventsCloseCode } from './routes.js';
export type { EventsPrincipal, EventsRouteOptions, SharedSlots } from './routes.js';
