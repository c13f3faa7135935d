/**
 * Just enough ZIP to read one entry of an APK without loading the whole file (the central
 * directory is at the end and the entry is read alone), and to write stored test archives.
 * Zip64 archives are refused (APKs are not zip64).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
/** The end record is 22 bytes plus a comment of at most 64 KiB. */
const END_SEARCH_BYTES = 22 + 0xffff;
/** The largest entry read, compressed or inflated. */
export const MAX_ENTRY_BYTES = 8 * 1024 * 1024;

/** The archive is not a zip, is damaged, or uses what this reader does not (zip64, a method other than stored/deflate, an entry over the limit). */
export class ZipError extends Error {
  override readonly name = 'ZipError';
}

/** A zip in memory, or the path of one on disk. */
export type ZipSource = string | Uint8Array;

interface ReadRequest {
  position: number;
  length: number;
}

/**
 * The reading steps for one entry, independent of how bytes are fetched: each `yield` asks for a
 * byte range (the answer may be shorter at the end of the file); the return value is the entry's
 * bytes, or undefined when the archive has no such entry. Throws ZipError on a malformed archive.
 */
function* entrySteps(size: number, name: string): Generator<ReadRequest, Buffer | undefined, Buffer> {
  const tailStart = Math.max(0, size - END_SEARCH_BYTES);
  const tail = yield { position: tailStart, length: size - tailStart };
  const end = findEndOfCentralDirectory(tail);
  const count = tail.readUInt16LE(end + 10);
  const directorySize = tail.readUInt32LE(end + 12);
  const directoryOffset = tail.readUInt32LE(end + 16);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff || (end >= 20 && tail.readUInt32LE(end - 20) === ZIP64_LOCATOR)) {
    throw new ZipError('zip64 archives are not supported');
  }
  if (directoryOffset + directorySize > tailStart + end) throw new ZipError('bad central directory');
  const directory = yield { position: directoryOffset, length: directorySize };
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_HEADER) throw new ZipError('bad central directory');
    const method = directory.readUInt16LE(at + 10);
    const compressedSize = directory.readUInt32LE(at + 20);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const localOffset = directory.readUInt32LE(at + 42);
    if (directory.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      if (compressedSize > MAX_ENTRY_BYTES) throw new ZipError(`entry ${name} is larger than ${MAX_ENTRY_BYTES} bytes`);
      const header = yield { position: localOffset, length: 30 };
      if (header.length < 30 || header.readUInt32LE(0) !== LOCAL_HEADER) throw new ZipError('bad local header');
      const dataStart = localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      const data = yield { position: dataStart, length: compressedSize };
      return decode(method, data);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

/** The last end-of-central-directory record with its 22 bytes inside `tail`. */
function findEndOfCentralDirectory(tail: Buffer): number {
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === END_OF_CENTRAL) return at;
  }
  throw new ZipError('not a zip file');
}

function decode(method: number, data: Buffer): Buffer {
  if (method === 0) return data;
  if (method === 8) {
    try {
      return inflateRawSync(data, { maxOutputLength: MAX_ENTRY_BYTES });
    } catch (error) {
      throw new ZipError(`cannot inflate entry: ${(error as Error).message}`);
    }
  }
  throw new ZipError(`unsupported zip method ${method}`);
}

/** Runs the steps on a synchronous byte source. */
function runSync<T>(steps: Generator<ReadRequest, T, Buffer>, read: (request: ReadRequest) => Buffer): T {
  let step = steps.next();
  while (!step.done) step = steps.next(read(step.value));
  return step.value;
}

function bytesAt(bytes: Uint8Array, { position, length }: ReadRequest): Buffer {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Buffer.from(view.subarray(position, position + length));
}

function readFd(fd: number, { position, length }: ReadRequest): Buffer {
  const buffer = Buffer.alloc(length);
  const bytesRead = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** The bytes of entry `name`, or undefined when the archive lacks it. Throws ZipError on a malformed archive. */
export function readZipEntrySync(zip: ZipSource, name: string): Buffer | undefined {
  if (typeof zip !== 'string') return runSync(entrySteps(zip.byteLength, name), (request) => bytesAt(zip, request));
  const fd = openSync(zip, 'r');
  try {
    return runSync(entrySteps(fstatSync(fd).size, name), (request) => readFd(fd, request));
  } finally {
    closeSync(fd);
  }
}

/** readZipEntrySync with non-blocking file reads. */
export async function readZipEntry(zip: ZipSource, name: string): Promise<Buffer | undefined> {
  if (typeof zip !== 'string') return readZipEntrySync(zip, name);
  const handle = await open(zip, 'r');
  try {
    const steps = entrySteps((await handle.stat()).size, name);
    let step = steps.next();
    while (!step.done) {
      const buffer = Buffer.alloc(step.value.length);
      const { bytesRead } = await handle.read(buffer, 0, step.value.length, step.value.position);
      step = steps.next(buffer.subarray(0, bytesRead));
    }
    return step.value;
  } finally {
    await handle.close();
  }
}

/** A stored (uncompressed) zip of the given entries. */
export function writeZip(entries: Record<string, Buffer | string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(CENTRAL_HEADER, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const count = Object.keys(entries).length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}
