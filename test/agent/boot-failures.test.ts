/**
 * The boot failures a farm meets (issue 15), each reproduced by the spawned simulator and won
 * by the agent's RPC side: ADB debugging off, dropped launches, launch spacing, hung boots,
 * fighting adb servers, and shell exit codes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ObservedInstance } from '../../src/protocol/index.js';
import { errorOf, newSimHome, resultOf, simAgentParts } from './helpers.js';

const BOOT = { bootMs: 100, androidLagMs: 0 };

describe('ADB readiness', () => {
  it('a create on a home whose new instances have ADB off, then a start, succeeds', async () => {
    const home = newSimHome({ ...BOOT });
    home.setModes({ adbDefault: 0 });
    const { call } = simAgentParts(home);
    const created = resultOf(await call('create', { name: 'fresh' })) as ObservedInstance;
    // The agent turned ADB on while the new instance was still stopped.
    expect(home.readConfig(created.index)?.['basicSettings.adbDebug']).toBe(1);
    const started = resultOf(await call('start', { index: created.index, bootTimeoutMs: 15_000 })) as ObservedInstance;
    expect(started).toMatchObject({ state: 'running', booted: true });
  });

  it('turns ADB on before a start, keeping every key, the BOM and the CRLF layout of the file', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{ name: 'cloned', settings: { 'basicSettings.adbDebug': 0, 'statusSettings.playerName': '雷电-克隆' } }]);
    const file = `${home.dir}/vms/config/leidian${index}.config`;
    const original = `\uFEFF${JSON.stringify(home.readConfig(index!), null, 4).replace(/\n/g, '\r\n')}`;
    writeFileSync(file, original, 'utf8');
    const { call } = simAgentParts(home);
    resultOf(await call('start', { index, bootTimeoutMs: 15_000 }));
    const after = readFileSync(file, 'utf8');
    expect(after).toBe(original.replace('"basicSettings.adbDebug": 0', '"basicSettings.adbDebug": 1'));
  });

  it('a running instance whose ADB is off fails adb_disabled within seconds, not after the boot timeout', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{ running: true, settings: { 'basicSettings.adbDebug': 0 } }]);
    const { call } = simAgentParts(home);
    const began = Date.now();
    const error = errorOf(await call('start', { index, bootTimeoutMs: 180_000 }, 200_000));
    expect(error).toMatchObject({ category: 'ldconsole', code: 'adb_disabled' });
    expect(error.message).toMatch(/ADB debugging/);
    expect(Date.now() - began).toBeLessThan(15_000);
    expect(errorOf(await call('shell', { index, command: 'echo hi' }))).toMatchObject({ code: 'adb_disabled' });
  });
});

describe('dropped launches', () => {
  it('a launch LDPlayer ignores is sent again, and the start succeeds', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{}]);
    home.setFaults([{ command: 'launch', output: '', exitCode: 0, times: 2 }]);
    const { call } = simAgentParts(home, {}, { launchConfirmMs: 1_000 });
    const started = resultOf(await call('start', { index, bootTimeoutMs: 15_000 })) as ObservedInstance;
    expect(started).toMatchObject({ state: 'running', booted: true });
    expect(home.calls().filter((record) => record.command === 'launch')).toHaveLength(3);
  });

  it('fails launch_ignored once the retries are spent', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{}]);
    home.setFaults([{ command: 'launch', output: '', exitCode: 0 }]);
    const { call } = simAgentParts(home, {}, { launchConfirmMs: 500, launchRetries: 2 });
    expect(errorOf(await call('start', { index, bootTimeoutMs: 15_000 }))).toMatchObject({ category: 'ldconsole', code: 'launch_ignored' });
    expect(home.calls().filter((record) => record.command === 'launch')).toHaveLength(3);
  });
});

describe('launch spacing', () => {
  it('two launches on one host are never closer than the interval in the simulator call log', async () => {
    const home = newSimHome({ ...BOOT });
    const indexes = home.seed([{}, {}, {}, {}]);
    const { call } = simAgentParts(home);
    const intervalMs = 700;
    const results = await Promise.all(indexes.map((index) => call('start', { index, bootTimeoutMs: 20_000, launchIntervalMs: intervalMs }, 40_000)));
    for (const result of results) resultOf(result);
    const launches = home.calls().filter((record) => record.command === 'launch').sort((a, b) => a.start - b.start);
    expect(launches).toHaveLength(4);
    for (let i = 1; i < launches.length; i++) {
      expect(launches[i]!.start - launches[i - 1]!.start).toBeGreaterThanOrEqual(intervalMs);
    }
  });
});

describe('hung boots', () => {
  it('a boot that never completes is quit before the call fails boot_timeout, saying what it saw', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{}]);
    home.setModes({ hangBoot: [index!] });
    const { call, driver } = simAgentParts(home);
    const error = errorOf(await call('start', { index, bootTimeoutMs: 1_500 }));
    expect(error).toMatchObject({ category: 'timeout', code: 'boot_timeout' });
    expect(error.message).toMatch(/within 1500 ms/);
    expect(error.message).toMatch(/window up/);
    expect(error.message).toMatch(/sys\.boot_completed not 1/);
    expect(error.message).toMatch(/quit/);
    expect((await driver.instance({ index: index! }))?.state).toBe('stopped');
  });
});

describe('adb servers fighting', () => {
  it('a transient fight is won by restarting the adb server once', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{ running: true }]);
    home.setModes({ adbFight: 'transient' });
    const reports: (string | undefined)[] = [];
    const { call } = simAgentParts(home, {}, { onAdbHealth: (problem) => reports.push(problem) });
    expect(resultOf(await call('shell', { index, command: 'echo ok' }))).toEqual({ output: 'ok\r\n', exitCode: 0 });
    expect(home.calls().some((record) => record.args.includes('kill-server'))).toBe(true);
    expect(reports).toEqual([undefined]);
  });

  it('a persistent fight fails adb_conflict and is reported for the workstation status', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{ running: true }]);
    home.setModes({ adbFight: 'persistent' });
    const reports: (string | undefined)[] = [];
    const { call } = simAgentParts(home, {}, { onAdbHealth: (problem) => reports.push(problem) });
    expect(errorOf(await call('shell', { index, command: 'echo ok' }))).toMatchObject({ category: 'ldconsole', code: 'adb_conflict' });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/one adb on the PATH/);
  });
});

describe('shell exit codes', () => {
  it('returns the exit status of POSIX-style command lists', async () => {
    const home = newSimHome({ ...BOOT });
    const [index] = home.seed([{ running: true, installedApps: ['com.example.hello'] }]);
    const { call } = simAgentParts(home);
    const shell = async (command: string) => resultOf(await call('shell', { index, command }));
    expect(await shell('echo hello')).toEqual({ output: 'hello\r\n', exitCode: 0 });
    expect(await shell('exit 3')).toEqual({ output: '', exitCode: 3 });
    expect(await shell('false || echo "recovered $?"')).toEqual({ output: 'recovered 1\r\n', exitCode: 0 });
    expect(await shell('false && echo never; echo $?')).toEqual({ output: '1\r\n', exitCode: 0 });
    expect(await shell('pm path com.example.hello && echo found')).toEqual({
      output: 'package:/data/app/com.example.hello-1/base.apk\r\nfound\r\n',
      exitCode: 0,
    });
    expect(await shell('ls /nowhere')).toEqual({ output: 'ls: /nowhere: No such file or directory\r\n', exitCode: 1 });
    expect(await shell('ls /system')).toEqual({ output: 'app\r\nbin\r\nbuild.prop\r\n', exitCode: 0 });
    expect(await shell('getprop ro.build.version.sdk')).toEqual({ output: '28\r\n', exitCode: 0 });
    expect(await shell('frobnicate now')).toEqual({ output: '/system/bin/sh: frobnicate: not found\r\n', exitCode: 127 });
  });
});
