import { createRequire } from 'node:module';
import type iconvLite from 'iconv-lite';
import type { SimEncoding } from './settings.js';

/** What a command prints and its exit code (a signed value as on Windows; main masks it to a byte). */
export interface CommandResult {
  exitCode: number;
  /** Text lines; each is printed with a CRLF after it. */
  lines?: string[];
  /** Raw bytes printed as they are (screencap). */
  bytes?: Buffer;
}

export const ok = (...lines: string[]): CommandResult => ({ exitCode: 0, lines });
export const fail = (exitCode: number, ...lines: string[]): CommandResult => ({ exitCode, lines });

export const ERRORS = {
  playerMissing: 'player don\'t exist!',
  parameter: 'parameter error!',
  notRunning: 'player is not running!',
} as const;

export const RC = {
  copySourceMissing: -616,
  playerMissing: -617,
  parameter: -1005,
  usage: -1,
  copyBusy: 3,
} as const;

const require = createRequire(import.meta.url);

/**
 * Encodes text as the configured Windows code page. Characters the code page lacks become `?`,
 * as WideCharToMultiByte does; iconv-lite is only loaded when the text is not plain ASCII.
 */
export function encodeText(text: string, encoding: SimEncoding): Buffer {
  // eslint-disable-next-line no-control-regex
  if (encoding === 'utf8' || /^[\x00-\x7f]*$/.test(text)) return Buffer.from(text, 'utf8');
  const iconv = require('iconv-lite') as typeof iconvLite;
  return iconv.encode(text, encoding === 'gbk' ? 'gbk' : 'cp1251');
}

export function renderResult(result: CommandResult, encoding: SimEncoding): Buffer {
  if (result.bytes) return result.bytes;
  const lines = result.lines ?? [];
  if (lines.length === 0) return Buffer.alloc(0);
  return encodeText(lines.map((line) => `${line}\r\n`).join(''), encoding);
}
