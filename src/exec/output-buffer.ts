/** Collects a stream's chunks up to a byte limit, remembering whether anything was dropped. */
export class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private overflowed = false;

  constructor(private readonly limit: number) {}

  /** Appends what fits; returns false once the limit has been exceeded. */
  push(chunk: Buffer): boolean {
    if (this.overflowed) return false;
    const room = this.limit - this.size;
    if (chunk.length > room) {
      if (room > 0) this.append(chunk.subarray(0, room));
      this.overflowed = true;
      return false;
    }
    this.append(chunk);
    return true;
  }

  get truncated(): boolean {
    return this.overflowed;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }

  private append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
}
