import { execFile } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SIM_BIN } from '../../src/sim/index.js';
import { byte, crlf, newHome, sim } from './helpers.js';

describe.concurrent('ldconsole-sim: concurrency, faults, call log', { timeout: 120_000 }, () => {
  it('20 parallel adds get 20 distinct indexes and leave every config intact', async () => {
    const home = newHome();
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => sim(home, ['add', '--name', `p${i}`])));
    const indexes = runs.map((run) => run.code).sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 0; i < 20; i++) expect(home.readConfig(i)!['statusSettings.playerName']).toMatch(/^p\d+$/);
    const names = new Set(Array.from({ length: 20 }, (_, i) => home.readConfig(i)!['statusSettings.playerName']));
    expect(names.size).toBe(20);
    expect((await sim(home, ['list2'])).text.split('\r\n').filter(Boolean)).toHaveLength(20);
  });

  it('fails the next N calls of a command, then behaves normally; times is consumed atomically', async () => {
    const home = newHome();
    home.seed([{}]);
    home.setFaults([{ command: 'launch', times: 2, output: 'boom', exitCode: 7 }]);
    const failures = await Promise.all([0, 1, 2].map(() => sim(home, ['launch', '--index', '0'])));
    const failed = failures.filter((run) => run.code === 7);
    expect(failed).toHaveLength(2);
    for (const run of failed) expect(run.text).toBe(crlf('boom'));
    expect(home.faults().rules).toEqual([]);
    expect((await sim(home, ['isrunning', '--index', '0'])).text).toBe(crlf('running'));
  });

  it('matches faults by index, slows every call, and replaces output from the env', async () => {
    const home = newHome();
    home.seed([{}, {}]);
    home.setFaults([{ command: 'quit', index: 1, exitCode: byte(-617), output: "player don't exist!" }], 200);
    expect((await sim(home, ['quit', '--index', '0'])).code).toBe(0);
    expect((await sim(home, ['quit', '--index', '1'])).code).toBe(byte(-617));
    const slow = home.calls().at(-1)!;
    expect(slow.end - slow.start).toBeGreaterThanOrEqual(200);
    const env = { LDFLEET_SIM_FAULTS: JSON.stringify([{ command: 'list2', output: 'garbage' }]) };
    expect((await sim(home, ['list2'], env)).text).toBe(crlf('garbage'));
  });

  it('a hanging call is killable by a timeout, and a crash drops a running instance to stopped', async () => {
    const home = newHome();
    home.seed([{ running: true }, { running: true }]);
    home.setFaults([{ command: 'list2', times: 1, hang: true }]);
    const { execFile } = await import('node:child_process');
    const { SIM_BIN } = await import('../../src/sim/index.js');
    const child = execFile(SIM_BIN, ['list2'], { env: home.env() });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Wait for the event (the hang rule consumed), not for a guessed duration.
    await expect.poll(() => home.faults().rules, { timeout: 30_000, interval: 50 }).toEqual([]);
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect((await sim(home, ['list2'])).text.split('\r\n').filter(Boolean)).toHaveLength(2); // the lock was not left behind
    home.setFaults([{ command: 'isrunning', times: 1, crashIndex: 1 }]);
    expect((await sim(home, ['isrunning', '--index', '1'])).text).toBe(crlf('stop'));
    expect((await sim(home, ['isrunning', '--index', '0'])).text).toBe(crlf('running'));
    home.setFaults([{ command: 'list2', times: 1, hang: true, hangMs: 300 }]);
    expect((await sim(home, ['list2'])).code).toBe(0);
  });

  it('logs one JSON line per call with pid, args, index, wall and warped times and the signed exit code', async () => {
    const home = newHome();
    home.seed([{}]);
    home.advanceClock(3_600_000);
    await sim(home, ['launch', '--index', '0']);
    await sim(home, ['remove', '--index', '4']);
    await sim(home, ['add']);
    const calls = home.calls();
    expect(calls.map((call) => call.command)).toEqual(['launch', 'remove', 'add']);
    expect(calls[0]).toMatchObject({ args: ['--index', '0'], index: 0, exitCode: 0 });
    expect(calls[1]).toMatchObject({ index: 4, exitCode: -617 });
    expect(calls[2]).toMatchObject({ index: 1, exitCode: 1 });
    for (const call of calls) {
      expect(call.pid).toBeGreaterThan(0);
      expect(call.end).toBeGreaterThanOrEqual(call.start);
      expect(call.simStart - call.start).toBeGreaterThanOrEqual(3_600_000 - 50);
    }
  });

  it('treats a symlinked ldconsole.exe in a home with vms/ as that install', async () => {
    const home = newHome();
    home.seed([{ name: 'linked' }]);
    const exe = join(home.dir, 'ldconsole.exe');
    symlinkSync(SIM_BIN, exe);
    const env = { ...process.env, LDFLEET_SIM_HOME: '' };
    const { stdout } = await promisify(execFile)(exe, ['list'], { env });
    expect(stdout).toBe(crlf('linked'));
  });
});
