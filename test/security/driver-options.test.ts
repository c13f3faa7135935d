/**
 * Defence in depth at the ldconsole driver (issue 12): a value that follows an option must not
 * start with `-`, or ldconsole would read `--name --index 3` as two options and act on another
 * instance. Refused before any process is spawned.
 */
import { describe, expect, it } from 'vitest';
import type { ExecResult, Executor } from '../../src/exec/index.js';
import { LdConsole, isLdConsoleError, modifyArgs } from '../../src/ldconsole/index.js';

/** Records every spawn; answers list2 with one stopped instance. */
function recordingExecutor(): Executor & { spawned: string[][] } {
  const spawned: string[][] = [];
  return {
    spawned,
    run(_file, args): Promise<ExecResult> {
      spawned.push([...args]);
      const stdout = args[0] === 'list2' ? '0,LDPlayer,0,0,0,-1,-1,540,960,240\r\n' : '';
      return Promise.resolve({ exitCode: 0, signal: null, stdout: Buffer.from(stdout), stderr: Buffer.alloc(0), timedOut: false, truncated: false, durationMs: 1 });
    },
  };
}

const refused = async (work: () => Promise<unknown>) => {
  const error = await work().then(() => undefined, (thrown: unknown) => thrown);
  expect(isLdConsoleError(error, 'invalid_argument'), String(error)).toBe(true);
};

describe('option values starting with "-"', () => {
  it('are refused for names, titles and package names before anything runs', async () => {
    const executor = recordingExecutor();
    const ld = new LdConsole({ executor, path: 'ldconsole.exe' });
    await refused(() => ld.add('--index 3'));
    await refused(() => ld.add('-x'));
    await refused(() => ld.copy({ index: 0 }, '--from 1'));
    await refused(() => ld.copy({ name: '-evil' }, 'clone'));
    await refused(() => ld.launch({ name: '--index' }));
    await refused(() => ld.rename({ index: 0 }, '--title'));
    await refused(() => ld.runapp({ index: 0 }, '--index'));
    await refused(() => ld.installapp({ index: 0 }, { packageName: '-com.example' }));
    expect(executor.spawned.filter((args) => args[0] !== 'list2')).toEqual([]);
  });

  it('are refused for the model and the manufacturer, which the API passes to modify', () => {
    expect(() => modifyArgs({ model: '--cpu' })).toThrow(/must not|not starting with "-"/);
    expect(() => modifyArgs({ manufacturer: '-samsung' })).toThrow(/not starting with "-"/);
    expect(modifyArgs({ model: 'SM-S9110', manufacturer: 'samsung' })).toEqual(['--manufacturer', 'samsung', '--model', 'SM-S9110']);
  });

  it('still pass a "-" inside a value, verbatim as one argument', async () => {
    const executor = recordingExecutor();
    const ld = new LdConsole({ executor, path: 'ldconsole.exe' });
    await ld.launch({ name: 'farm-01 -x' });
    expect(executor.spawned).toContainEqual(['launch', '--name', 'farm-01 -x']);
  });
});
