import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  MAX_ENTRY_BYTES,
  ZipError,
  buildTestApk,
  packageFromManifest,
  readApkPackageName,
  readApkPackageNameSync,
  readZipEntry,
  readZipEntrySync,
  writeZip,
} from '../../src/apk/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ldfleet-apk-'));

/** One string of an AXML pool: UTF-16 (length in units, units, NUL) or UTF-8 (units, bytes, text, NUL). */
function poolString(text: string, utf8: boolean): Buffer {
  if (utf8) {
    const bytes = Buffer.from(text, 'utf8');
    return Buffer.concat([Buffer.from([text.length, bytes.length]), bytes, Buffer.from([0])]);
  }
  const body = Buffer.alloc(2 + text.length * 2 + 2);
  body.writeUInt16LE(text.length, 0);
  body.write(text, 2, 'utf16le');
  return body;
}

/** A binary (AXML) manifest `<manifest package="…">`, with a UTF-16 string pool as aapt writes it, or a UTF-8 one as aapt2 does. */
function binaryManifest(packageName: string, { utf8 = false } = {}): Buffer {
  const strings = ['manifest', 'package', packageName];
  const encoded = strings.map((text) => poolString(text, utf8));
  const offsets = Buffer.alloc(4 * strings.length);
  let offset = 0;
  encoded.forEach((body, i) => {
    offsets.writeUInt32LE(offset, i * 4);
    offset += body.length;
  });
  const padding = Buffer.alloc((4 - (offset % 4)) % 4);
  const poolHeader = Buffer.alloc(28);
  const poolSize = 28 + offsets.length + offset + padding.length;
  poolHeader.writeUInt16LE(0x0001, 0);
  poolHeader.writeUInt16LE(28, 2);
  poolHeader.writeUInt32LE(poolSize, 4);
  poolHeader.writeUInt32LE(strings.length, 8);
  poolHeader.writeUInt32LE(utf8 ? 1 << 8 : 0, 16);
  poolHeader.writeUInt32LE(28 + offsets.length, 20);
  const element = Buffer.alloc(36 + 20);
  element.writeUInt16LE(0x0102, 0);
  element.writeUInt16LE(16, 2);
  element.writeUInt32LE(element.length, 4);
  element.writeUInt32LE(0xffffffff, 12);
  element.writeUInt32LE(0xffffffff, 16); // namespace
  element.writeUInt32LE(0, 20); // name: "manifest"
  element.writeUInt16LE(20, 24); // attributes start
  element.writeUInt16LE(20, 26); // attribute size
  element.writeUInt16LE(1, 28); // attribute count
  element.writeUInt32LE(0xffffffff, 36); // attribute namespace
  element.writeUInt32LE(1, 40); // attribute name: "package"
  element.writeUInt32LE(2, 44); // raw value: the package
  const body = Buffer.concat([poolHeader, offsets, ...encoded, padding, element]);
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0x0003, 0);
  header.writeUInt16LE(8, 2);
  header.writeUInt32LE(8 + body.length, 4);
  return Buffer.concat([header, body]);
}

