/**
 * Uploaded APKs waiting for their install operation. They take space the server's owner pays
 * for, so the engine keeps them only while an operation may still need them: an upload is
 * deleted once its operation ended for good, one no unfinished operation refers to is deleted
 * past `orphanMaxAgeMs` (at start and on a schedule), and all of them together, the uploads
 * still streaming included, stay under `quotaBytes`.
 *
 * One way per store, behind `Uploads`: on SQLite (one process) files in `<dataDir>/uploads`
 * (`FileUploads`); on PostgreSQL, where the replica running the install may not be the one that
 * received the upload, the bytes in `upload_chunks` (`DatabaseUploads`), written as they stream
 * in and read back chunk by chunk, so neither side holds a whole APK in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { rechunk } from '../../protocol/index.js';
import type { Database } from '../store/index.js';
import { ROWS_PER_STATEMENT, chunks } from '../store/index.js';
import type { Clock } from './clock.js';
import { every } from './clock.js';
import type { OperationsTable } from './schema.js';

export interface UploadsOptions {
  readonly quotaBytes: number;
  readonly orphanMaxAgeMs: number;
  readonly sweepIntervalMs: number;
  /** Bytes of one stored chunk (`DatabaseUploads`); about 1 MiB. */
  readonly chunkBytes?: number;
}

export const DEFAULT_UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** Where uploads wait, whatever the store. */
export interface Uploads {
  readonly options: UploadsOptions;
  /** Counts what is stored, expires orphans now and then every `sweepIntervalMs`. */
  start(): void;
  stop(): void;
  /** Bytes in use by every upload, streaming ones included (on PostgreSQL: of every replica). */
  used(): Promise<number>;
  /**
   * Stores the upload's bytes as they come and resolves with their count; rejects with
   * `UploadQuotaError` as soon as they would pass the quota. The caller removes a refused one.
   */
  receive(transferId: string, source: AsyncIterable<Buffer>): Promise<number>;
  /** The stored bytes, in order (rejects when the upload is gone). */
  open(transferId: string): AsyncIterable<Buffer>;
  remove(transferId: string): Promise<void>;
  exists(transferId: string): Promise<boolean>;
  /** Deletes the upload of an operation that ended (errors are logged: the sweep tries again). */
  dropFor(row: Pick<OperationsTable, 'action' | 'params'>): void;
  /** Deletes uploads no unfinished operation refers to once older than `orphanMaxAgeMs`. */
  expire(): Promise<void>;
}

/** The store's way: replicas share PostgreSQL, not a disk, so there the bytes go in the database. */
export function createUploads(
  repo: { readonly storeKind: 'sqlite' | 'postgres'; readonly db: Kysely<Database>; unfinishedTransfers(): Promise<ReadonlySet<string>> },
  options: { readonly uploadDir: string; readonly uploads: UploadsOptions },
  clock: Clock,
  onError: UploadErrorLog,
): Uploads {
  const referenced = () => repo.unfinishedTransfers();
  return repo.storeKind === 'postgres'
    ? new DatabaseUploads(repo.db, options.uploads, clock, referenced, onError)
    : new FileUploads(options.uploadDir, options.uploads, clock, referenced, onError);
}

/** Transfer ids that queued or running operations refer to (those uploads are kept). */
export type ReferencedUploads = () => Promise<ReadonlySet<string>>;
export type UploadErrorLog = (error: unknown, message: string) => void;

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
    super(`uploads may take ${quotaBytes} bytes on the server and ${usedBytes} are in use; try again when waiting installs have run`);
  }
}

/** What both stores share: the sweep's schedule and dropping an ended install's upload. */
abstract class SweptUploads implements Uploads {
  private stopSweep: (() => void) | undefined;

  constructor(
    readonly options: UploadsOptions,
    protected readonly clock: Clock,
    protected readonly referenced: ReferencedUploads,
    protected readonly onError: UploadErrorLog,
  ) {}

