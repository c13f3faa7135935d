/**
 * The simulator's failure modes (issue 15), each off by default and switchable per home, through
 * the spawned `ldconsole-sim` exactly as the agent calls it.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crlf, newHome, sim } from './helpers.js';

const adbShell = (index: number, script: string) => ['adb', '--index', String(index), '--command', `shell ${script}`];

describe('LDFLEET_SIM_ADB_DEFAULT=0', () => {
  it('add and copy create instances with ADB off; adb says device offline until the config says 1 and the instance restarts', async () => {
    const home = newHome({ bootMs: 0 });
    const env = { LDFLEET_SIM_ADB_DEFAULT: '0' };
    const added = await sim(home, ['add', '--name', 'fresh'], env);
    expect(home.readConfig(added.code)?.['basicSettings.adbDebug']).toBe(0);
    const copied = await sim(home, ['copy', '--name', 'clone', '--from', String(added.code)], env);
    expect(home.readConfig(copied.code)?.['basicSettings.adbDebug']).toBe(0);

    await sim(home, ['launch', '--index', String(added.code)], env);
    expect((await sim(home, adbShell(added.code, 'getprop sys.boot_completed'), env)).text).toBe(crlf('error: device offline'));
    // Edited while running: LDPlayer read the value at launch.
    const config = home.readConfig(added.code)!;
    writeFileSync(`${home.dir}/vms/config/leidian${added.code}.config`, JSON.stringify({ ...config, 'basicSettings.adbDebug': 1 }));
    expect((await sim(home, adbShell(added.code, 'getprop sys.boot_completed'), env)).text).toBe(crlf('error: device offline'));
    await sim(home, ['quit', '--index', String(added.code)], env);
    await sim(home, ['launch', '--index', String(added.code)], env);
    expect((await sim(home, adbShell(added.code, 'getprop sys.boot_completed'), env)).text).toBe(crlf('1'));
  });

  it('is off by default: new instances have ADB on', async () => {
    const home = newHome();
    const added = await sim(home, ['add']);
    expect(home.readConfig(added.code)?.['basicSettings.adbDebug']).toBe(1);
  });
});

describe('a dropped launch', () => {
  it('exits 0, prints nothing and starts nothing: list2 keeps showing the instance stopped', async () => {
    const home = newHome();
    home.seed([{}]);
    home.setFaults([{ command: 'launch', output: '', exitCode: 0, times: 1 }]);
    const dropped = await sim(home, ['launch', '--index', '0']);
    expect(dropped).toMatchObject({ code: 0, text: '' });
    expect((await sim(home, ['list2'])).text).toBe(crlf('0,LDPlayer,0,0,0,-1,-1,1600,900,240'));
    await sim(home, ['launch', '--index', '0']);
    expect((await sim(home, ['list2'])).text).toMatch(/^0,LDPlayer,\d+,\d+,2,/);
  });
});

describe('a boot that never completes', () => {
  it('comes up in list2 but never sets sys.boot_completed for the given index', async () => {
    const home = newHome({ bootMs: 0 });
    home.seed([{ running: true }, { running: true }]);
    const env = { LDFLEET_SIM_HANG_BOOT: '1' };
    expect((await sim(home, ['list2'], env)).text).toMatch(/\r\n1,LDPlayer-1,\d+,\d+,1,/);
    expect((await sim(home, adbShell(1, 'getprop sys.boot_completed'), env)).text).toBe(crlf(''));
    expect((await sim(home, adbShell(0, 'getprop sys.boot_completed'), env)).text).toBe(crlf('1'));
    home.advanceClock(3_600_000);
    expect((await sim(home, adbShell(1, 'getprop sys.boot_completed'), env)).text).toBe(crlf(''));
  });
});

describe('a foreign adb', () => {
  it('persistent: every adb call fails with the version mismatch, also after kill-server', async () => {
    const home = newHome();
    home.seed([{ running: true }]);
    const env = { LDFLEET_SIM_ADB_FIGHT: 'persistent' };
    expect((await sim(home, adbShell(0, 'echo hi'), env)).text).toMatch(/adb server version \(\d+\) doesn't match this client/);
    await sim(home, ['adb', '--index', '0', '--command', 'kill-server'], env);
    expect((await sim(home, adbShell(0, 'echo hi'), env)).text).toMatch(/unknown data/);
  });

  it('transient (switched on for the home while running): ends at the next kill-server', async () => {
    const home = newHome();
    home.seed([{ running: true }]);
    expect((await sim(home, adbShell(0, 'echo hi'))).text).toBe(crlf('hi'));
    home.setModes({ adbFight: 'transient' });
    expect((await sim(home, adbShell(0, 'echo hi'))).text).toMatch(/doesn't match this client/);
    await sim(home, ['adb', '--index', '0', '--command', 'kill-server']);
    expect((await sim(home, adbShell(0, 'echo hi'))).text).toBe(crlf('hi'));
  });
});

describe('the adb shell', () => {
  it('runs lists with ;, &&, ||, groups and $?, and refuses unknown commands with 127', async () => {
    const home = newHome();
    home.seed([{ running: true }]);
    const run = async (script: string) => (await sim(home, adbShell(0, script))).text;
    expect(await run('echo a; echo b')).toBe(crlf('a', 'b'));
    expect(await run('false && echo no || echo "status $?"')).toBe(crlf('status 1'));
    expect(await run('(exit 4); echo $?')).toBe(crlf('4'));
    expect(await run("nosuch; echo $?")).toBe(crlf('/system/bin/sh: nosuch: not found', '127'));
    expect(await run("echo 'single $?' \"double $?\"")).toBe(crlf('single $? double 0'));
    expect(await run('ls /')).toBe(crlf('data', 'sdcard', 'system'));
  });
});
