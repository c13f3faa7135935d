import { readFileSync } from 'node:fs';
import { readZipEntry, writeZip } from './zip.js';

/**
 * Reads an APK's package name from its AndroidManifest.xml: plain-text XML (test APKs) or the
 * binary AXML real APKs carry. Returns undefined for anything that is not a readable APK.
 */
export function readApkPackage(apkPath: string): string | undefined {
  try {
    const manifest = readZipEntry(readFileSync(apkPath), 'AndroidManifest.xml');
    if (!manifest) return undefined;
    return manifest.readUInt16LE(0) === AXML_FILE ? packageFromBinaryXml(manifest) : packageFromTextXml(manifest);
  } catch {
    return undefined;
  }
}

function packageFromTextXml(manifest: Buffer): string | undefined {
  return /<manifest\b[^>]*?\bpackage\s*=\s*["']([^"']+)["']/.exec(manifest.toString('utf8'))?.[1];
}

const AXML_FILE = 0x0003;
const STRING_POOL = 0x0001;
const START_ELEMENT = 0x0102;
const UTF8_FLAG = 1 << 8;
const NO_STRING = 0xffffffff;

function readStringPool(xml: Buffer, at: number): string[] {
  const count = xml.readUInt32LE(at + 8);
  const flags = xml.readUInt32LE(at + 16);
  const stringsStart = at + xml.readUInt32LE(at + 20);
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    let pos = stringsStart + xml.readUInt32LE(at + xml.readUInt16LE(at + 2) + i * 4);
    if (flags & UTF8_FLAG) {
      pos += xml[pos]! & 0x80 ? 2 : 1; // length in UTF-16 units, unused
      let byteLength = xml[pos]!;
      if (byteLength & 0x80) byteLength = ((byteLength & 0x7f) << 8) | xml[pos + 1]!;
      pos += xml[pos]! & 0x80 ? 2 : 1;
      strings.push(xml.toString('utf8', pos, pos + byteLength));
    } else {
      let length = xml.readUInt16LE(pos);
      if (length & 0x8000) {
        length = ((length & 0x7fff) << 16) | xml.readUInt16LE(pos + 2);
        pos += 2;
      }
      strings.push(xml.toString('utf16le', pos + 2, pos + 2 + length * 2));
    }
  }
  return strings;
}

/** Walks the AXML chunks to the `<manifest>` start tag and returns its `package` attribute. */
function packageFromBinaryXml(xml: Buffer): string | undefined {
  let strings: string[] = [];
  let at = xml.readUInt16LE(2); // skip the file header
  while (at + 8 <= xml.length) {
    const type = xml.readUInt16LE(at);
    const headerSize = xml.readUInt16LE(at + 2);
    const size = xml.readUInt32LE(at + 4);
    if (size < 8) return undefined;
    if (type === STRING_POOL) strings = readStringPool(xml, at);
    if (type === START_ELEMENT && strings[xml.readUInt32LE(at + 20)] === 'manifest') {
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
    at += size;
  }
  return undefined;
}

/** A minimal APK (a zip with a plain-text manifest) the sim's install accepts. */
export function buildTestApk(packageName: string): Buffer {
  return writeZip({
    'AndroidManifest.xml': `<?xml version="1.0" encoding="utf-8"?>\n<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="${packageName}">\n  <application android:label="${packageName}"/>\n</manifest>\n`,
    'classes.dex': Buffer.from('dex\n035\0'),
  });
}
