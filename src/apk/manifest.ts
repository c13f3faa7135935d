/**
 * The package an AndroidManifest.xml declares: the binary XML (AXML) of real APKs or the
 * plain-text XML of hand-made test APKs.
 */

/** The `package` of the manifest's `<manifest>` element, or undefined when it has none. */
export function packageFromManifest(manifest: Buffer): string | undefined {
  return manifest.length >= 8 && manifest.readUInt16LE(0) === AXML_FILE ? packageFromBinaryXml(manifest) : packageFromTextXml(manifest);
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
