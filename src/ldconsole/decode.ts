import iconv from 'iconv-lite';

/** Code pages a workstation's ldconsole may print in; any name iconv-lite knows is accepted. */
export type Codepage = 'cp936' | 'gbk' | 'gb18030' | 'cp1251' | 'cp1252' | 'cp1258' | 'cp850' | 'cp949' | 'cp950' | 'shift_jis' | (string & {});

export const DEFAULT_CODEPAGE: Codepage = 'cp936';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes ldconsole's stdout. Real builds print GBK (or the ANSI code page); some print UTF-8.
 * Strict UTF-8 is tried first because GBK/CP1251 text with non-ASCII bytes is almost never
 * valid UTF-8, while the reverse guess would silently produce mojibake.
 */
export function decodeOutput(bytes: Uint8Array, codepage: Codepage = DEFAULT_CODEPAGE): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (_notUtf8) {
    return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), codepage);
  }
}

export function isSupportedCodepage(codepage: string): boolean {
  return iconv.encodingExists(codepage);
}

/** True when a title probably lost characters on the way (`?` or U+FFFD from an unmappable code page). */
export function looksLossy(text: string): boolean {
  return text.includes('?') || text.includes('\uFFFD');
}
