/**
 * adb work runs LDPlayer's own adb with an argv array (issue 12): the guest command is one
 * argument after `-s <serial> shell`, so no host shell (cmd.exe) ever parses it, whatever it
 * holds. Checked with a recording stand-in for adb.exe, then with the simulator's `adb-sim`.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locateLdPlayer } from '../../src/agent/index.js';
import { LocalExecutor } from '../../src/exec/index.js';
import { LdConsole, isPng } from '../../src/ldconsole/index.js';
import { SIM_BIN, SimHome } from '../../src/sim/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ldfleet-adb-argv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const recorder = join(dir, 'adb-recorder');
writeFileSync(recorder, '#!/usr/bin/env node\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
chmodSync(recorder, 0o755);

describe('adb through an argv array', () => {
  it('passes a hostile guest command as one argument after -s <serial> shell', async () => {
    const ld = new LdConsole({ executor: new LocalExecutor(), path: '/nonexistent/ldconsole.exe', adbPath: recorder });
    const hostile = 'echo a & calc.exe | "x" ^& %PATH% $(id) `id`';
    const { output, exitCode } = await ld.shellStatus({ index: 1 }, hostile);
    expect(exitCode).toBeNull(); // the recorder is no shell: no status line came back
    expect(JSON.parse(output)).toEqual(['-s', 'emulator-5556', 'shell', `(${hostile}); echo __ldfleet_exit_status=$?`]);
  });

  it('finds the simulator adb beside its bin, and runs shell and screenshots through it', async () => {
    const home = SimHome.create(join(dir, 'home'));
    const [index] = home.seed([{ running: true }]);
    const location = await locateLdPlayer({ executor: new LocalExecutor(), ldconsole: SIM_BIN, env: { LDFLEET_SIM_HOME: home.dir } });
    expect(location.adbPath).toBe(join(dirname(SIM_BIN), 'adb-sim'));
    const ld = new LdConsole({ executor: new LocalExecutor(), path: SIM_BIN, installDir: home.dir, env: home.env(), adbPath: location.adbPath! });
    expect(await ld.shellStatus({ index: index! }, 'echo "a & b" && exit 5')).toEqual({ output: 'a & b\r\n', exitCode: 5 });
    expect(isPng(await ld.screenshot({ index: index! }))).toBe(true);
    const adbCalls = home.calls().filter((call) => call.command === 'adb.exe');
    expect(adbCalls.map((call) => call.args.slice(0, 3))).toEqual([
      ['-s', 'emulator-5554', 'shell'],
      ['-s', 'emulator-5554', 'exec-out'],
    ]);
    // adb's own errors come on stderr with exit code 1, as from adb.exe.
    await ld.quit({ index: index! });
    await expect(ld.shellStatus({ index: index! }, 'echo hi')).rejects.toMatchObject({ code: 'not_running' });
  });
});
