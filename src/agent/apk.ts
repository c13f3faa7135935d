/**
 * Reads an APK's package name from its AndroidManifest.xml without loading the whole file: the
 * zip's central directory is at the end, and the manifest is one small entry. Handles the binary
 * AXML of real APKs and the plain-text XML of hand-made test APKs. Zip64 archives are not read.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
/** The end record is 22 bytes plus a comment of at most 64 KiB. */
const END_SEARCH_BYTES = 22 + 0xffff;
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
const MANIFEST = 'AndroidManifest.xml';

/** The package an APK declares, or undefined when the file is not a readable APK. */
export async function readApkPackage(file: string): Promise<string | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const manifest = await readZipEntry(handle, MANIFEST);
    return manifest === undefined ? undefined : packageFromManifest(manifest);
  } catch (_unreadable) {
    return undefined;
  } finally {
    await handle?.close();
  }
}

export function packageFromManifest(manifest: Buffer): string | undefined {
  return manifest.length >= 8 && manifest.readUInt16LE(0) === AXML_FILE ? packageFromBinaryXml(manifest) : packageFromTextXml(manifest);
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

async function readZipEntry(handle: FileHandle, name: string): Promise<Buffer | undefined> {
  const { size } = await handle.stat();
  const tailStart = Math.max(0, size - END_SEARCH_BYTES);
  const tail = await readAt(handle, tailStart, size - tailStart);
  const end = tail.lastIndexOf(uint32(END_OF_CENTRAL_DIRECTORY));
  if (end < 0 || end + 22 > tail.length) return undefined;
  const directorySize = tail.readUInt32LE(end + 12);
  const directoryOffset = tail.readUInt32LE(end + 16);
  const directory = await readAt(handle, directoryOffset, directorySize);
  for (let at = 0; at + 46 <= directory.length && directory.readUInt32LE(at) === CENTRAL_ENTRY; ) {
    const method = directory.readUInt16LE(at + 10);
    const compressedSize = directory.readUInt32LE(at + 20);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const localOffset = directory.readUInt32LE(at + 42);
    if (directory.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      if (compressedSize > MAX_MANIFEST_BYTES) return undefined;
      return readLocalEntry(handle, localOffset, method, compressedSize);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

async function readLocalEntry(handle: FileHandle, offset: number, method: number, compressedSize: number): Promise<Buffer | undefined> {
  const header = await readAt(handle, offset, 30);
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL_HEADER) return undefined;
  const dataStart = offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const data = await readAt(handle, dataStart, compressedSize);
  if (method === 0) return data;
  if (method === 8) return inflateRawSync(data, { maxOutputLength: MAX_MANIFEST_BYTES });
  return undefined;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

function packageFromTextXml(manifest: Buffer): string | undefined {
  return /<manifest\b[^>]*?\bpackage\s*=\s*["']([^"']+)["']/.exec(manifest.toString('utf8'))?.[1];
}

// ---------------------------------------------------------------------------------------------
// Binary XML (AXML): a file header, a string pool, then chunks; `<manifest>` is the first element.

const AXML_FILE = 0x0003;
const STRING_POOL = 0x0001;
const START_ELEMENT = 0x0102;
const UTF8_POOL = 1 << 8;
const NO_STRING = 0xffffffff;

function packageFromBinaryXml(xml: Buffer): string | undefined {
  let strings: string[] = [];
  for (let at = xml.readUInt16LE(2); at + 8 <= xml.length; ) {
    const type = xml.readUInt16LE(at);
    const headerSize = xml.readUInt16LE(at + 2);
    const size = xml.readUInt32LE(at + 4);
    if (size < 8) return undefined;
    if (type === STRING_POOL) strings = readStringPool(xml, at);
    if (type === START_ELEMENT && strings[xml.readUInt32LE(at + 20)] === 'manifest') {
      return manifestPackageAttribute(xml, at, headerSize, strings);
    }
    at += size;
  }
  return undefined;
}

function manifestPackageAttribute(xml: Buffer, at: number, headerSize: number, strings: readonly string[]): string | undefined {
  const attributesAt = at + headerSize + xml.readUInt16LE(at + 24);
  const attributeSize = xml.readUInt16LE(at + 26);
  const attributeCount = xml.readUInt16LE(at + 28);
  for (let i = 0; i < attributeCount; i++) {
    const attribute = attributesAt + i * attributeSize;
    if (strings[xml.readUInt32LE(attribute + 4)] !== 'package') continue;
    const raw = xml.readUInt32LE(attribute + 8);
    return raw === NO_STRING ? undefined : strings[raw];
  }
  return undefined;
}

function readStringPool(xml: Buffer, at: number): string[] {
  const headerSize = xml.readUInt16LE(at + 2);
  const count = xml.readUInt32LE(at + 8);
  const utf8 = (xml.readUInt32LE(at + 16) & UTF8_POOL) !== 0;
  const stringsStart = at + xml.readUInt32LE(at + 20);
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    const position = stringsStart + xml.readUInt32LE(at + headerSize + i * 4);
    strings.push(utf8 ? readUtf8String(xml, position) : readUtf16String(xml, position));
  }
  return strings;
}

/** UTF-8 pool entries: the length in UTF-16 units, then in bytes (each 1 or 2 bytes), then the bytes. */
function readUtf8String(xml: Buffer, position: number): string {
  let at = position + ((xml[position] ?? 0) & 0x80 ? 2 : 1);
  const first = xml[at] ?? 0;
  const byteLength = first & 0x80 ? ((first & 0x7f) << 8) | (xml[at + 1] ?? 0) : first;
  at += first & 0x80 ? 2 : 1;
  return xml.toString('utf8', at, at + byteLength);
}

/** UTF-16 pool entries: the length in units (1 or 2 words), then the units. */
function readUtf16String(xml: Buffer, position: number): string {
  let length = xml.readUInt16LE(position);
  let at = position + 2;
  if (length & 0x8000) {
    length = ((length & 0x7fff) << 16) | xml.readUInt16LE(at);
    at += 2;
  }
  return xml.toString('utf16le', at, at + length * 2);
}