  abstract used(): Promise<number>;
  abstract receive(transferId: string, source: AsyncIterable<Buffer>): Promise<number>;
  abstract open(transferId: string): AsyncIterable<Buffer>;
  abstract remove(transferId: string): Promise<void>;
  abstract exists(transferId: string): Promise<boolean>;
  protected abstract sweep(referenced: ReadonlySet<string>, cutoffMs: number): Promise<void>;

  start(): void {
    if (this.stopSweep) return;
    void this.expire();
    this.stopSweep = every(this.clock, this.options.sweepIntervalMs, () => void this.expire());
  }

  stop(): void {
    this.stopSweep?.();
    this.stopSweep = undefined;
  }

  dropFor(row: Pick<OperationsTable, 'action' | 'params'>): void {
    const transferId = transferIdOf(row);
    if (transferId !== undefined) this.remove(transferId).catch((error: unknown) => this.onError(error, 'could not delete an upload'));
  }

  async expire(): Promise<void> {
    try {
      // Younger ones may be an upload whose operation is being written.
      await this.sweep(await this.referenced(), this.clock.now() - this.options.orphanMaxAgeMs);
    } catch (error) {
      this.onError(error, 'expiring uploads failed');
    }
  }
}

const UPLOAD_NAME = /^([0-9a-f-]{36})\.apk$/;

/** Uploads as files `<dir>/<transferId>.apk`, counted in memory (the process is the only one writing there). */
export class FileUploads extends SweptUploads {
  /** Bytes of the files in the folder (as last counted, then kept up to date). */
  private onDisk = 0;
  /** Bytes of uploads still streaming in, and their transfer ids (a sweep leaves those files alone). */
  private inFlight = 0;
  private readonly streaming = new Set<string>();

  constructor(
    readonly dir: string,
    options: UploadsOptions,
    clock: Clock,
    referenced: ReferencedUploads,
    onError: UploadErrorLog,
  ) {
    super(options, clock, referenced, onError);
  }

  private path(transferId: string): string {
    return join(this.dir, `${transferId}.apk`);
  }

  used(): Promise<number> {
    return Promise.resolve(this.onDisk + this.inFlight);
  }

  /** Takes the quota byte by byte as they arrive, so concurrent uploads cannot pass it together. */
  async receive(transferId: string, source: AsyncIterable<Buffer>): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let bytes = 0;
    this.streaming.add(transferId);
    const meter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        const used = this.onDisk + this.inFlight;
        if (used + chunk.length > this.options.quotaBytes) {
          done(new UploadQuotaError(this.options.quotaBytes, used));
          return;
        }
        this.inFlight += chunk.length;
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    let kept = false;
    try {
      await pipeline(source, meter, createWriteStream(this.path(transferId), { mode: 0o600 }));
      kept = true;
      return bytes;
    } finally {
      // A refused upload leaves no file (and so nothing for `remove` to count off).
      if (!kept) await rm(this.path(transferId), { force: true });
      this.streaming.delete(transferId);
      this.inFlight = Math.max(0, this.inFlight - bytes);
      if (kept) this.onDisk += bytes;
    }
  }

  open(transferId: string): AsyncIterable<Buffer> {
    return createReadStream(this.path(transferId));
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

  async exists(transferId: string): Promise<boolean> {
    return stat(this.path(transferId)).then(
      () => true,
      () => false,
    );
  }

  /** Deletes old unreferenced files and counts the rest. */
  protected async sweep(referenced: ReadonlySet<string>, cutoffMs: number): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let total = 0;
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      const transferId = UPLOAD_NAME.exec(name)?.[1];
      if (transferId !== undefined && this.streaming.has(transferId)) continue;
      const kept = transferId !== undefined && referenced.has(transferId);
      if (!kept && info.mtimeMs < cutoffMs) await rm(path, { force: true });
      else total += info.size;
    }
    this.onDisk = total;
  }
}

/** Every replica's uploads' chunks are written under this lock, so their sum is checked against the quota one at a time. */
const QUOTA_LOCK = 'ldfleet-upload-quota';

