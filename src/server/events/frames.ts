/**
 * Fan-out of bus events to the `/events` streams in frames. Streams with the same topic filter
 * and mode form a group; the group, not each stream, listens on the bus and queues its events.
 * One shared timer flushes every group every frame interval: the group's frame (a JSON array
 * of the queued events, coalesced for `?coalesce=1`) is built once, as one Buffer, and that
 * same Buffer goes to each of its streams. So 100 identical dashboards cost one bus listener,
 * one join and one UTF-8 encoding per flush, and publishing costs one push per group.
 */
import type { AnyFleetEvent, EventBus, FleetEvent } from './bus.js';
import { eventJson } from './bus.js';
import { coalesceFrame } from './coalesce.js';
import type { TopicFilter } from './topics.js';

/** One stream as the fan-out sees it. */
export interface FrameMember {
  /** Takes one frame (a JSON array as UTF-8); the stream applies its own backpressure. */
  deliver(frame: Buffer): void;
}

export interface FrameFanoutOptions {
  /** How long events gather before a flush (ms). */
  readonly frameIntervalMs: number;
  /**
   * Events one group queues per frame interval; past it the group's queue is dropped and its
   * streams get one `stream.resync` instead (they refetch), so a burst cannot grow memory.
   */
  readonly maxEventsPerFrame: number;
  readonly clock?: () => number;
}

export type FrameMode = 'all' | 'coalesce';

interface FrameGroup {
  readonly coalesce: boolean;
  /** Each stream with how many of the queued events predate it (it gets only the rest). */
  readonly members: Map<FrameMember, number>;
  queue: AnyFleetEvent[];
  overflowed: boolean;
  unsubscribe: () => void;
}

/** `stream.*` events concern every stream, whatever topics it asked for. */
const STREAM_FAMILY = 'stream.';

export class FrameFanout {
  private readonly groups = new Map<string, FrameGroup>();
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  constructor(
    private readonly bus: EventBus,
    private readonly options: FrameFanoutOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** Adds a stream to its group; returns the function that removes it. */
  join(topics: TopicFilter, mode: FrameMode, member: FrameMember): () => void {
    const key = `${mode} ${topics.key}`;
    let group = this.groups.get(key);
    if (!group) {
      const created: FrameGroup = { coalesce: mode === 'coalesce', members: new Map(), queue: [], overflowed: false, unsubscribe: () => undefined };
      created.unsubscribe = this.bus.subscribe(
        (event) => this.enqueue(created, event),
        (type) => type.startsWith(STREAM_FAMILY) || topics.accepts(type),
      );
      this.groups.set(key, created);
      group = created;
    }
    const joined = group;
    joined.members.set(member, joined.queue.length);
    return () => {
      if (!joined.members.delete(member) || joined.members.size > 0) return;
      joined.unsubscribe();
      if (this.groups.get(key) === joined) this.groups.delete(key);
    };
  }

  /** Groups (and so bus listeners) currently held. */
  get groupCount(): number {
    return this.groups.size;
  }

  /** Sends every pending frame now (also what the timer does). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const group of this.groups.values()) this.flushGroup(group);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const group of this.groups.values()) group.unsubscribe();
    this.groups.clear();
  }

  private enqueue(group: FrameGroup, event: AnyFleetEvent): void {
    if (!group.overflowed) {
      if (group.queue.length < this.options.maxEventsPerFrame) group.queue.push(event);
      else {
        group.overflowed = true;
        group.queue = [];
      }
    }
    // Armed by the first event after a quiet spell: an idle server does not wake up.
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.options.frameIntervalMs);
      this.timer.unref();
    }
  }

  private flushGroup(group: FrameGroup): void {
    if (group.queue.length === 0 && !group.overflowed) return;
    const events: readonly AnyFleetEvent[] = group.overflowed ? [this.overflowEvent()] : group.queue;
    const overflowed = group.overflowed;
    group.queue = [];
    group.overflowed = false;
    let shared: Buffer | undefined;
    // A member may leave while it is served (dropped as too slow): Map iteration allows that.
    for (const [member, skip] of group.members) {
      if (skip !== 0) group.members.set(member, 0);
      if (skip === 0 || overflowed) member.deliver((shared ??= this.frameOf(events, group.coalesce)));
      // Joined mid-interval: it gets only what was published after it joined (rare, so built apart).
      else if (skip < events.length) member.deliver(this.frameOf(events.slice(skip), group.coalesce));
    }
  }

  private frameOf(events: readonly AnyFleetEvent[], coalesce: boolean): Buffer {
    const kept = coalesce ? coalesceFrame(events) : events;
    return Buffer.from(`[${kept.map(eventJson).join(',')}]`);
  }

  private overflowEvent(): FleetEvent<'stream.resync'> {
    return {
      type: 'stream.resync',
      at: new Date(this.clock()).toISOString(),
      data: { reason: `more than ${this.options.maxEventsPerFrame} events in one frame interval; they were not sent` },
    };
  }
}
