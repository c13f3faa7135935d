/**
 * The in-process event bus: every change the server observes or makes is published here once,
 * and the `/events` WebSocket, the operation engine and tests subscribe to it.
 */
import type { Emulator } from '../fleet/types.js';
import type { WorkstationInfo } from '../fleet/types.js';
import type { Metrics } from '../../protocol/index.js';

/**
 * The payload of each event type. Other units add theirs by merging into this interface:
 *
 *   declare module '../events/bus.js' { interface EventDataMap { 'operation.updated': Operation } }
 */
export interface EventDataMap {
  'workstation.online': WorkstationInfo;
  'workstation.offline': WorkstationInfo;
  /** A connected agent cannot do its job; `statusReason` and `statusMessage` say why. */
  'workstation.degraded': WorkstationInfo;
  'workstation.updated': WorkstationInfo;
  'workstation.metrics': { workstationId: string; metrics: Metrics };
  'emulator.created': Emulator;
  'emulator.updated': Emulator;
  /** The emulator after its `state` or `booted` changed, with what they were before. */
  'emulator.state': Emulator & { previousState: Emulator['state']; previousBooted: boolean };
  /** The emulator as it was last seen. */
  'emulator.removed': Emulator;
  /**
   * Events may have been missed (a replica's listener reconnected, or a stream's frame
   * overflowed): clients refetch what they show. Reaches every stream whatever its topics.
   */
  'stream.resync': { reason: string };
}

export type EventType = keyof EventDataMap;

/** One event as subscribers and WebSocket clients see it. */
export interface FleetEvent<T extends EventType = EventType> {
  readonly type: T;
  /** ISO-8601 time of publication. */
  readonly at: string;
  readonly data: EventDataMap[T];
}

/** Any event, discriminated by `type`. */
export type AnyFleetEvent = { [T in EventType]: FleetEvent<T> }[EventType];

export type EventListener = (event: AnyFleetEvent) => void;

const serialized = new WeakMap<object, string>();

/**
 * The event as JSON text, computed once however many streams send it: fan-out to N clients
 * must not cost N serialisations. Streams that group events into frames join these strings.
 */
export function eventJson(event: FleetEvent): string {
  let json = serialized.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    serialized.set(event, json);
  }
  return json;
}

export interface EventLogger {
  error(object: object, message: string): void;
}

export class EventBus {
  private readonly listeners = new Set<{ listener: EventListener; accepts: (type: string) => boolean }>();

  constructor(
    private readonly logger?: EventLogger,
    private readonly clock: () => number = Date.now,
  ) {}

  publish<T extends EventType>(type: T, data: EventDataMap[T]): FleetEvent<T> {
    const event: FleetEvent<T> = { type, at: new Date(this.clock()).toISOString(), data };
    for (const entry of [...this.listeners]) {
      if (!entry.accepts(type)) continue;
      // A failing subscriber must not stop the others or the publisher (often mid-request).
      try {
        entry.listener(event as AnyFleetEvent);
      } catch (error) {
        this.logger?.error({ err: error, eventType: type }, 'event listener failed');
      }
    }
    return event;
  }

  /** Calls `listener` for every event whose type `accepts`; returns the unsubscribe function. */
  subscribe(listener: EventListener, accepts: (type: string) => boolean = () => true): () => void {
    const entry = { listener, accepts };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Resolves with the first event that `matches` (tests and callers that await one change). */
  waitFor<T extends EventType>(
    type: T,
    matches: (event: FleetEvent<T>) => boolean = () => true,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<FleetEvent<T>> {
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        unsubscribe();
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const unsubscribe = this.subscribe((event) => {
        const typed = event as FleetEvent<T>;
        if (matches(typed)) finish(() => resolve(typed));
      }, (candidate) => candidate === type);
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no ${type} event within ${options.timeoutMs} ms`))),
        options.timeoutMs ?? 30_000,
      );
      const onAbort = () => finish(() => reject(options.signal?.reason));
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
