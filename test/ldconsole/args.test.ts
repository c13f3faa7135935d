import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  actionArgs,
  copySourceArg,
  CPU_COUNTS,
  globalSettingArgs,
  LdConsoleError,
  MEMORY_SIZES_MB,
  modifyArgs,
  selectorArgs,
  type ModifySettings,
} from '../../src/ldconsole/index.js';
import { FULL_SETTINGS } from './helpers.js';

function rejects(build: () => unknown): LdConsoleError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(LdConsoleError);
    expect((error as LdConsoleError).code).toBe('invalid_argument');
    expect((error as LdConsoleError).category).toBe('ldconsole');
    return error as LdConsoleError;
  }
  throw new Error('expected an invalid_argument error');
}

describe('selectors', () => {
  it('builds --index and --name, keeping names verbatim', () => {
    expect(selectorArgs('quit', { index: 3 })).toEqual(['--index', '3']);
    expect(selectorArgs('quit', { name: 'Farm "A" & 雷电' })).toEqual(['--name', 'Farm "A" & 雷电']);
  });

  it('rejects bad indexes and names', () => {
    for (const index of [-1, 1.5, Number.NaN, Infinity]) rejects(() => selectorArgs('quit', { index }));
    for (const name of ['', 'a\nb', 'a\0b']) rejects(() => selectorArgs('quit', { name }));
  });

  it('refuses an all-digit copy source name, which ldconsole would read as an index', () => {
    expect(copySourceArg({ index: 2 })).toBe('2');
    expect(copySourceArg({ name: 'Farm 2' })).toBe('Farm 2');
    rejects(() => copySourceArg({ name: '42' }));
  });
});

describe('modifyArgs', () => {
  it('builds every option in a stable order', () => {
    const settings: ModifySettings = { ...FULL_SETTINGS, imsi: 'auto' };
    expect(modifyArgs(settings)).toEqual([
      '--resolution', '1080,1920,480',
      '--cpu', '4',
      '--memory', '4096',
      '--manufacturer', 'asus',
      '--model', 'ASUS_Z00DUO',
      '--pnumber', '13812345678',
      '--imei', '865166023949731',
      '--imsi', 'auto',
      '--simserial', '89860000000000000000',
      '--androidid', '0123456789abcdef',
      '--mac', '00DBBF9A087E',
      '--autorotate', '1',
      '--lockwindow', '0',
      '--root', '1',
    ]);
  });

  it('rejects empty, unknown and malformed settings', () => {
    rejects(() => modifyArgs({}));
    rejects(() => modifyArgs({ dpi: 240 } as unknown as ModifySettings));
    rejects(() => modifyArgs({ resolution: { width: 1080, height: 1920, dpi: 0 } }));
    rejects(() => modifyArgs({ resolution: { width: 10.5, height: 1920, dpi: 240 } }));
    rejects(() => modifyArgs({ imei: '12345' }));
    rejects(() => modifyArgs({ simSerial: '8986000000000000000' }));
    rejects(() => modifyArgs({ androidId: '0123456789abcdeg' }));
    rejects(() => modifyArgs({ mac: '00:DB:BF:9A:08:7E' }));
    rejects(() => modifyArgs({ manufacturer: 'a b' }));
    rejects(() => modifyArgs({ autoRotate: 1 as unknown as boolean }));
  });

  it('accepts exactly the allowed cpu counts (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -10, max: 20 }), fc.double()), (cpu) => {
        const allowed = (CPU_COUNTS as readonly number[]).includes(cpu);
        const build = () => modifyArgs({ cpu: cpu as ModifySettings['cpu'] });
        if (allowed) expect(build()).toEqual(['--cpu', String(cpu)]);
        else rejects(build);
      }),
    );
  });

  it('accepts exactly the allowed memory sizes (property)', () => {
    const candidates = fc.oneof(fc.constantFrom(...MEMORY_SIZES_MB, 100, 3072, 6144, 16384), fc.integer({ min: -1, max: 20_000 }));
    fc.assert(
      fc.property(candidates, (memoryMb) => {
        const allowed = (MEMORY_SIZES_MB as readonly number[]).includes(memoryMb);
        const build = () => modifyArgs({ memoryMb: memoryMb as ModifySettings['memoryMb'] });
        if (allowed) expect(build()).toEqual(['--memory', String(memoryMb)]);
        else rejects(build);
      }),
    );
  });

  it('accepts identity values of exactly the right format, or auto (property)', () => {
    const formats = {
      imei: /^\d{15}$/,
      imsi: /^\d{15}$/,
      simSerial: /^\d{20}$/,
      androidId: /^[0-9a-fA-F]{16}$/,
      mac: /^[0-9a-fA-F]{12}$/,
    } as const;
    const value = fc.oneof(
      fc.constant('auto'),
      fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 10, maxLength: 22 }),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg:'.split('')), minLength: 10, maxLength: 22 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(formats) as (keyof typeof formats)[])), value, (key, candidate) => {
        const allowed = candidate === 'auto' || formats[key].test(candidate);
        const build = () => modifyArgs({ [key]: candidate });
        if (allowed) expect(build()).toHaveLength(2);
        else rejects(build);
      }),
    );
  });
});

describe('globalSettingArgs and actionArgs', () => {
  it('builds globalsetting options and validates fps', () => {
    expect(globalSettingArgs({ fps: 30, audio: false, fastPlay: true, cleanMode: true })).toEqual(['--fps', '30', '--audio', '0', '--fastplay', '1', '--cleanmode', '1']);
    rejects(() => globalSettingArgs({ fps: 61 }));
    rejects(() => globalSettingArgs({}));
  });

  it('builds every action key with its value', () => {
    expect(actionArgs({ key: 'call.keyboard', value: 'home' })).toEqual(['--key', 'call.keyboard', '--value', 'home']);
    expect(actionArgs({ key: 'call.input', value: '양파 雷电' })).toEqual(['--key', 'call.input', '--value', '양파 雷电']);
    expect(actionArgs({ key: 'call.reboot', value: null })).toEqual(['--key', 'call.reboot', '--value', 'null']);
    expect(actionArgs({ key: 'call.reboot', value: 'com.android.settings' })[3]).toBe('com.android.settings');
    expect(actionArgs({ key: 'call.locate', value: { latitude: 31.2, longitude: 121.5 } })[3]).toBe('31.2,121.5');
    expect(actionArgs({ key: 'call.shake' })[3]).toBe('null');
    expect(actionArgs({ key: 'call.network', value: 'offline' })[3]).toBe('offline');
    expect(actionArgs({ key: 'call.gravity', value: { x: 0, y: 9.8, z: 0 } })[3]).toBe('0,9.8,0');
    expect(actionArgs({ key: 'call.exit' })[3]).toBe('null');
    expect(actionArgs({ key: 'call.capture' })[3]).toBe('null');
    rejects(() => actionArgs({ key: 'call.locate', value: { latitude: 91, longitude: 0 } }));
    rejects(() => actionArgs({ key: 'call.keyboard', value: 'enter' as 'home' }));
  });
});
