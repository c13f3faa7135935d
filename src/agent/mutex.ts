/**
 * A FIFO lock. The agent holds it around every state-changing ldconsole call, because
 * LDPlayer misbehaves when two mutations (e.g. two `copy`s) overlap on one host.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  /** Runs `task` once every earlier task has settled; its result or error passes through. */
  runExclusive<T>(task: () => Promise<T>): Promise<T> {
    this.queued += 1;
    const result = this.tail.then(task);
    const settled = result.then(
      () => this.release(),
      () => this.release(),
    );
    this.tail = settled;
    return result;
  }

  /** How many tasks are running or waiting. */
  get pending(): number {
    return this.queued;
  }

  private release(): void {
    this.queued -= 1;
  }
}
