/**
 * Coalescing of one frame's events (`?coalesce=1`, the dashboard's mode): a client that shows
 * the current state of each emulator needs only the last `emulator.state`/`emulator.updated` of
 * each one per frame, since both carry the whole emulator. Nothing else is dropped.
 */
import type { AnyFleetEvent, FleetEvent } from './bus.js';

type StateEvent = FleetEvent<'emulator.state'>;
type Mergeable = StateEvent | FleetEvent<'emulator.updated'>;

function isMergeable(event: AnyFleetEvent): event is Mergeable {
  return event.type === 'emulator.state' || event.type === 'emulator.updated';
}

/** The changes of one emulator since its last created/removed inside the frame. */
interface Chain {
  /** The first `emulator.state` merged: its previousState/previousBooted is where the client last saw it. */
  firstState: StateEvent | undefined;
  lastIndex: number;
  merged: number;
}

/**
 * The frame with only the last state/updated event of each emulator, at the place of that last
 * one, so it still follows everything that happened before it. When a state change was merged
 * away the survivor is an `emulator.state` from the first merged state's previousState and
 * previousBooted to the last event's emulator, so the client still sees from → to.
 * `emulator.created`/`emulator.removed` and other events are kept, and a chain does not reach
 * across them. Returns the input itself when nothing merges.
 */
export function coalesceFrame(events: readonly AnyFleetEvent[]): readonly AnyFleetEvent[] {
  const open = new Map<string, Chain>();
  const survivors = new Map<number, Chain>();
  let dropped = 0;
  events.forEach((event, index) => {
    if (isMergeable(event)) {
      let chain = open.get(event.data.id);
      if (chain) {
        survivors.delete(chain.lastIndex);
        dropped += 1;
      } else {
        chain = { firstState: undefined, lastIndex: index, merged: 0 };
        open.set(event.data.id, chain);
      }
      chain.lastIndex = index;
      chain.merged += 1;
      if (event.type === 'emulator.state') chain.firstState ??= event;
      survivors.set(index, chain);
    } else if (event.type === 'emulator.created' || event.type === 'emulator.removed') {
      open.delete(event.data.id);
    }
  });
  if (dropped === 0) return events;
  const frame: AnyFleetEvent[] = [];
  events.forEach((event, index) => {
    if (!isMergeable(event)) frame.push(event);
    else {
      const chain = survivors.get(index);
      if (chain) frame.push(survivorOf(chain, event));
    }
  });
  return frame;
}

function survivorOf(chain: Chain, last: Mergeable): AnyFleetEvent {
  const first = chain.firstState;
  if (chain.merged === 1 || first === undefined || first === last) return last;
  const { previousState: _state, previousBooted: _booted, ...emulator } = last.data as StateEvent['data'];
  const merged: StateEvent = {
    type: 'emulator.state',
    at: last.at,
    data: { ...emulator, previousState: first.data.previousState, previousBooted: first.data.previousBooted },
  };
  return merged;
}
