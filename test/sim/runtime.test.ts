import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { byte, crlf, newHome, sim } from './helpers.js';

const ROW = /^(\d+),([^,]*),(\d+),(\d+),(\d),(-?\d+),(-?\d+),(\d+),(\d+),(\d+)$/;

function row(text: string, index: number): string[] {
  const line = text.split('\r\n').find((candidate) => candidate.startsWith(`${index},`));
  return ROW.exec(line ?? '')?.slice(1) ?? [];
}

describe.concurrent('ldconsole-sim: lifecycle, time, adb, apps', { timeout: 120_000 }, () => {
  it('boots on the warped clock: state 2 then 1, boot_completed after the Android lag', async () => {
    const home = newHome({ bootMs: 60_000, androidLagMs: 10_000 });
    home.seed([{}]);
    expect(await sim(home, ['launch', '--index', '0'])).toMatchObject({ code: 0, text: '' });
    const starting = row((await sim(home, ['list2'])).text, 0);
    expect(starting[4]).toBe('2');
    expect(Number(starting[2])).toBeGreaterThan(0);
    expect(Number(starting[5])).toBeGreaterThan(0);
    expect((await sim(home, ['isrunning', '--index', '0'])).text).toBe(crlf('running'));
    const bootProp = ['adb', '--index', '0', '--command', 'shell getprop sys.boot_completed'];
    expect((await sim(home, bootProp)).text).toBe('\r\n');
    home.advanceClock(60_000);
    const running = row((await sim(home, ['list2'])).text, 0);
    expect(running[4]).toBe('1');
    expect(running.slice(2, 7)).toEqual([starting[2], starting[3], '1', starting[5], starting[6]]);
    expect((await sim(home, bootProp)).text).toBe('\r\n');
    home.advanceClock(10_000);
    expect((await sim(home, bootProp)).text).toBe(crlf('1'));
    expect((await sim(home, ['launch', '--index', '0'])).code).toBe(0); // no-op when running
    expect(row((await sim(home, ['list2'])).text, 0)[5]).toBe(starting[5]);
    expect(await sim(home, ['quit', '--index', '0'])).toMatchObject({ code: 0, text: '' });
    expect((await sim(home, ['list2'])).text).toBe(crlf('0,LDPlayer,0,0,0,-1,-1,1600,900,240'));
    expect(await sim(home, ['quit', '--index', '0'])).toMatchObject({ code: 0, text: '' });
    expect((await sim(home, ['isrunning', '--index', '0'])).text).toBe(crlf('stop'));
  });

  it('keeps the effective resolution of a running instance until reboot; quitall and runninglist', async () => {
    const home = newHome();
    home.seed([{ running: true }, { running: true, name: 'two' }, {}]);
    expect((await sim(home, ['runninglist'])).text).toBe(crlf('LDPlayer', 'two'));
    expect((await sim(home, ['modify', '--index', '0', '--resolution', '540,960,240'])).code).toBe(0);
    expect(row((await sim(home, ['list2'])).text, 0).slice(7)).toEqual(['1600', '900', '240']);
    expect(home.readConfig(0)!['advancedSettings.resolution']).toEqual({ width: 540, height: 960 });
    expect((await sim(home, ['reboot', '--index', '0'])).code).toBe(0);
    const rebooted = row((await sim(home, ['list2'])).text, 0);
    expect(rebooted.slice(7)).toEqual(['540', '960', '240']);
    expect(rebooted[4]).toBe('2');
    expect((await sim(home, ['quitall'])).code).toBe(0);
    expect((await sim(home, ['runninglist'])).text).toBe('');
  });

  it('getprop: error line when stopped, values from config and setprop when running', async () => {
    const home = newHome();
    home.seed([{}, { running: true, settings: { 'propertySettings.phoneModel': 'SM-X', 'propertySettings.phoneManufacturer': 'samsung' } }]);
    expect(await sim(home, ['getprop', '--index', '0', '--key', 'ro.product.model'])).toMatchObject({ code: 0, text: crlf('player is not running!') });
    expect((await sim(home, ['getprop', '--index', '1', '--key', 'ro.product.model'])).text).toBe(crlf('SM-X'));
    expect((await sim(home, ['setprop', '--index', '1', '--key', 'debug.x', '--value', 'a b'])).code).toBe(0);
    expect((await sim(home, ['adb', '--index', '1', '--command', 'shell getprop debug.x'])).text).toBe(crlf('a b'));
    expect((await sim(home, ['setprop', '--index', '1', '--key', 'phone.imei', '--value', 'auto'])).code).toBe(0);
    const imei = home.readConfig(1)!['propertySettings.phoneIMEI'] as string;
    expect((await sim(home, ['getprop', '--index', '1', '--key', 'phone.imei'])).text).toBe(crlf(imei));
    const all = (await sim(home, ['adb', '--index', '1', '--command', 'shell getprop'])).text;
    expect(all).toContain('[ro.product.manufacturer]: [samsung]\r\n');
    expect(all).toContain('[sys.boot_completed]: [1]\r\n');
    expect(all).toContain('[ro.serialno]: [emulator-5556]\r\n');
  });

  it('fake adb: unreachable texts, echo with quoting, unknown shell commands', async () => {
    const home = newHome();
    home.seed([{}, { running: true, settings: { 'basicSettings.adbDebug': 0 } }, { running: true }]);
    expect(await sim(home, ['adb', '--index', '0', '--command', 'shell echo 1'])).toMatchObject({ code: 0, text: crlf("error: device 'emulator-5554' not found") });
    expect((await sim(home, ['adb', '--index', '1', '--command', 'shell echo 1'])).text).toBe(crlf('error: device offline'));
    expect((await sim(home, ['adb', '--index', '2', '--command', 'shell echo 1'])).text).toBe(crlf('1'));
    expect((await sim(home, ['adb', '--index', '2', '--command', `shell echo "a  b" 'c  d' e`])).text).toBe(crlf('a  b c  d e'));
    expect((await sim(home, ['adb', '--index', '2', '--command', 'shell frob -x'])).text).toBe(crlf('/system/bin/sh: frob: not found'));
  });

  it('apps: adb install / installapp share state with pm, am, monkey, pidof, runapp, killapp, uninstall', async () => {
    const home = newHome();
    home.seed([{ running: true }]);
    const apk = home.writeTestApk(join(home.dir, 'apks', 'game one.apk'), 'com.example.game');
    const bogus = join(home.dir, 'apks', 'bogus.apk');
    writeFileSync(bogus, 'not a zip');
    const adb = (command: string) => sim(home, ['adb', '--index', '0', '--command', command]);
    expect((await adb(`install -r "${apk}"`)).text).toContain('Success\r\n');
    expect((await adb(`install "${bogus}"`)).text).toContain('Failure [INSTALL_FAILED_INVALID_APK]');
    expect((await adb('shell pm list packages -3')).text).toBe(crlf('package:com.example.game'));
    expect((await adb('shell pm list packages')).text).toContain('package:com.android.settings\r\n');
    expect((await adb('shell pidof com.example.game')).text).toBe('');
    expect((await adb('shell am start -n com.example.game/.Main')).text).toBe(crlf('Starting: Intent { cmp=com.example.game/.Main }'));
    expect((await adb('shell pidof com.example.game')).text).toMatch(/^\d+\r\n$/);
    expect((await adb('shell am force-stop com.example.game')).text).toBe('');
    expect((await adb('shell pidof com.example.game')).text).toBe('');
    expect((await adb('shell monkey -p com.example.game -c android.intent.category.LAUNCHER 1')).text).toBe(crlf('Events injected: 1'));
    expect((await sim(home, ['killapp', '--index', '0', '--packagename', 'com.example.game'])).code).toBe(0);
    expect((await adb('shell pidof com.example.game')).text).toBe('');
    expect((await sim(home, ['runapp', '--index', '0', '--packagename', 'com.example.game'])).code).toBe(0);
    expect((await adb('shell pidof com.example.game')).text).toMatch(/^\d+\r\n$/);
    expect((await adb('uninstall com.example.game')).text).toBe(crlf('Success'));
    expect((await adb('uninstall com.example.game')).text).toBe(crlf('Failure [DELETE_FAILED_INTERNAL_ERROR]'));
    expect(await sim(home, ['installapp', '--index', '0', '--filename', apk])).toMatchObject({ code: 0, text: '' });
    expect(await sim(home, ['installapp', '--index', '0', '--packagename', 'com.store.app'])).toMatchObject({ code: 0, text: '' });
    expect((await adb('shell pm list packages -3')).text).toBe(crlf('package:com.example.game', 'package:com.store.app'));
    expect((await sim(home, ['uninstallapp', '--index', '0', '--packagename', 'com.store.app'])).code).toBe(0);
    expect((await adb('shell pm list packages -3')).text).toBe(crlf('package:com.example.game'));
  });

  it('screencap: a real PNG as raw bytes, different per instance, sized from the effective resolution', async () => {
    const home = newHome();
    home.seed([{ running: true }, { running: true, settings: { 'advancedSettings.resolution': { width: 720, height: 1280 } } }]);
    const shots = await Promise.all([0, 1].map((index) => sim(home, ['adb', '--index', String(index), '--command', 'exec-out screencap -p'])));
    const images = shots.map((shot) => PNG.sync.read(shot.stdout));
    expect(shots[0]!.stdout.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect([images[0]!.width, images[0]!.height]).toEqual([400, 225]);
    expect([images[1]!.width, images[1]!.height]).toEqual([180, 320]);
    expect(images[0]!.data.subarray(0, 4).equals(images[1]!.data.subarray(0, 4))).toBe(false);
  });

  it('copy clones apps and rejects a concurrent copy with rc 3; backup/restore round-trips', async () => {
    const home = newHome({ copyMs: 30_000 });
    home.seed([{ name: 'src', installedApps: ['com.a'] }]);
    expect((await sim(home, ['copy', '--from', 'src', '--name', 'dst'])).code).toBe(1);
    expect(await sim(home, ['copy', '--from', '0'])).toMatchObject({ code: 3, text: '' });
    home.advanceClock(30_000);
    expect((await sim(home, ['copy', '--from', '0'])).code).toBe(2);
    expect((await sim(home, ['list'])).text).toBe(crlf('src', 'dst', 'LDPlayer-2'));
    const file = join(home.dir, 'b.ldbk');
    expect(await sim(home, ['backup', '--index', '1', '--file', file])).toMatchObject({ code: 0, text: '' });
    expect((await sim(home, ['modify', '--index', '1', '--cpu', '1'])).code).toBe(0);
    expect((await sim(home, ['restore', '--index', '1', '--file', file])).code).toBe(0);
    expect(home.readConfig(1)).not.toHaveProperty('advancedSettings.cpuCount');
    expect(JSON.parse(readFileSync(file, 'utf8')).installedApps).toEqual(['com.a']);
    expect((await sim(home, ['backup', '--index', '1'])).code).toBe(byte(-1));
  });

  it('remove stops a running instance first; action keys, locate, push/pull, operate*', async () => {
    const home = newHome();
    home.seed([{ running: true }, { running: true }]);
    expect((await sim(home, ['remove', '--index', '0'])).code).toBe(0);
    expect((await sim(home, ['list'])).text).toBe(crlf('LDPlayer-1'));
    for (const [key, value] of [['call.keyboard', 'home'], ['call.input', '양파 text'], ['call.shake', 'null'], ['call.gravity', '1,2,3'], ['call.network', 'offline'], ['call.locate', '30.5,114.3']]) {
      expect(await sim(home, ['action', '--index', '1', '--key', key!, '--value', value!]), key).toMatchObject({ code: 0, text: '' });
    }
    expect((await sim(home, ['action', '--index', '1', '--key', 'call.keyboard', '--value', 'jump'])).code).toBe(byte(-1005));
    expect((await sim(home, ['locate', '--index', '1', '--LLI', '114.3,30.5'])).code).toBe(0);
    expect(home.readConfig(1)!['statusSettings.location']).toEqual({ longitude: 114.3, latitude: 30.5 });
    const local = join(home.dir, 'up.txt');
    writeFileSync(local, 'hello');
    expect((await sim(home, ['push', '--index', '1', '--remote', '/sdcard/up.txt', '--local', local])).text).toContain('1 file pushed');
    const back = join(home.dir, 'down.txt');
    expect((await sim(home, ['adb', '--index', '1', '--command', `pull /sdcard/up.txt ${back}`])).text).toContain('1 file pulled');
    expect(readFileSync(back, 'utf8')).toBe('hello');
    expect((await sim(home, ['operaterecord', '--index', '1', '--content', '{"operations":[]}'])).text).toBe(crlf('{"code":0}'));
    expect((await sim(home, ['operatelist', '--index', '1'])).text).toBe(crlf('[]'));
    expect((await sim(home, ['action', '--index', '1', '--key', 'call.exit', '--value', 'null'])).code).toBe(0);
    expect((await sim(home, ['isrunning', '--index', '1'])).text).toBe(crlf('stop'));
  });
});
