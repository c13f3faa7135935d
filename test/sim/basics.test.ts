import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { byte, crlf, newHome, sim } from './helpers.js';

describe.concurrent('ldconsole-sim: help, instances, errors', { timeout: 120_000 }, () => {
  it('prints help with CRLF and rc 0 for no arguments and for an unknown command', async () => {
    const home = newHome();
    for (const args of [[], ['frobnicate']]) {
      const run = await sim(home, args);
      expect(run.code).toBe(0);
      expect(run.text.startsWith('dnplayer Command Line Management Interface\r\n')).toBe(true);
      expect(run.text).toContain('quit <--name mnq_name | --index mnq_idx>\r\n');
      expect(run.text).toContain('[--memory <256 | 512 | 768 | 1024 | 1536 | 2048 | 4096 | 8192>]');
      expect(run.text.endsWith('\r\n')).toBe(true);
      expect(run.text.replace(/\r\n/g, '')).not.toContain('\n');
    }
  });

  it('add returns the lowest free index, writes a realistic config and an install layout', async () => {
    const home = newHome();
    expect((await sim(home, ['add'])).code).toBe(0);
    const second = await sim(home, ['add', '--name', 'Farm']);
    expect(second.code).toBe(1);
    expect(second.stdout.length).toBe(0);
    expect((await sim(home, ['add'])).code).toBe(2);
    expect((await sim(home, ['remove', '--index', '1'])).code).toBe(0);
    expect((await sim(home, ['add'])).code).toBe(1); // the gap is reused
    const config = home.readConfig(0)!;
    expect(Object.keys(config).length).toBeGreaterThanOrEqual(30);
    expect(config['propertySettings.phoneIMEI']).toMatch(/^\d{15}$/);
    expect(config['propertySettings.phoneIMSI']).toMatch(/^\d{15}$/);
    expect(config['propertySettings.phoneSimSerial']).toMatch(/^\d{20}$/);
    expect(config['propertySettings.phoneAndroidId']).toMatch(/^[0-9a-f]{16}$/);
    expect(config['propertySettings.macAddress']).toMatch(/^00DB[0-9A-F]{8}$/);
    expect(config).not.toHaveProperty('statusSettings.playerName');
    expect(Object.keys(config).some((key) => key.startsWith('advancedSettings.'))).toBe(false);
    expect(existsSync(join(home.dir, 'vms', 'leidian0', 'leidian.vbox'))).toBe(true);
    expect(home.readGlobalConfig()).toHaveProperty('framesPerSecond');
    const list2 = await sim(home, ['list2']);
    expect(list2.text).toBe(
      crlf('0,LDPlayer,0,0,0,-1,-1,1600,900,240', '1,LDPlayer-1,0,0,0,-1,-1,1600,900,240', '2,LDPlayer-2,0,0,0,-1,-1,1600,900,240'),
    );
    expect((await sim(home, ['list'])).text).toBe(crlf('LDPlayer', 'LDPlayer-1', 'LDPlayer-2'));
  });

  it('uses the cn defaults and the 7-column legacy list2', async () => {
    const home = newHome({ locale: 'cn', encoding: 'utf8', list2Columns: 7 });
    home.seed([{}, {}]);
    expect((await sim(home, ['list2'])).text).toBe(crlf('0,雷电模拟器,0,0,0,-1,-1', '1,雷电模拟器-1,0,0,0,-1,-1'));
    const tenColumns = await sim(home, ['list2'], { LDFLEET_SIM_LIST2_COLUMNS: '10' });
    expect(tenColumns.text).toBe(crlf('0,雷电模拟器,0,0,0,-1,-1,540,960,240', '1,雷电模拟器-1,0,0,0,-1,-1,540,960,240'));
  });

  it('encodes titles as GBK by default, or CP1251 / UTF-8 when asked; unrepresentable chars become ?', async () => {
    const home = newHome();
    home.seed([{ name: '雷电模拟器' }, { name: 'Ферма' }]);
    const gbk = await sim(home, ['list']);
    expect(gbk.stdout.equals(iconv.encode('雷电模拟器\r\nФерма\r\n', 'gbk'))).toBe(true);
    expect(gbk.stdout.subarray(0, 2).equals(Buffer.from([0xc0, 0xd7]))).toBe(true); // 雷 in GBK
    const cp1251 = await sim(home, ['list'], { LDFLEET_SIM_ENCODING: 'cp1251' });
    expect(cp1251.stdout.equals(Buffer.concat([Buffer.from('?????\r\n'), iconv.encode('Ферма\r\n', 'cp1251')]))).toBe(true);
    const utf8 = await sim(home, ['list'], { LDFLEET_SIM_ENCODING: 'utf8' });
    expect(utf8.stdout.equals(Buffer.from('雷电模拟器\r\nФерма\r\n', 'utf8'))).toBe(true);
  });

  it('passes hostile titles through as arguments: add, rename, select by name, copy from name', async () => {
    const home = newHome({ encoding: 'utf8' });
    const titles = ['a"b', '&|;%', 'with  spaces', 'comma,title', '雷电 模拟器'];
    for (const [i, title] of titles.entries()) expect((await sim(home, ['add', '--name', title])).code).toBe(i);
    expect((await sim(home, ['list'])).text).toBe(crlf(...titles));
    for (const title of titles) expect((await sim(home, ['isrunning', '--name', title])).text).toBe(crlf('stop'));
    expect((await sim(home, ['rename', '--name', '&|;%', '--title', 'x y "z"'])).code).toBe(0);
    expect(home.readConfig(1)!['statusSettings.playerName']).toBe('x y "z"');
    expect((await sim(home, ['copy', '--name', 'clone', '--from', 'a"b'])).code).toBe(5);
    expect(home.readConfig(5)!['statusSettings.playerName']).toBe('clone');
  });

  it('reports missing players, copy sources and usage errors', async () => {
    const home = newHome();
    home.seed([{}]);
    for (const command of ['launch', 'quit', 'remove', 'rename', 'isrunning', 'getprop', 'adb', 'installapp', 'action', 'reboot']) {
      const run = await sim(home, [command, '--index', '7']);
      expect(run.code, command).toBe(byte(-617));
      expect(run.text, command).toBe(crlf("player don't exist!"));
    }
    expect((await sim(home, ['launch'])).code).toBe(byte(-617));
    expect((await sim(home, ['launch', '--name', 'nobody'])).text).toBe(crlf("player don't exist!"));
    const copy = await sim(home, ['copy', '--from', '9']);
    expect(copy.code).toBe(byte(-616));
    expect(copy.text.startsWith('dnplayer Command Line Management Interface\r\n')).toBe(true);
    expect((await sim(home, ['copy', '--from', 'ghost'])).code).toBe(byte(-616));
    const rename = await sim(home, ['rename', '--index', '0']);
    expect(rename.code).toBe(byte(-1));
    expect(rename.text.startsWith('dnplayer Command Line Management Interface')).toBe(true);
    expect((await sim(home, ['zoomIn'])).code).toBe(0);
    expect((await sim(home, ['zoomOut', '--index', '4'])).code).toBe(byte(-617));
  });

  it('modify validates every option, ignores unknown ones and is a silent no-op on a missing index', async () => {
    const home = newHome();
    home.seed([{}]);
    const bad = [
      ['--cpu', '5'], ['--cpu', '0'], ['--memory', '100'], ['--memory', '3072'], ['--resolution', '1280x720'],
      ['--resolution', '1280,720'], ['--imei', '123'], ['--imsi', '12345678901234a'], ['--simserial', '1'],
      ['--androidid', 'xyz'], ['--mac', '00:DB:00:00:00:00'], ['--autorotate', '2'], ['--lockwindow', 'yes'], ['--root', '-1'],
    ];
    const before = readFileSync(join(home.dir, 'vms', 'config', 'leidian0.config'));
    for (const option of bad) {
      const run = await sim(home, ['modify', '--index', '0', '--cpu', '2', ...option]);
      expect(run.code, option.join(' ')).toBe(byte(-1005));
      expect(run.text).toBe(crlf('parameter error!'));
    }
    expect(readFileSync(join(home.dir, 'vms', 'config', 'leidian0.config')).equals(before)).toBe(true);
    const missing = await sim(home, ['modify', '--index', '5', '--cpu', '9']);
    expect(missing).toMatchObject({ code: 0, text: '' });
    const good = await sim(home, [
      'modify', '--index', '0', '--resolution', '720,1280,320', '--cpu', '4', '--memory', '1536', '--manufacturer', 'asus',
      '--model', 'ASUS_Z00DUO', '--pnumber', '13812345678', '--imei', '865166023949731', '--imsi', 'auto', '--simserial', 'auto',
      '--androidid', '0123456789abcdef', '--mac', 'auto', '--autorotate', '1', '--lockwindow', '0', '--root', '1', '--dpi', '9',
    ]);
    expect(good).toMatchObject({ code: 0, text: '' });
    const config = home.readConfig(0)!;
    expect(config).toMatchObject({
      'advancedSettings.resolution': { width: 720, height: 1280 },
      'advancedSettings.resolutionDpi': 320,
      'advancedSettings.cpuCount': 4,
      'advancedSettings.memorySize': 1536,
      'propertySettings.phoneManufacturer': 'asus',
      'propertySettings.phoneModel': 'ASUS_Z00DUO',
      'propertySettings.phoneNumber': '13812345678',
      'propertySettings.phoneIMEI': '865166023949731',
      'propertySettings.phoneAndroidId': '0123456789abcdef',
      'basicSettings.autoRotate': true,
      'basicSettings.lockWindow': false,
      'basicSettings.rootMode': true,
    });
    expect(config['propertySettings.macAddress']).toMatch(/^00DB[0-9A-F]{8}$/);
    expect(config).not.toHaveProperty('dpi');
    expect((await sim(home, ['list2'])).text).toBe(crlf('0,LDPlayer,0,0,0,-1,-1,720,1280,320'));
  });

  it('globalsetting writes leidians.config and validates values; invisible commands return rc 0 silently', async () => {
    const home = newHome();
    home.seed([{}]);
    expect(await sim(home, ['globalsetting', '--fps', '30', '--cleanmode', '1'])).toMatchObject({ code: 0, text: '' });
    expect(home.readGlobalConfig()).toMatchObject({ framesPerSecond: 30, cleanMode: true });
    expect((await sim(home, ['globalsetting', '--fps', '61'])).code).toBe(byte(-1005));
    for (const args of [['sortWnd'], ['zoomIn', '--index', '0'], ['rock'], ['scan', '--index', '0', '--file', 'q.png'], ['downcpu', '--index', '0', '--rate', '50']]) {
      expect(await sim(home, args), args[0]).toMatchObject({ code: 0, text: '' });
    }
    expect((await sim(home, ['downcpu', '--index', '0', '--rate', '101'])).code).toBe(byte(-1005));
  });
});