/** A one-entry zip, built by hand, with the entry deflated (the way APK builders store the manifest) or stored with another method number. */
function oneEntryZip(name: string, content: Buffer, method = 8): Buffer {
  const data = method === 8 ? deflateRawSync(content) : content;
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(method, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(method, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  central.writeUInt32LE(0, 42);
  const directoryOffset = local.length + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(directoryOffset, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

function write(name: string, bytes: Buffer | string): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

describe('readApkPackageName', () => {
  it('reads a binary manifest from a deflated entry', async () => {
    const file = write('real.apk', oneEntryZip('AndroidManifest.xml', binaryManifest('com.example.real')));
    expect(await readApkPackageName(file)).toBe('com.example.real');
    expect(readApkPackageNameSync(file)).toBe('com.example.real');
  });

  it('reads a binary manifest with a UTF-8 string pool', async () => {
    const bytes = oneEntryZip('AndroidManifest.xml', binaryManifest('com.example.utf8', { utf8: true }));
    expect(await readApkPackageName(bytes)).toBe('com.example.utf8');
    expect(readApkPackageNameSync(bytes)).toBe('com.example.utf8');
  });

  it('reads the plain-text manifest of a test APK', async () => {
    const file = write('test.apk', buildTestApk('com.example.text'));
    expect(await readApkPackageName(file)).toBe('com.example.text');
    expect(readApkPackageNameSync(file)).toBe('com.example.text');
    expect(readApkPackageNameSync(buildTestApk('com.example.bytes'))).toBe('com.example.bytes');
  });

  it('gives undefined for files that are not APKs', async () => {
    const file = write('junk.apk', 'not a zip at all');
    expect(await readApkPackageName(file)).toBeUndefined();
    expect(await readApkPackageName(join(dir, 'missing.apk'))).toBeUndefined();
    expect(readApkPackageNameSync(file)).toBeUndefined();
    expect(readApkPackageNameSync(join(dir, 'missing.apk'))).toBeUndefined();
    expect(readApkPackageNameSync(writeZip({ 'classes.dex': 'dex' }))).toBeUndefined();
  });
});

describe('packageFromManifest', () => {
  it('reads the package attribute of plain-text and binary manifests', () => {
    expect(packageFromManifest(Buffer.from(`<manifest package='com.a.b' xmlns:android="x"/>`))).toBe('com.a.b');
    expect(packageFromManifest(binaryManifest('com.example.bin'))).toBe('com.example.bin');
    expect(packageFromManifest(Buffer.from('<application/>'))).toBeUndefined();
  });
});

describe('readZipEntry', () => {
  const zip = writeZip({ 'a.txt': 'alpha', 'dir/b.bin': Buffer.from([1, 2, 3]) });

  it('reads stored and deflated entries, from bytes or a file, and gives undefined for a missing one', async () => {
    expect(readZipEntrySync(zip, 'a.txt')?.toString()).toBe('alpha');
    expect(readZipEntrySync(zip, 'dir/b.bin')).toEqual(Buffer.from([1, 2, 3]));
    expect(readZipEntrySync(zip, 'c.txt')).toBeUndefined();
    const file = write('two.zip', zip);
    expect((await readZipEntry(file, 'a.txt'))?.toString()).toBe('alpha');
    expect(await readZipEntry(file, 'c.txt')).toBeUndefined();
    const deflated = oneEntryZip('text', Buffer.from('hello '.repeat(100)));
    expect(readZipEntrySync(deflated, 'text')?.toString()).toBe('hello '.repeat(100));
    expect((await readZipEntry(write('deflated.zip', deflated), 'text'))?.toString()).toBe('hello '.repeat(100));
  });

  it('refuses malformed archives, unknown methods, zip64 and oversized entries with ZipError', async () => {
    expect(() => readZipEntrySync(Buffer.from('not a zip at all'), 'a.txt')).toThrow(ZipError);
    await expect(readZipEntry(write('junk.zip', 'not a zip at all'), 'a.txt')).rejects.toThrow(ZipError);
    expect(() => readZipEntrySync(oneEntryZip('x', Buffer.from('x'), 12), 'x')).toThrow(/unsupported zip method 12/);
    const zip64 = Buffer.from(zip);
    zip64.writeUInt16LE(0xffff, zip64.length - 12);
    expect(() => readZipEntrySync(zip64, 'a.txt')).toThrow(/zip64/);
    const truncated = Buffer.from(zip);
    truncated.writeUInt32LE(truncated.length, truncated.length - 6); // directory offset past the end
    expect(() => readZipEntrySync(truncated, 'a.txt')).toThrow(/bad central directory/);
    const bomb = oneEntryZip('big', Buffer.alloc(MAX_ENTRY_BYTES + 1));
    expect(() => readZipEntrySync(bomb, 'big')).toThrow(ZipError);
  });
});
