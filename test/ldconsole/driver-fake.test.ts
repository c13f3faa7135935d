import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import type { ExecOptions, ExecResult, Executor } from '../../src/exec/index.js';
import { LdConsole } from '../../src/ldconsole/index.js';
import { failureOf } from './helpers.js';

/** One scripted reply of the fake ldconsole. */
interface Reply {
  stdout?: string | Buffer;
  exitCode?: number | null;
  timedOut?: boolean;
  truncated?: boolean;
}

/** An Executor that answers from a script and records every call. */
class ScriptedExecutor implements Executor {
  readonly calls: string[][] = [];
  constructor(private readonly replies: Reply[]) {}

  async run(_file: string, args: readonly string[], _options: ExecOptions): Promise<ExecResult> {
    this.calls.push([...args]);
    const reply = this.replies.shift();
    if (!reply) throw new Error(`unexpected call: ${args.join(' ')}`);
    const stdout = typeof reply.stdout === 'string' ? iconv.encode(reply.stdout, 'gbk') : (reply.stdout ?? Buffer.alloc(0));
    return {
      exitCode: reply.exitCode === undefined ? 0 : reply.exitCode,
      signal: null,
      stdout,
      stderr: Buffer.alloc(0),
      timedOut: reply.timedOut ?? false,
      truncated: reply.truncated ?? false,
      durationMs: 1,
    };
  }
}

const ROW0 = '0,雷电模拟器,0,0,0,-1,-1,540,960,240\r\n';
const ROW2 = '2,雷电模拟器-2,0,0,0,-1,-1,540,960,240\r\n';
const ROW1 = '1,Farm,0,0,0,-1,-1,540,960,240\r\n';

function driver(replies: Reply[]) {
  const executor = new ScriptedExecutor(replies);
  return { executor, ld: new LdConsole({ executor, path: 'ldconsole.exe' }) };
}

describe('add and copy confirmation', () => {
  it('trusts the exit code when list2 shows that index as new', async () => {
    const { ld } = driver([{ stdout: ROW0 + ROW2 }, { exitCode: 1 }, { stdout: ROW0 + ROW1 + ROW2 }]);
    expect(await ld.add('Farm')).toBe(1);
  });

  it('falls back to the list2 diff when the exit code is mangled (value & 0xFF, or 0)', async () => {
    const { ld } = driver([{ stdout: ROW0 + ROW2 }, { exitCode: 0 }, { stdout: ROW0 + ROW1 + ROW2 }]);
    expect(await ld.add()).toBe(1);
  });

  it('ignores an exit code that names an existing index', async () => {
    const { ld } = driver([{ stdout: ROW0 + ROW2 }, { exitCode: 2 }, { stdout: ROW0 + ROW1 + ROW2 }]);
    expect(await ld.copy({ index: 0 }, 'Farm')).toBe(1);
  });

  it('reports no_effect when nothing new appears', async () => {
    const { ld } = driver([{ stdout: ROW0 }, { exitCode: 0 }, { stdout: ROW0 }]);
    const error = await failureOf(ld.add());
    expect(error.code).toBe('no_effect');
  });

  it('reads a silent non-zero copy without a new instance as busy', async () => {
    const { ld } = driver([{ stdout: ROW0 }, { exitCode: 3 }, { stdout: ROW0 }]);
    const error = await failureOf(ld.copy({ index: 0 }));
    expect([error.code, error.category, error.exitCode]).toEqual(['busy', 'conflict', 3]);
  });

  it('reads the help text of a copy from a missing source as not_found', async () => {
    const help = 'dnplayer Command Line Management Interface\r\n    quit <--name mnq_name | --index mnq_idx>\r\n';
    const { ld } = driver([{ stdout: ROW0 }, { stdout: help, exitCode: 0xff & -616 }]);
    expect((await failureOf(ld.copy({ index: 9 }))).code).toBe('not_found');
  });
});

describe('error mapping', () => {
  it('maps stdout messages whatever the exit code says', async () => {
    const cases: [Reply, string][] = [
      [{ stdout: "player don't exist!\r\n", exitCode: 0xff & -617 }, 'not_found'],
      [{ stdout: "player don't exist!\r\n", exitCode: 0 }, 'not_found'],
      [{ stdout: 'dnplayer Command Line Management Interface\r\n', exitCode: 0 }, 'usage'],
      [{ stdout: 'player is not running!\r\n' }, 'not_running'],
      [{ stdout: 'something odd\r\n', exitCode: 5 }, 'failed'],
      [{ exitCode: null }, 'failed'],
      [{ timedOut: true, exitCode: null }, 'timeout'],
      [{ truncated: true }, 'output_too_large'],
    ];
    for (const [reply, code] of cases) {
      const { ld } = driver([reply]);
      const error = await failureOf(ld.launch({ index: 0 }));
      expect(error.code).toBe(code);
      expect(error.command).toBe('launch');
      expect(error.args).toEqual(['--index', '0']);
    }
  });

  it('maps parameter error! to invalid_argument', async () => {
    const { ld } = driver([{ stdout: ROW0 }, { stdout: 'parameter error!\r\n', exitCode: 0xff & -1005 }]);
    const error = await failureOf(ld.modify({ index: 0 }, { cpu: 2 }));
    expect([error.code, error.stdout.trim(), error.exitCode]).toEqual(['invalid_argument', 'parameter error!', 19]);
  });

  it('does not spawn for a modify of an index list2 does not show (ldconsole would no-op silently)', async () => {
    const { ld, executor } = driver([{ stdout: ROW0 }]);
    expect((await failureOf(ld.modify({ index: 4 }, { cpu: 2 }))).code).toBe('not_found');
    expect(executor.calls).toEqual([['list2']]);
  });

  it('does not spawn at all for invalid settings', async () => {
    const { ld, executor } = driver([]);
    expect((await failureOf(ld.modify({ index: 0 }, { cpu: 5 as 4 }))).code).toBe('invalid_argument');
    expect(executor.calls).toEqual([]);
  });

  it('treats getprop output on a stopped instance as not_running even with unknown wording', async () => {
    const { ld } = driver([{ stdout: 'some unknown error text\r\n' }, { stdout: ROW0 }]);
    expect((await failureOf(ld.getprop({ index: 0 }, 'ro.product.model'))).code).toBe('not_running');
  });

  it('maps an install failure printed with rc 0', async () => {
    const { ld } = driver([{ stdout: 'Failure [INSTALL_FAILED_INVALID_APK]\r\n' }]);
    expect((await failureOf(ld.installapp({ index: 0 }, { file: 'C:\\a.apk' }))).code).toBe('failed');
  });

  it('returns screenshots byte for byte and refuses non-PNG output', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from([0xff, 0x00, 0xfe, 0x80])]);
    const { ld } = driver([{ stdout: png }, { stdout: 'garbage' }]);
    expect((await ld.screenshot({ index: 0 })).equals(png)).toBe(true);
    expect((await failureOf(ld.screenshot({ index: 0 }))).code).toBe('failed');
  });
});

describe('titles are user text', () => {
  it('does not mistake titles that contain error words for errors', async () => {
    const rows = "0,player don't exist!,0,0,0,-1,-1,540,960,240\r\n1,not running mnq_name,0,0,0,-1,-1,540,960,240\r\n";
    const { ld } = driver([{ stdout: rows }, { stdout: "player is not running!\r\nmnq_idx\r\n" }]);
    expect((await ld.list2()).map((row) => row.title)).toEqual(["player don't exist!", 'not running mnq_name']);
    expect(await ld.runninglist()).toEqual(['player is not running!', 'mnq_idx']);
  });
});
