/**
 * Contract tests, encodings: titles in CJK, Cyrillic, with commas and quotes, through GBK,
 * UTF-8 and CP1251 output and both list2 layouts, against the simulator.
 */
import { describe, expect, it } from 'vitest';
import { useSimDriver } from './sim-helpers.js';

const setup = useSimDriver();

const CJK = '雷电 农场,"一"';
const CYRILLIC = 'Ферма, "Эмулятор" 1';

describe.each([
  ['gbk', 10],
  ['gbk', 7],
  ['utf8', 10],
  ['utf8', 7],
  ['cp1251', 10],
  ['cp1251', 7],
] as const)('instance management, %s output, %i columns', (encoding, list2Columns) => {
  it('adds, lists, renames, copies and removes with CJK, Cyrillic and comma titles', { timeout: 90_000 }, async () => {
    const { ld, home } = setup({ encoding, list2Columns, locale: 'cn' });
    const first = await ld.add();
    const cyr = await ld.add(CYRILLIC);
    const cjk = await ld.add(CJK);
    expect([first, cyr, cjk]).toEqual([0, 1, 2]);

    const rows = await ld.list2();
    expect(rows.map((row) => [row.index, row.title, row.state])).toEqual([
      [0, '雷电模拟器', 'stopped'],
      [1, CYRILLIC, 'stopped'],
      [2, CJK, 'stopped'],
    ]);
    expect(rows[0]?.resolution).toEqual(list2Columns === 10 ? { width: 540, height: 960, dpi: 240 } : undefined);

    await ld.rename({ index: 0 }, 'Эмулятор 雷电');
    expect((await ld.instance({ index: 0 }))?.title).toBe('Эмулятор 雷电');
    expect(home.readConfig(0)?.['statusSettings.playerName']).toBe('Эмулятор 雷电');

    const copied = await ld.copy({ index: 2 }, 'Копия');
    expect(copied).toBe(3);
    expect((await ld.instance({ index: 3 }))?.title).toBe('Копия');

    await ld.remove({ index: 1 });
    expect((await ld.list2()).map((row) => row.index)).toEqual([0, 2, 3]);
    // The lowest free index is reused.
    expect(await ld.add('again')).toBe(1);
  });

  it('selects by a non-ASCII name', { timeout: 60_000 }, async () => {
    const { ld } = setup({ encoding, list2Columns });
    await ld.add(CYRILLIC);
    await ld.add(CJK);
    await ld.launch({ name: CJK });
    expect(await ld.isrunning({ name: CJK })).toBe(true);
    expect(await ld.isrunning({ index: 0 })).toBe(false);
  });
});

describe('titles the code page cannot carry', () => {
  it('shows ? through CP1251 without installDir, and the true title from the config with it', async () => {
    const { ld, bare } = setup({ encoding: 'cp1251' });
    await ld.add(CJK);
    const [lossy] = await bare.list2();
    expect(lossy?.title).toMatch(/\?/);
    expect((await ld.list2())[0]?.title).toBe(CJK);
    expect(await bare.list()).toEqual([lossy?.title]);
  });
});

