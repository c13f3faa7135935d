/**
 * APK uploads arriving as `file.chunk` messages. Each transfer is streamed to its own file in a
 * private temp dir (never held whole in memory), capped in size, and deleted once the
 * `installApp` that names it is done, when the connection drops mid-transfer, when no chunk
 * came for a while, or when nobody claims it in time. The agent does not trust the server to
 * be reasonable: transfers held at once and their bytes together are capped too.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FileChunkMessage } from '../protocol/index.js';
import { RpcError } from './rpc-error.js';

export interface TransferOptions {
  /** A transfer larger than this is dropped and its `installApp` fails. */
  readonly maxBytes: number;
  /** A complete transfer no `installApp` claimed within this time is deleted. */
  readonly unclaimedTtlMs: number;
  /** Transfers held at once (receiving or waiting for their install); chunks of more are dropped. */
  readonly maxTransfers: number;
  /** Bytes all held transfers may take on disk together; the transfer that passes it is dropped. */
  readonly maxTotalBytes: number;
  /** An unfinished transfer that got no chunk for this long is deleted. */
  readonly idleTimeoutMs: number;
  /** Where the temp dir is made; the OS temp dir by default. */
  readonly parentDir?: string;
}

export const DEFAULT_TRANSFER_OPTIONS: TransferOptions = {
  maxBytes: 512 * 1024 * 1024,
  unclaimedTtlMs: 10 * 60_000,
  maxTransfers: 4,
  maxTotalBytes: 1024 * 1024 * 1024,
  idleTimeoutMs: 60_000,
};

interface Transfer {
  /** The file's name inside the temp dir; ours, not the server's transferId, so nothing from the wire reaches a path. */
  readonly fileName: string;
  bytes: number;
  complete: boolean;
  /** Why the transfer is unusable, once it is. */
  failure: RpcError | undefined;
  /** Appends run one after another in arrival order. */
  writes: Promise<void>;
  expiry: NodeJS.Timeout | undefined;
  /** Bytes of this transfer counted in the store's total. */
  held: number;
}

export class TransferStore {
  private dir: Promise<string> | undefined;
  private readonly transfers = new Map<string, Transfer>();
  /** Bytes written or being written for the transfers held now. */
  private heldBytes = 0;

  private readonly options: TransferOptions;

  constructor(options: Partial<TransferOptions> = {}) {
    this.options = { ...DEFAULT_TRANSFER_OPTIONS, ...options };
  }

  /** Takes one chunk. Never throws: a failed transfer reports its failure when claimed. */
  receive(chunk: FileChunkMessage): void {
    let transfer = this.transfers.get(chunk.transferId);
    if (transfer?.complete) {
      // The server resent a whole transfer under the same id (after a reconnect): start over. The
      // old file is deleted in the background (discard never rejects); the new one gets its own name.
      void this.discard(chunk.transferId);
      transfer = undefined;
    }
    if (transfer === undefined) {
      // Chunks of one transfer too many are dropped unread: its install fails as not found.
      if (this.transfers.size >= this.options.maxTransfers) return;
      transfer = this.open(chunk.transferId);
    }
    this.touch(chunk.transferId, transfer);
    if (transfer.failure !== undefined) return;
    const data = Buffer.from(chunk.data, 'base64');
    transfer.bytes += data.length;
    if (transfer.bytes > this.options.maxBytes) {
      this.fail(transfer, new RpcError('conflict', 'file_too_large', `the upload exceeds the agent's limit of ${this.options.maxBytes} bytes`));
    } else if (this.heldBytes + data.length > this.options.maxTotalBytes) {
      this.fail(transfer, new RpcError('conflict', 'transfers_too_large', `uploads held by the agent would exceed ${this.options.maxTotalBytes} bytes`));
    } else {
      this.heldBytes += data.length;
      transfer.held += data.length;
      const target = transfer;
      target.writes = target.writes.then(async () => appendFile(await this.pathOf(target), data)).catch((error: unknown) => {
        target.failure ??= new RpcError('transport', 'transfer_write_failed', `could not store the upload: ${String(error)}`);
      });
    }
    if (chunk.last) this.finish(chunk.transferId, transfer);
  }

