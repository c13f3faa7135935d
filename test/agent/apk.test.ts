import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readApkPackage } from '../../src/agent/apk.js';
import { installedPackage, parsePackageList } from '../../src/agent/rpc.js';
import { buildTestApk } from '../../src/sim/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ldfleet-apk-'));

/** A binary (AXML) manifest `<manifest package="…">` with a UTF-16 string pool, as aapt writes it. */
function binaryManifest(packageName: string): Buffer {
  const strings = ['manifest', 'package', packageName];
  const encoded = strings.map((text) => {
    const body = Buffer.alloc(2 + text.length * 2 + 2);
    body.writeUInt16LE(text.length, 0);
    body.write(text, 2, 'utf16le');
    return body;
  });
  const offsets = Buffer.alloc(4 * strings.length);
  let offset = 0;
  encoded.forEach((body, i) => {
    offsets.writeUInt32LE(offset, i * 4);
    offset += body.length;
  });
  const poolHeader = Buffer.alloc(28);
  const poolSize = 28 + offsets.length + offset;
  poolHeader.writeUInt16LE(0x0001, 0);
  poolHeader.writeUInt16LE(28, 2);
  poolHeader.writeUInt32LE(poolSize, 4);
  poolHeader.writeUInt32LE(strings.length, 8);
  poolHeader.writeUInt32LE(0, 16); // UTF-16
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
  const body = Buffer.concat([poolHeader, offsets, ...encoded, element]);
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0x0003, 0);
  header.writeUInt16LE(8, 2);
  header.writeUInt32LE(8 + body.length, 4);
  return Buffer.concat([header, body]);
}

/** A one-entry zip with the entry deflated, the way APK builders store the manifest. */
function deflatedZip(name: string, content: Buffer): Buffer {
  const data = deflateRawSync(content);
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(8, 10);
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

describe('readApkPackage', () => {
  it('reads a binary manifest from a deflated entry', async () => {
    const file = join(dir, 'real.apk');
    writeFileSync(file, deflatedZip('AndroidManifest.xml', binaryManifest('com.example.real')));
    expect(await readApkPackage(file)).toBe('com.example.real');
  });

  it('reads the plain-text manifest of a test APK', async () => {
    const file = join(dir, 'test.apk');
    writeFileSync(file, buildTestApk('com.example.text'));
    expect(await readApkPackage(file)).toBe('com.example.text');
  });

  it('gives undefined for files that are not APKs', async () => {
    const file = join(dir, 'junk.apk');
    writeFileSync(file, 'not a zip at all');
    expect(await readApkPackage(file)).toBeUndefined();
    expect(await readApkPackage(join(dir, 'missing.apk'))).toBeUndefined();
  });
});

describe('install confirmation', () => {
  it('parses pm list packages', () => {
    expect([...parsePackageList('package:com.a\r\npackage:com.b\r\n\r\n')]).toEqual(['com.a', 'com.b']);
  });

  it('requires the expected package afterwards, or exactly one new one', () => {
    const before = new Set(['com.a']);
    expect(installedPackage(before, new Set(['com.a', 'com.b']), 'com.b')).toBe('com.b');
    expect(installedPackage(before, new Set(['com.a']), 'com.a')).toBe('com.a'); // an update
    expect(() => installedPackage(before, new Set(['com.a']), 'com.b')).toThrow(/not installed/);
    expect(installedPackage(before, new Set(['com.a', 'com.c']), undefined)).toBe('com.c');
    expect(() => installedPackage(before, new Set(['com.a']), undefined)).toThrow(/no new package/);
  });
});
