import { randomInt } from 'node:crypto';

function randomDigits(count: number): string {
  let digits = '';
  for (let i = 0; i < count; i++) digits += String(randomInt(10));
  return digits;
}

function randomHex(count: number, upper = false): string {
  let hex = '';
  for (let i = 0; i < count; i++) hex += randomInt(16).toString(16);
  return upper ? hex.toUpperCase() : hex;
}

/** Identity values shaped like the ones LDPlayer generates (reference §7.1). */
export const generate = {
  imei: (): string => `86${randomDigits(13)}`,
  imsi: (): string => `46000${randomDigits(10)}`,
  simSerial: (): string => `898600${randomDigits(14)}`,
  androidId: (): string => randomHex(16),
  /** LD-generated MACs start with 00DB. */
  mac: (): string => `00DB${randomHex(8, true)}`,
};

/** Windows PIDs are multiples of 4. */
export function fakePid(): number {
  return randomInt(250, 16_000) * 4;
}

/** HWNDs as ldconsole prints them: decimal, even. */
export function fakeHwnd(): number {
  return randomInt(32_000, 3_000_000) * 2;
}

export const identityFormats = {
  imei: /^\d{15}$/,
  imsi: /^\d{15}$/,
  simserial: /^\d{20}$/,
  androidid: /^[0-9a-fA-F]{16}$/,
  mac: /^[0-9a-fA-F]{12}$/,
} as const;
