/**
 * Uploaded APKs waiting for their install operation (`<uploadDir>/<transferId>.apk`). They take
 * disk space the server's owner pays for, so the engine keeps them only while an operation may
 * still need them: a file is deleted once its operation ended for good, a file no unfinished
 * operation refers to is deleted past `orphanMaxAgeMs` (at start and on a schedule), and all of
 * them together, the uploads still streaming included, stay under `quotaBytes`.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from './clock.js';
import { every } from './clock.js';
import type { OperationsTable } from './schema.js';

export interface UploadsOptions {
  readonly dir: string;
  readonly quotaBytes: number;
  readonly orphanMaxAgeMs: number;
  readonly sweepIntervalMs: number;
}

const UPLOAD_NAME = /^([0-9a-f-]{36})\.apk$/;

export function uploadPath(uploadDir: string, transferId: string): string {
  return join(uploadDir, `${transferId}.apk`);
}

/** The upload an install operation refers to, if any. */
export function transferIdOf(row: Pick<OperationsTable, 'action' | 'params'>): string | undefined {
  if (row.action !== 'installApp') return undefined;
  const transferId = (JSON.parse(row.params) as { transferId?: unknown }).transferId;
  return typeof transferId === 'string' ? transferId : undefined;
}

/** An upload past the quota (HTTP 507). */
export class UploadQuotaError extends Error {
  constructor(
    readonly quotaBytes: number,
    readonly usedBytes: number,
  ) {
    super(`uploads may take ${quotaBytes} bytes on the server's disk and ${usedBytes} are in use; try again when waiting installs have run`);
  }
}

export class Uploads {
  /** Bytes of the files in the folder (as last counted, then kept up to date). */
  private onDisk = 0;
  /** Bytes of uploads still streaming in, and their transfer ids (a sweep leaves those files alone). */
  private inFlight = 0;
  private readonly streaming = new Set<string>();
  private stopSweep: (() => void) | undefined;

  constructor(
    readonly options: UploadsOptions,
    private readonly clock: Clock,
    /** Transfer ids that queued or running operations refer to (those files are kept). */
    private readonly referenced: () => Promise<ReadonlySet<string>>,
    private readonly onError: (error: unknown, message: string) => void,
  ) {}

  get dir(): string {
    return this.options.dir;
  }

  path(transferId: string): string {
    return uploadPath(this.options.dir, transferId);
  }

  /** Counts what is on disk, expires orphans now and then every `sweepIntervalMs`. */
  start(): void {
    if (this.stopSweep) return;
    void this.expire();
    this.stopSweep = every(this.clock, this.options.sweepIntervalMs, () => void this.expire());
  }

  stop(): void {
    this.stopSweep?.();
    this.stopSweep = undefined;
  }

  /** Bytes in use, streaming uploads included. */
  used(): number {
    return this.onDisk + this.inFlight;
  }

  /** An upload begins streaming into `path(transferId)`. */
  begin(transferId: string): void {
    this.streaming.add(transferId);
  }

  /** Takes `bytes` of the quota for an upload that is streaming in; false when they do not fit. */
  take(bytes: number): boolean {
    if (this.used() + bytes > this.options.quotaBytes) return false;
    this.inFlight += bytes;
    return true;
  }

  /** An upload ended: its `bytes` are on disk now (`kept`) or were thrown away. */
  settle(transferId: string, bytes: number, kept: boolean): void {
    this.streaming.delete(transferId);
    this.inFlight = Math.max(0, this.inFlight - bytes);
    if (kept) this.onDisk += bytes;
  }

  async remove(transferId: string): Promise<void> {
    const path = this.path(transferId);
    const size = await stat(path).then(
      (info) => info.size,
      () => 0,
    );
    await rm(path, { force: true });
    this.onDisk = Math.max(0, this.onDisk - size);
  }

  /** Deletes the upload of an operation that ended (errors are logged: the sweep tries again). */
  dropFor(row: Pick<OperationsTable, 'action' | 'params'>): void {
    const transferId = transferIdOf(row);
    if (transferId !== undefined) this.remove(transferId).catch((error: unknown) => this.onError(error, 'could not delete an upload'));
  }

  async exists(transferId: string): Promise<boolean> {
    return stat(this.path(transferId)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Deletes files no unfinished operation refers to once they are older than `orphanMaxAgeMs`
   * (younger ones may be an upload whose operation is being written), and counts the rest.
   */
  async expire(): Promise<void> {
    try {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      const referenced = await this.referenced();
      const cutoff = this.clock.now() - this.options.orphanMaxAgeMs;
      let total = 0;
      for (const name of await readdir(this.options.dir)) {
        const path = join(this.options.dir, name);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile()) continue;
        const transferId = UPLOAD_NAME.exec(name)?.[1];
        if (transferId !== undefined && this.streaming.has(transferId)) continue;
        const kept = transferId !== undefined && referenced.has(transferId);
        if (!kept && info.mtimeMs < cutoff) await rm(path, { force: true });
        else total += info.size;
      }
      this.onDisk = total;
    } catch (error) {
      this.onError(error, 'expiring uploads failed');
    }
  }
}
