/**
 * Group commit: writes asked for while a write is in flight (or in the same turn of the event
 * loop) go to the store together, in one transaction, instead of one commit each. Under load
 * the batches grow by themselves; alone, a write waits one `setImmediate`.
 */
export class GroupCommit<Item, Result> {
  private queue: { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }[] = [];
  private flushing = false;
  private scheduled = false;

  /** `write` gets the items in the order they were asked for and returns one result each. */
  constructor(
    private readonly write: (items: readonly Item[]) => Promise<readonly Result[]>,
    private readonly maxItems = 500,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxItems);
    try {
      const results = await this.write(batch.map((entry) => entry.item));
      batch.forEach((entry, n) => entry.resolve(results[n] as Result));
    } catch (error) {
      // The transaction wrote nothing: each caller handles the failure as it would its own write's.
      for (const entry of batch) entry.reject(error);
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
