/**
 * Contract tests: the driver against the simulator (bin/ldconsole-sim, built by the global
 * setup), spawned through the real LocalExecutor, in every encoding and list2 layout.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPng, type LdConsole } from '../../src/ldconsole/index.js';
import { FULL_SETTINGS, failureOf } from './helpers.js';
import { eventually } from '../gateway/helpers.js';
import { processesUsingHome, simDriver, useSimDriver, type SimDriver } from './sim-helpers.js';

const setup = useSimDriver();

describe('lifecycle and boot', () => {
  it('launches, starts, runs, boots on the warped clock, quits', async () => {
    const { ld, home } = setup({ bootMs: 60_000 });
    const index = await ld.add('Farm A');
    expect(await ld.bootCompleted({ index })).toBe(false);
    await ld.launch({ index });
    const starting = await ld.instance({ index });
    expect(starting?.state).toBe('starting');
    expect(starting?.processesUp).toBe(true);
    expect(await ld.bootCompleted({ index })).toBe(false);

    const booted = ld.waitBooted({ index }, { timeoutMs: 20_000, pollMs: 100 });
    home.advanceClock(61_000);
    await booted;
    expect((await ld.instance({ index }))?.state).toBe('running');
    expect(await ld.runninglist()).toEqual(['Farm A']);

    await ld.reboot({ index });
    await ld.quit({ index });
    const stopped = await ld.instance({ index });
    expect([stopped?.state, stopped?.playerPid, stopped?.vboxPid, stopped?.topHwnd]).toEqual(['stopped', -1, -1, 0]);
  });

  it('gives up waiting for boot with a timeout error', async () => {
    const { ld } = setup({ bootMs: 600_000 });
    await ld.add();
    await ld.launch({ index: 0 });
    const error = await failureOf(ld.waitBooted({ index: 0 }, { timeoutMs: 600, pollMs: 100 }));
    expect([error.code, error.category]).toEqual(['boot_timeout', 'timeout']);
  });

  it('launchex starts the app; quitall stops everything', async () => {
    const { ld, home } = setup({ bootMs: 0 });
    home.seed([{ name: 'A', installedApps: ['com.example.app'] }, { name: 'B', running: true }]);
    await ld.launchex({ index: 0 }, 'com.example.app');
    await ld.waitBooted({ index: 0 }, { timeoutMs: 5_000, pollMs: 50 });
    expect((await ld.shell({ index: 0 }, 'pidof com.example.app')).trim()).toMatch(/^\d+$/);
    await ld.quitall();
    expect((await ld.list2()).every((row) => row.state === 'stopped')).toBe(true);
  });
});

describe('queries, adb and device commands on a running instance', () => {
  async function running(): Promise<{ ld: LdConsole; driver: SimDriver }> {
    const driver = setup({ bootMs: 0 });
    driver.home.seed([{ name: 'Box', running: true }]);
    return { ld: driver.ld, driver };
  }

  it('getprop, list3, isrunning, shell, screenshot', async () => {
    const { ld } = await running();
    expect(await ld.getprop({ index: 0 }, 'sys.boot_completed')).toBe('1');
    expect(await ld.getprop({ index: 0 }, 'ro.product.model')).toBe('SM-S9110');
    expect((await ld.getprop({ index: 0 })).length).toBeGreaterThan(0);
    expect(await ld.list3({ index: 0 })).toMatch(/^0,Box,/);
    expect(await ld.isrunning({ index: 0 })).toBe(true);
    expect(await ld.shell({ index: 0 }, 'echo hello "a b"')).toMatch(/hello/);
    const png = await ld.screenshot({ index: 0 });
    expect(isPng(png)).toBe(true);
    expect(await ld.bootCompleted({ index: 0 })).toBe(true);
  });

  it('apps: install from a file, run, kill, back up, restore, uninstall', async () => {
    const { ld, driver } = await running();
    const apk = driver.home.writeTestApk(join(driver.home.dir, 'apks', 'demo.apk'), 'com.example.demo');
    await ld.installapp({ index: 0 }, { file: apk });
    expect(await ld.shell({ index: 0 }, 'pm list packages')).toMatch(/com\.example\.demo/);
    await ld.runapp({ index: 0 }, 'com.example.demo');
    await ld.killapp({ index: 0 }, 'com.example.demo');
    const backup = join(driver.home.dir, 'demo.bak');
    await ld.backupapp({ index: 0 }, 'com.example.demo', backup);
    await ld.restoreapp({ index: 0 }, 'com.example.demo', backup);
    await ld.uninstallapp({ index: 0 }, 'com.example.demo');
    expect(await ld.shell({ index: 0 }, 'pm list packages')).not.toMatch(/com\.example\.demo/);
    const bad = join(driver.home.dir, 'bad.apk');
    writeFileSync(bad, 'not an apk');
    expect((await failureOf(ld.installapp({ index: 0 }, { file: bad }))).code).toBe('failed');
  });

  it('push, pull, setprop, locate, every action, downcpu, scan, windows, macros, globalsetting', { timeout: 90_000 }, async () => {
    const { ld, driver } = await running();
    const local = join(driver.home.dir, 'up.txt');
    writeFileSync(local, 'payload');
    await ld.push({ index: 0 }, { local, remote: '/sdcard/up.txt' });
    const back = join(driver.home.dir, 'down.txt');
    await ld.pull({ index: 0 }, { remote: '/sdcard/up.txt', local: back });
    expect(existsSync(back)).toBe(true);

    await ld.setprop({ index: 0 }, 'ldfleet.test', 'yes');
    expect(await ld.getprop({ index: 0 }, 'ldfleet.test')).toBe('yes');
    await ld.locate({ index: 0 }, { latitude: 31.23, longitude: 121.47 });
    expect(driver.home.readConfig(0)?.['statusSettings.location']).toEqual({ longitude: 121.47, latitude: 31.23 });

    await ld.action({ index: 0 }, { key: 'call.keyboard', value: 'back' });
    await ld.action({ index: 0 }, { key: 'call.input', value: '양파 雷电 "x"' });
    await ld.action({ index: 0 }, { key: 'call.locate', value: { latitude: 10, longitude: 20 } });
    expect(driver.home.readConfig(0)?.['statusSettings.location']).toEqual({ longitude: 20, latitude: 10 });
    await ld.action({ index: 0 }, { key: 'call.shake' });
    await ld.action({ index: 0 }, { key: 'call.network', value: 'offline' });
    await ld.action({ index: 0 }, { key: 'call.gravity', value: { x: 0, y: 9.8, z: 0 } });
    await ld.action({ index: 0 }, { key: 'call.capture' });
    await ld.action({ index: 0 }, { key: 'call.reboot', value: null });
    await ld.action({ index: 0 }, { key: 'call.exit' });
    expect(await ld.isrunning({ index: 0 })).toBe(false);
    await ld.launch({ index: 0 });

    await ld.downcpu({ index: 0 }, 50);
    await ld.scan({ index: 0 }, join(driver.home.dir, 'qr.png'));
    await ld.sortWnd();
    await ld.zoomIn();
    await ld.zoomOut({ index: 0 });
    await ld.rock();
    await ld.globalsetting({ fps: 30, audio: true, fastPlay: false, cleanMode: true });
    expect(driver.home.readGlobalConfig()?.framesPerSecond).toBe(30);

    const record = { recordInfo: { recordName: 'tap', loopTimes: 1 }, operations: [] };
    expect(await ld.operaterecord({ index: 0 }, record)).toEqual({ code: 0 });
    const folder = join(driver.home.dir, 'vms', 'operationRecords');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'tap.record'), JSON.stringify(record));
    expect(await ld.operatelist({ index: 0 })).toEqual([{ file: 'tap.record', info: record.recordInfo }]);
    expect(await ld.operateinfo({ index: 0 }, 'tap.record')).toEqual({ file: 'tap.record', info: record.recordInfo });
  });

  it('backs up and restores an instance', async () => {
    const { ld, driver } = await running();
    await ld.quit({ index: 0 });
    const file = join(driver.home.dir, 'box.ldbk');
    await ld.backup({ index: 0 }, file);
    expect(existsSync(file)).toBe(true);
    await ld.restore({ index: 0 }, file);
  });
});

describe('modify', () => {
  it('writes every setting, confirmed by the config read-back', async () => {
    const { ld } = setup();
    await ld.add();
    const settings = { ...FULL_SETTINGS, mac: '00DB48FD6270', lockWindow: true } as const;
    await ld.modify({ index: 0 }, settings);
    const actual = await ld.settings({ index: 0 });
    expect(actual).toMatchObject({ ...settings, mac: '00DB48FD6270' });
    expect((await ld.instance({ index: 0 }))?.resolution).toEqual(settings.resolution);
  });

  it('generates identity values for auto', async () => {
    const { ld } = setup();
    await ld.add();
    const before = await ld.settings({ index: 0 });
    await ld.modify({ index: 0 }, { imei: 'auto', mac: 'auto', androidId: 'auto' });
    const after = await ld.settings({ index: 0 });
    expect(after.imei).toMatch(/^\d{15}$/);
    expect(after.imei).not.toBe(before.imei);
  });

  it('reads fresh-instance defaults from list2 where the config has no advancedSettings', async () => {
    const { ld, home } = setup({ locale: 'cn' });
    await ld.add();
    expect(home.readConfig(0)?.['advancedSettings.cpuCount']).toBeUndefined();
    expect((await ld.settings({ index: 0 })).resolution).toEqual({ width: 540, height: 960, dpi: 240 });
    expect((await ld.readConfig(0)).defaulted).toContain('cpu');
  });
});

describe('error paths', () => {
  it('not_found for a missing selector, from stdout (player don\'t exist!) and from list2', async () => {
    const { ld, home } = setup();
    await ld.add();
    for (const call of [
      () => ld.launch({ index: 7 }),
      () => ld.quit({ name: 'nobody' }),
      () => ld.remove({ index: 7 }),
      () => ld.rename({ index: 7 }, 'x'),
      () => ld.modify({ index: 7 }, { cpu: 2 }),
      () => ld.getprop({ index: 7 }, 'ro.product.model'),
      () => ld.adb({ index: 7 }, 'shell echo 1'),
      () => ld.copy({ index: 7 }),
      () => ld.isrunning({ index: 7 }),
    ]) {
      const error = await failureOf(call());
      expect([error.code, error.category]).toEqual(['not_found', 'ldconsole']);
    }
    // The missing-index modify never reached ldconsole, where it would have been a silent no-op.
    expect(home.calls().some((record) => record.command === 'modify')).toBe(false);
    const launchError = await failureOf(ld.launch({ index: 7 }));
    expect(launchError.stdout).toMatch(/player don't exist!/);
    expect(launchError.exitCode).toBe(-617 & 0xff);
  });

  it('invalid_argument before spawning, and from parameter error!', async () => {
    const { ld, home } = setup();
    await ld.add();
    const before = home.calls().length;
    for (const settings of [{ cpu: 5 }, { memoryMb: 100 }, { imei: '123' }, { mac: '00:11:22:33:44:55' }, { resolution: { width: 0, height: 1, dpi: 1 } }]) {
      expect((await failureOf(ld.modify({ index: 0 }, settings as never))).code).toBe('invalid_argument');
    }
    expect(home.calls().length).toBe(before);
    home.setFaults([{ command: 'modify', output: 'parameter error!\r\n', exitCode: -1005 }]);
    const error = await failureOf(ld.modify({ index: 0 }, { cpu: 2 }));
    expect([error.code, error.exitCode, error.stdout.trim()]).toEqual(['invalid_argument', -1005 & 0xff, 'parameter error!']);
  });

  it('usage when the help text comes back', async () => {
    const { ld, home } = setup();
    await ld.add();
    home.setFaults([{ command: 'quit', output: 'dnplayer Command Line Management Interface\r\n    quit <--name mnq_name | --index mnq_idx>\r\n', exitCode: -1 }]);
    expect((await failureOf(ld.quit({ index: 0 }))).code).toBe('usage');
  });

  it('not_running for getprop and adb on a stopped instance (rc 0 in both cases)', async () => {
    const { ld } = setup();
    await ld.add();
    for (const call of [() => ld.getprop({ index: 0 }, 'ro.product.model'), () => ld.shell({ index: 0 }, 'echo 1'), () => ld.screenshot({ index: 0 })]) {
      const error = await failureOf(call());
      expect([error.code, error.category, error.exitCode]).toEqual(['not_running', 'conflict', 0]);
    }
    expect((await failureOf(ld.runapp({ index: 0 }, 'com.x'))).code).toBe('not_running');
  });

  it('busy for a copy while another copy runs', async () => {
    const { ld } = setup({ copyMs: 60_000 });
    await ld.add();
    expect(await ld.copy({ index: 0 })).toBe(1);
    const error = await failureOf(ld.copy({ index: 0 }));
    expect([error.code, error.category, error.exitCode]).toEqual(['busy', 'conflict', 3]);
  });

  it('no_effect when ldconsole claims success but nothing changed', async () => {
    const { ld, home } = setup();
    await ld.add();
    home.setFaults([
      { command: 'rename', output: '', exitCode: 0 },
      { command: 'modify', output: '', exitCode: 0 },
      { command: 'remove', output: '', exitCode: 0 },
      { command: 'add', output: '', exitCode: 0 },
    ]);
    expect((await failureOf(ld.rename({ index: 0 }, 'new'))).code).toBe('no_effect');
    expect((await failureOf(ld.modify({ index: 0 }, { cpu: 3 }))).code).toBe('no_effect');
    expect((await failureOf(ld.remove({ index: 0 }))).code).toBe('no_effect');
    expect((await failureOf(ld.add())).code).toBe('no_effect');
  });

  it('timeout for a hanging call, and the process is gone', async () => {
    const { ld, home } = setup({}, { timeoutMs: 1_000 });
    home.setFaults([{ command: 'list2', hang: true }]);
    const error = await failureOf(ld.list2());
    expect([error.code, error.category]).toEqual(['timeout', 'timeout']);
    // The tree kill is asynchronous: the processes are gone soon, not at once.
    await eventually(() => processesUsingHome(home.dir).length === 0, 5_000, 'the hung simulator to be gone');
  });

  it('spawn_failed when ldconsole is missing; output_too_large past the bound', async () => {
    const missing = simDriver({}, { path: '/nonexistent/ldconsole.exe' });
    const error = await failureOf(missing.ld.list2());
    expect([error.code, error.category]).toEqual(['spawn_failed', 'transport']);
    missing.cleanup();
    const small = simDriver({}, { maxOutputBytes: 64 });
    small.home.seed([{ name: 'a'.repeat(40) }, { name: 'b'.repeat(40) }]);
    expect((await failureOf(small.ld.list2())).code).toBe('output_too_large');
    small.cleanup();
  });
});
