/**
 * APK uploads arriving as `file.chunk` messages. Each transfer is streamed to its own file in a
 * private temp dir (never held whole in memory), capped in size, and deleted once the
 * `installApp` that names it is done, when the connection drops mid-transfer, or when nobody
 * claims it in time.
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
  /** Where the temp dir is made; the OS temp dir by default. */
  readonly parentDir?: string;
}

export const DEFAULT_TRANSFER_OPTIONS: TransferOptions = { maxBytes: 1024 * 1024 * 1024, unclaimedTtlMs: 10 * 60_000 };

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
}

export class TransferStore {
  private dir: Promise<string> | undefined;
  private readonly transfers = new Map<string, Transfer>();

  constructor(private readonly options: TransferOptions = DEFAULT_TRANSFER_OPTIONS) {}

  /** Takes one chunk. Never throws: a failed transfer reports its failure when claimed. */
  receive(chunk: FileChunkMessage): void {
    let transfer = this.transfers.get(chunk.transferId);
    if (transfer?.complete) {
      // The server resent a whole transfer under the same id (after a reconnect): start over.
      this.discard(chunk.transferId);
      transfer = undefined;
    }
    transfer ??= this.open(chunk.transferId);
    const data = Buffer.from(chunk.data, 'base64');
    transfer.bytes += data.length;
    if (transfer.bytes > this.options.maxBytes && transfer.failure === undefined) {
      transfer.failure = new RpcError('conflict', 'file_too_large', `the upload exceeds the agent's limit of ${this.options.maxBytes} bytes`);
    }
    if (transfer.failure === undefined) {
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
    const transfer: Transfer = { fileName: `${randomUUID()}.apk`, bytes: 0, complete: false, failure: undefined, writes: Promise.resolve(), expiry: undefined };
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
    transfer.expiry = setTimeout(() => void this.discard(transferId), this.options.unclaimedTtlMs);
    transfer.expiry.unref();
  }

  private async discard(transferId: string): Promise<void> {
    const transfer = this.transfers.get(transferId);
    if (transfer === undefined) return;
    this.transfers.delete(transferId);
    clearTimeout(transfer.expiry);
    await transfer.writes;
    await rm(await this.pathOf(transfer), { force: true });
  }
}
