import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatList2,
  isAdbDeviceMissing,
  isAdbDeviceOffline,
  isAdbConflict,
  isHelpText,
  isNotRunningMessage,
  isPng,
  parseGetprop,
  parseIsRunning,
  parseList2,
  parseTitles,
  type List2Columns,
  type List2Row,
} from '../../src/ldconsole/index.js';

describe('parseList2', () => {
  it('parses the real 10-column stopped row (LD9 9.0.79.2 CN)', () => {
    const [row] = parseList2('0,雷电模拟器,0,0,0,-1,-1,540,960,240\r\n');
    expect(row).toEqual({
      index: 0,
      title: '雷电模拟器',
      topHwnd: 0,
      bindHwnd: 0,
      state: 'stopped',
      playerPid: -1,
      vboxPid: -1,
      processesUp: false,
      resolution: { width: 540, height: 960, dpi: 240 },
    });
  });

  it('parses 7-column running rows with decimal HWNDs and no resolution', () => {
    const rows = parseList2('0,雷电模拟器,2032678,1704928,1,7456,3500\r\n1,雷电模拟器-1,852422,590830,1,3772,3180\r\n');
    expect(rows.map((row) => [row.index, row.title, row.topHwnd, row.state, row.processesUp, row.resolution])).toEqual([
      [0, '雷电模拟器', 2032678, 'running', true, undefined],
      [1, '雷电模拟器-1', 852422, 'running', true, undefined],
    ]);
  });

  it('maps state 2 to starting and needs both pids for processesUp', () => {
    const [starting, halfUp] = parseList2('3,A,1,2,2,100,-1,1,2,3\n4,B,1,2,1,-1,200,1,2,3\n');
    expect(starting?.state).toBe('starting');
    expect(starting?.processesUp).toBe(false);
    expect(halfUp?.state).toBe('running');
    expect(halfUp?.processesUp).toBe(false);
  });

  it('keeps index gaps, spaces, quotes and commas in titles, and skips blank lines', () => {
    const text = '\r\n0,LDPlayer,0,0,0,-1,-1,1600,900,240\r\n\r\n2,Instagram Box,0,0,1,4242,4243,900,1600,320\r\n5,a,"b",c,0,0,0,-1,-1,1,2,3\r\n\r\n';
    expect(parseList2(text).map((row) => [row.index, row.title])).toEqual([
      [0, 'LDPlayer'],
      [2, 'Instagram Box'],
      [5, 'a,"b",c'],
    ]);
  });

  it('skips the odd 99999 row of some LD4 builds', () => {
    expect(parseList2('99999,,0,0,0,0,0\r\n0,LDPlayer,0,0,0,-1,-1\r\n').map((row) => row.index)).toEqual([0]);
  });

  it('reads an empty list as no instances', () => {
    expect(parseList2('')).toEqual([]);
    expect(parseList2('\r\n')).toEqual([]);
  });

  it('rejects lines that are not rows', () => {
    expect(() => parseList2('dnplayer Command Line Management Interface\r\n')).toThrow(/list2 row/);
    expect(() => parseList2('0,x,0,0,7,-1,-1\r\n')).toThrow();
  });

  it('treats a mixed output as 7 columns when any row is too short for 10', () => {
    expect(parseList2('0,a,b,c,0,0,0,-1,-1,1,2,3\n1,x,0,0,0,-1,-1\n').map((row) => row.title)).toEqual(['a,b,c,0,0,0', 'x']);
  });
});

/** Titles as LDPlayer users write them: commas, quotes, spaces, CJK, Cyrillic, digits. */
const titleUnit = fc.constantFrom(...'ab Z9,"\'&%;-_()雷电模拟器Эмулятор1 '.split(''));
const title = fc.array(titleUnit, { minLength: 1, maxLength: 20 }).map((units) => units.join(''));

function rowArbitrary(columns: List2Columns): fc.Arbitrary<List2Row> {
  const pid = fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 99_999 }));
  return fc
    .record({
      index: fc.integer({ min: 0, max: 500 }),
      title,
      topHwnd: fc.integer({ min: 0, max: 2 ** 31 }),
      bindHwnd: fc.integer({ min: 0, max: 2 ** 31 }),
      state: fc.constantFrom('stopped', 'running', 'starting' as const),
      playerPid: pid,
      vboxPid: pid,
      width: fc.integer({ min: 100, max: 4000 }),
      height: fc.integer({ min: 100, max: 4000 }),
      dpi: fc.integer({ min: 60, max: 640 }),
    })
    .map(({ width, height, dpi, ...row }) => ({
      ...row,
      processesUp: row.playerPid > 0 && row.vboxPid > 0,
      resolution: columns === 10 ? { width, height, dpi } : undefined,
    }));
}

