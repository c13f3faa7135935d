import { expect } from 'vitest';
import { LdConsoleError, type ModifySettings } from '../../src/ldconsole/index.js';

/** The error a driver call failed with; fails the test when it resolved or threw something else. */
export async function failureOf(promise: Promise<unknown>): Promise<LdConsoleError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LdConsoleError);
    return error as LdConsoleError;
  }
  throw new Error('expected an LdConsoleError');
}

/** A value for every setting `modify` writes (tests override the ones they vary). */
export const FULL_SETTINGS = {
  resolution: { width: 1080, height: 1920, dpi: 480 },
  cpu: 4,
  memoryMb: 4096,
  manufacturer: 'asus',
  model: 'ASUS_Z00DUO',
  phoneNumber: '13812345678',
  imei: '865166023949731',
  imsi: '460000000000000',
  simSerial: '89860000000000000000',
  androidId: '0123456789abcdef',
  mac: '00DBBF9A087E',
  autoRotate: true,
  lockWindow: false,
  root: true,
} as const satisfies ModifySettings;