/**
 * Uploads in PostgreSQL: a row in `upload_files` and the bytes in `upload_chunks`. Each chunk is
 * written in its own transaction, after a transaction lock that every replica's chunks take, so
 * the sum of `upload_files.bytes` (the uploads streaming on every replica included) is checked
 * against the quota before the chunk is kept.
 */
export class DatabaseUploads extends SweptUploads {
  private readonly chunkBytes: number;

  constructor(
    private readonly db: Kysely<Database>,
    options: UploadsOptions,
    clock: Clock,
    referenced: ReferencedUploads,
    onError: UploadErrorLog,
  ) {
    super(options, clock, referenced, onError);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_UPLOAD_CHUNK_BYTES;
  }

  async used(): Promise<number> {
    return usedBytes(this.db);
  }

  async receive(transferId: string, source: AsyncIterable<Buffer>): Promise<number> {
    await this.db.insertInto('upload_files').values({ transfer_id: transferId, bytes: 0, complete: 0, updated_at: this.clock.now() }).execute();
    let seq = 0;
    let bytes = 0;
    for await (const chunk of rechunk(source, this.chunkBytes)) {
      await this.append(transferId, seq, chunk);
      seq += 1;
      bytes += chunk.length;
    }
    await this.db.updateTable('upload_files').set({ complete: 1, updated_at: this.clock.now() }).where('transfer_id', '=', transferId).execute();
    return bytes;
  }

  private async append(transferId: string, seq: number, chunk: Buffer): Promise<void> {
    const { quotaBytes } = this.options;
    await this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${QUOTA_LOCK}))`.execute(trx);
      const used = await usedBytes(trx);
      if (used + chunk.length > quotaBytes) throw new UploadQuotaError(quotaBytes, used);
      const grown = await trx
        .updateTable('upload_files')
        .set((eb) => ({ bytes: eb('bytes', '+', chunk.length), updated_at: this.clock.now() }))
        .where('transfer_id', '=', transferId)
        .executeTakeFirst();
      // The sweep took it for an orphan (an upload stalled past the orphan age).
      if (Number(grown.numUpdatedRows) === 0) throw new Error(`upload ${transferId} was deleted while it streamed in`);
      await trx.insertInto('upload_chunks').values({ transfer_id: transferId, seq, data: chunk }).execute();
    });
  }

  async *open(transferId: string): AsyncGenerator<Buffer> {
    if (!(await this.exists(transferId))) throw new Error(`upload ${transferId} is gone`);
    // One chunk at a time, so a replica sending an APK holds one chunk of it.
    for (let seq = 0; ; seq += 1) {
      const row = await this.db.selectFrom('upload_chunks').select('data').where('transfer_id', '=', transferId).where('seq', '=', seq).executeTakeFirst();
      if (!row) return;
      yield row.data;
    }
  }

  async remove(transferId: string): Promise<void> {
    // The chunks go with it (foreign key, on delete cascade).
    await this.db.deleteFrom('upload_files').where('transfer_id', '=', transferId).execute();
  }

  async exists(transferId: string): Promise<boolean> {
    const row = await this.db.selectFrom('upload_files').select('transfer_id').where('transfer_id', '=', transferId).where('complete', '=', 1).executeTakeFirst();
    return row !== undefined;
  }

  /** An upload streaming on any replica wrote a chunk recently, so it is younger than the cutoff. */
  protected async sweep(referenced: ReadonlySet<string>, cutoffMs: number): Promise<void> {
    const old = await this.db.selectFrom('upload_files').select('transfer_id').where('updated_at', '<', cutoffMs).execute();
    const orphans = old.map((row) => row.transfer_id).filter((id) => !referenced.has(id));
    for (const slice of chunks(orphans, ROWS_PER_STATEMENT)) {
      await this.db.deleteFrom('upload_files').where('transfer_id', 'in', slice).where('updated_at', '<', cutoffMs).execute();
    }
  }
}

async function usedBytes(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('upload_files')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string | bigint>('bytes'), eb.lit(0)).as('used'))
    .executeTakeFirstOrThrow();
  return Number(row.used);
}