describe('list2 format ⇄ parse (property)', () => {
  for (const columns of [7, 10] as const) {
    for (const ending of ['\r\n', '\n']) {
      it(`round-trips arbitrary titles, ${columns} columns, ${JSON.stringify(ending)}`, () => {
        fc.assert(
          fc.property(fc.array(rowArbitrary(columns), { maxLength: 8 }), (rows) => {
            expect(parseList2(formatList2(rows, columns, ending), columns)).toEqual(rows);
          }),
        );
      });
    }
  }

  it('detects the layout when no title has numeric comma-separated parts', () => {
    const plainTitle = title.filter((t) => t.split(',').every((part) => !/^\s*-?\d+\s*$/.test(part)));
    fc.assert(
      fc.property(fc.constantFrom(7, 10 as const), fc.array(rowArbitrary(10), { minLength: 1, maxLength: 5 }), plainTitle, (columns, rows, name) => {
        const shaped = rows.map((row) => ({ ...row, title: name, resolution: columns === 10 ? row.resolution : undefined }));
        expect(parseList2(formatList2(shaped, columns))).toEqual(shaped);
      }),
    );
  });
});

describe('other parsers', () => {
  it('parses list/runninglist titles, keeping inner spaces', () => {
    expect(parseTitles('LDPlayer\r\nFarm Box 1\r\n雷电模拟器-2\r\n')).toEqual(['LDPlayer', 'Farm Box 1', '雷电模拟器-2']);
    expect(parseTitles('')).toEqual([]);
  });

  it('parses isrunning in English and Chinese, trimming', () => {
    expect(parseIsRunning('running\r\n')).toBe(true);
    expect(parseIsRunning(' stop ')).toBe(false);
    expect(parseIsRunning('运行中\r\n')).toBe(true);
    expect(parseIsRunning('未运行')).toBe(false);
    expect(parseIsRunning('停止')).toBe(false);
    expect(() => parseIsRunning("player don't exist!")).toThrow();
  });

  it('keeps a getprop value, dropping only the line ending', () => {
    expect(parseGetprop('ASUS_Z00DUO\r\n')).toBe('ASUS_Z00DUO');
    expect(parseGetprop(' spaced value \n')).toBe(' spaced value ');
    expect(parseGetprop('')).toBe('');
  });

  it('recognises not-running messages and adb device errors', () => {
    expect(isNotRunningMessage('player is not running!\r\n')).toBe(true);
    expect(isNotRunningMessage('模拟器未运行')).toBe(true);
    expect(isNotRunningMessage('ASUS_Z00DUO')).toBe(false);
    expect(isAdbDeviceMissing("error: device 'emulator-5554' not found\r\n")).toBe(true);
    expect(isAdbDeviceMissing('error: device offline')).toBe(false);
    expect(isAdbDeviceOffline('error: device offline')).toBe(true);
    expect(isAdbConflict("adb server version (31) doesn't match this client (41); killing...")).toBe(true);
    expect(isAdbConflict('1\r\n')).toBe(false);
    expect(isAdbDeviceMissing('1\r\n')).toBe(false);
  });

  it('recognises the help text by its banner or its usage lines', () => {
    expect(isHelpText('dnplayer Command Line Management Interface\r\n  quit <--name mnq_name | --index mnq_idx>\r\n')).toBe(true);
    expect(isHelpText('\r\nquit <--name mnq_name | --index mnq_idx>\r\nlaunch <--name mnq_name | --index mnq_idx>\r\n')).toBe(true);
    expect(isHelpText('0,LDPlayer,0,0,0,-1,-1\r\n')).toBe(false);
    expect(isHelpText('')).toBe(false);
  });

  it('checks the PNG signature', () => {
    expect(isPng(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe(true);
    expect(isPng(Buffer.from('error: device not found'))).toBe(false);
    expect(isPng(Buffer.alloc(0))).toBe(false);
  });
});