  /**
   * The finished file of a transfer, for `installApp`; `release` deletes it afterwards.
   * Throws an RpcError when the transfer is unknown, incomplete or failed.
   */
  async claim(transferId: string): Promise<string> {
    const transfer = this.transfers.get(transferId);
    if (transfer === undefined) throw new RpcError('conflict', 'transfer_not_found', `no upload named ${transferId} reached this agent`);
    await transfer.writes;
    if (transfer.failure) throw transfer.failure;
    if (!transfer.complete) throw new RpcError('conflict', 'transfer_incomplete', `the upload ${transferId} has not been received completely`);
    clearTimeout(transfer.expiry);
    return this.pathOf(transfer);
  }

  release(transferId: string): Promise<void> {
    return this.discard(transferId);
  }

  /** Incomplete transfers cannot resume on a new connection: the server will send them again. */
  dropIncomplete(): Promise<void> {
    const incomplete = [...this.transfers].filter(([, transfer]) => !transfer.complete).map(([id]) => id);
    return Promise.all(incomplete.map((id) => this.discard(id))).then(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.transfers.keys()].map((id) => this.discard(id)));
    const dir = await this.dir;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** Bytes received so far for a transfer (for tests and logs). */
  sizeOf(transferId: string): number | undefined {
    return this.transfers.get(transferId)?.bytes;
  }

  private open(transferId: string): Transfer {
    const transfer: Transfer = { fileName: `${randomUUID()}.apk`, bytes: 0, complete: false, failure: undefined, writes: Promise.resolve(), expiry: undefined, held: 0 };
    this.transfers.set(transferId, transfer);
    return transfer;
  }

  /** The private temp dir, made on first use. */
  private async pathOf(transfer: Transfer): Promise<string> {
    this.dir ??= mkdtemp(path.join(this.options.parentDir ?? os.tmpdir(), 'ldfleet-agent-'));
    return path.join(await this.dir, transfer.fileName);
  }

  private finish(transferId: string, transfer: Transfer): void {
    transfer.complete = true;
    clearTimeout(transfer.expiry);
    transfer.expiry = setTimeout(() => void this.discard(transferId), this.options.unclaimedTtlMs);
    transfer.expiry.unref();
  }

  /** (Re)starts the idle timer of an unfinished transfer. */
  private touch(transferId: string, transfer: Transfer): void {
    clearTimeout(transfer.expiry);
    transfer.expiry = setTimeout(() => void this.discard(transferId), this.options.idleTimeoutMs);
    transfer.expiry.unref();
  }

  /** Marks a transfer unusable and frees its disk at once; the entry stays to tell its install why. */
  private fail(transfer: Transfer, failure: RpcError): void {
    transfer.failure = failure;
    this.unhold(transfer);
    transfer.writes = transfer.writes.then(async () => rm(await this.pathOf(transfer), { force: true })).catch(() => undefined);
  }

  private unhold(transfer: Transfer): void {
    this.heldBytes -= transfer.held;
    transfer.held = 0;
  }

  /**
   * Forgets a transfer and deletes its file. Never rejects, so timers and `release` (in an
   * install's `finally`) can call it: a file that cannot be deleted now stays in the private temp
   * dir, which `close` removes whole.
   */
  private async discard(transferId: string): Promise<void> {
    const transfer = this.transfers.get(transferId);
    if (transfer === undefined) return;
    this.transfers.delete(transferId);
    clearTimeout(transfer.expiry);
    this.unhold(transfer);
    await transfer.writes;
    try {
      await rm(await this.pathOf(transfer), { force: true });
    } catch {
      // Left for close(); see above.
    }
  }
}
