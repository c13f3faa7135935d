/**
 * Keeps the server's copy of the inventory in step with the observer's: each refresh observes
 * once and sends what changed since the last message the server got (everything, after a
 * (re)connect or a resync). Refreshes never overlap; a refresh asked for while one runs gets a
 * fresh observation made after it, so a caller that just changed something sees its change.
 */
import type { InventoryMessage } from '../protocol/index.js';
import { diffInventoryMessage, diffSnapshots, fullInventoryMessage, isEmptyDiff, type Snapshot } from './inventory.js';

export interface SnapshotSource {
  observe(): Promise<Snapshot>;
}

export class InventoryFeed {
  private latest: Snapshot = new Map();
  /** What the server holds; undefined when it needs a full snapshot. */
  private serverHolds: Snapshot | undefined;
  private publishing = false;
  private running: Promise<Snapshot> | undefined;
  private queued: Promise<Snapshot> | undefined;

  /** `send` returns false when the message could not go out (no connection). */
  constructor(
    private readonly source: SnapshotSource,
    private readonly send: (message: InventoryMessage) => boolean,
  ) {}

  /** The last successful observation. */
  get current(): Snapshot {
    return this.latest;
  }

  /** Starts sending to a newly welcomed server: a full snapshot first. */
  startPublishing(): void {
    this.publishing = true;
    this.serverHolds = undefined;
  }

  stopPublishing(): void {
    this.publishing = false;
    this.serverHolds = undefined;
  }

  /** The server asked for everything again. */
  resync(): Promise<Snapshot> {
    this.serverHolds = undefined;
    return this.refresh();
  }

  /** Observes (after any refresh already running) and publishes the change. Rejects when observing fails. */
  refresh(): Promise<Snapshot> {
    if (this.running === undefined) {
      this.running = this.observeAndPublish().finally(() => (this.running = undefined));
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

  private async observeAndPublish(): Promise<Snapshot> {
    const snapshot = await this.source.observe();
    this.latest = snapshot;
    if (this.publishing) this.publish(snapshot);
    return snapshot;
  }

  private publish(snapshot: Snapshot): void {
    if (this.serverHolds === undefined) {
      if (this.send(fullInventoryMessage(snapshot))) this.serverHolds = snapshot;
      return;
    }
    const diff = diffSnapshots(this.serverHolds, snapshot);
    if (isEmptyDiff(diff)) return;
    // A diff that could not be sent is folded into the next one (or replaced by a full snapshot on reconnect).
    if (this.send(diffInventoryMessage(diff))) this.serverHolds = snapshot;
  }
}
