/** The events unit: the in-process bus and the `/api/v1/events` WebSocket stream. */
export { EventBus, eventJson } from './bus.js';
export type { AnyFleetEvent, EventDataMap, EventListener, EventType, FleetEvent, EventLogger } from './bus.js';
export { parseTopics, InvalidTopicError } from './topics.js';
export { eventsUnit, registerEventsRoute, EVENTS_PATH, EventsCloseCode } from './routes.js';
export type { EventsPrincipal, EventsRouteOptions } from './routes.js';
