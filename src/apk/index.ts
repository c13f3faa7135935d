/**
 * The APK unit: an APK's package name from its AndroidManifest.xml (binary AXML or plain text),
 * the zip entry reader behind it, and the minimal test APK the simulator installs. Used by the
 * agent (asynchronous reads) and the simulator (synchronous reads); depends on nothing else.
 */
import { packageFromManifest } from './manifest.js';
import { readZipEntry, readZipEntrySync, writeZip, type ZipSource } from './zip.js';

export { packageFromManifest } from './manifest.js';
export { MAX_ENTRY_BYTES, ZipError, readZipEntry, readZipEntrySync, writeZip } from './zip.js';
export type { ZipSource } from './zip.js';

const MANIFEST = 'AndroidManifest.xml';

/** The package an APK (bytes or a path) declares, or undefined when it is not a readable APK. */
export async function readApkPackageName(apk: ZipSource): Promise<string | undefined> {
  try {
    const manifest = await readZipEntry(apk, MANIFEST);
    return manifest === undefined ? undefined : packageFromManifest(manifest);
  } catch (_unreadable) {
    return undefined;
  }
}

/** readApkPackageName with synchronous reads (the simulator's commands are synchronous). */
export function readApkPackageNameSync(apk: ZipSource): string | undefined {
  try {
    const manifest = readZipEntrySync(apk, MANIFEST);
    return manifest === undefined ? undefined : packageFromManifest(manifest);
  } catch (_unreadable) {
    return undefined;
  }
}

/** A minimal APK (a stored zip with a plain-text manifest) that the simulator's install accepts. */
export function buildTestApk(packageName: string): Buffer {
  return writeZip({
    [MANIFEST]: `<?xml version="1.0" encoding="utf-8"?>\n<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="${packageName}">\n  <application android:label="${packageName}"/>\n</manifest>\n`,
    'classes.dex': Buffer.from('dex\n035\0'),
  });
}
