import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import fc from 'fast-check';
import { DEFAULT_INSTANCE_SETTINGS, decodeOutput, looksLossy, parseInstanceConfig } from '../../src/ldconsole/index.js';
import { FULL_SETTINGS } from './helpers.js';

describe('decodeOutput', () => {
  it('reads UTF-8 when the bytes are valid UTF-8', () => {
    expect(decodeOutput(Buffer.from('0,雷电模拟器,0,0,0,-1,-1\r\n', 'utf8'))).toBe('0,雷电模拟器,0,0,0,-1,-1\r\n');
  });

  it('falls back to GBK by default', () => {
    expect(decodeOutput(iconv.encode('雷电模拟器-1', 'gbk'))).toBe('雷电模拟器-1');
  });

  it('falls back to the configured code page', () => {
    expect(decodeOutput(iconv.encode('Эмулятор', 'cp1251'), 'cp1251')).toBe('Эмулятор');
  });

  it('round-trips list2 output with CJK titles through GBK and Cyrillic titles through CP1251 (property)', () => {
    const cjk = fc.array(fc.constantFrom(...'雷电模拟器多开测试农场'.split('')), { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
    // Ё and ё (0xA8/0xB8 in CP1251) are UTF-8 continuation bytes; see the known-ambiguity test below.
    const cyrillic = fc.array(fc.constantFrom(...'ЭмуляторФермаЖЩабвгдеж'.split('')), { minLength: 2, maxLength: 12 }).map((a) => a.join(''));
    // A whole list2 output, as the driver decodes it: the default CN title is never valid UTF-8 in GBK.
    const cnOutput = (title: string) => `0,雷电模拟器,0,0,0,-1,-1,540,960,240\r\n1,${title},0,0,0,-1,-1,540,960,240\r\n`;
    fc.assert(fc.property(cjk, (title) => decodeOutput(iconv.encode(cnOutput(title), 'gbk')) === cnOutput(title)));
    fc.assert(fc.property(cyrillic, (title) => decodeOutput(iconv.encode(title, 'cp1251'), 'cp1251') === title));
  });

  it('cannot tell a short GBK text that happens to be valid UTF-8 (known ambiguity; titles come from the config)', () => {
    // 农 is C5 A9 in GBK, which is also the UTF-8 encoding of ũ.
    expect(decodeOutput(iconv.encode('农', 'gbk'))).toBe('ũ');
  });

  it('cannot tell a CP1251 text that happens to be valid UTF-8 (known ambiguity; titles come from the config)', () => {
    // "ЖЁ" is C6 A8 in CP1251, which is also the UTF-8 encoding of "ƨ".
    expect(decodeOutput(iconv.encode('ЖЁ', 'cp1251'), 'cp1251')).toBe('ƨ');
  });

  it('flags lossy titles', () => {
    expect(looksLossy('????')).toBe(true);
    expect(looksLossy('a\uFFFDb')).toBe(true);
    expect(looksLossy('LDPlayer-1')).toBe(false);
  });
});

describe('parseInstanceConfig', () => {
  const full = {
    'statusSettings.playerName': 'Ферма 1',
    'advancedSettings.cpuCount': 4,
    'advancedSettings.memorySize': 4096,
    'advancedSettings.resolution': { width: 1080, height: 1920 },
    'advancedSettings.resolutionDpi': 480,
    'propertySettings.phoneManufacturer': 'asus',
    'propertySettings.phoneModel': 'ASUS_Z00DUO',
    'propertySettings.phoneNumber': '13812345678',
    'propertySettings.phoneIMEI': '865166023949731',
    'propertySettings.phoneIMSI': '460000000000000',
    'propertySettings.phoneSimSerial': '89860000000000000000',
    'propertySettings.phoneAndroidId': '0123456789abcdef',
    'propertySettings.macAddress': '00DBBF9A087E',
    'basicSettings.autoRotate': true,
    'basicSettings.lockWindow': false,
    'basicSettings.rootMode': true,
    'basicSettings.adbDebug': 1,
    'hotkeySettings.backKey': { modifiers: 0, key: 27 },
  };

  it('reads every typed setting and keeps the raw keys, with or without a BOM', () => {
    for (const text of [JSON.stringify(full), `\uFEFF${JSON.stringify(full, null, 2)}`]) {
      const config = parseInstanceConfig(text);
      expect(config.title).toBe('Ферма 1');
      expect(config.defaulted).toEqual([]);
      expect(config.settings).toEqual({ ...FULL_SETTINGS, adbDebug: 1 });
      expect(config.raw['hotkeySettings.backKey']).toEqual({ modifiers: 0, key: 27 });
    }
  });

  it('fills missing advancedSettings keys from the defaults given, and reports them', () => {
    const config = parseInstanceConfig('{"propertySettings.phoneIMEI":"865166023949731"}', { resolution: { width: 540, height: 960, dpi: 240 } });
    expect(config.title).toBeUndefined();
    expect(config.settings.cpu).toBe(DEFAULT_INSTANCE_SETTINGS.cpu);
    expect(config.settings.resolution).toEqual({ width: 540, height: 960, dpi: 240 });
    expect(config.defaulted).toContain('cpu');
    expect(config.defaulted).toContain('resolution');
    expect(config.defaulted).not.toContain('imei');
  });

  it('rejects a file that is not a JSON object', () => {
    expect(() => parseInstanceConfig('[1,2]')).toThrow();
    expect(() => parseInstanceConfig('{')).toThrow();
  });
});
