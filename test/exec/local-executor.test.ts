import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExecError, LocalExecutor } from '../../src/exec/index.js';

const node = process.execPath;
const executor = new LocalExecutor();

/**
 * Runs an inline node script through the real executor. `--` ends node's own options: without it
 * node parses an argument such as `- ` or `--version` itself instead of handing it to the script.
 */
function runScript(script: string, args: readonly string[] = [], options: Partial<Parameters<LocalExecutor['run']>[2]> = {}) {
  return executor.run(node, ['-e', script, '--', ...args], { timeoutMs: 10_000, ...options });
}

/** True while the pid exists and is not a zombie waiting for a (possibly absent) reaper. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (_gone) {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (_noProcfs) {
    return true;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return condition();
}

describe('LocalExecutor', () => {
  it('reports the exit code and separates stdout from stderr', async () => {
    const result = await runScript('process.stdout.write("out"); process.stderr.write("err"); process.exit(7)');
    expect(result.exitCode).toBe(7);
    expect(result.signal).toBeNull();
    expect(result.stdout.toString()).toBe('out');
    expect(result.stderr.toString()).toBe('err');
    expect(result.timedOut).toBe(false);
    expect(result.truncated).toBe(false);
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('keeps binary stdout byte for byte', async () => {
    const result = await runScript('const b = Buffer.alloc(256 * 64); for (let i = 0; i < b.length; i++) b[i] = i % 256; process.stdout.write(b)');
    const expected = Buffer.alloc(256 * 64);
    for (let i = 0; i < expected.length; i++) expected[i] = i % 256;
    expect(result.exitCode).toBe(0);
    expect(result.stdout.equals(expected)).toBe(true);
  });

  it('kills the process and its children on timeout', async () => {
    // The child starts a grandchild, prints its pid, then both sleep forever.
    const script = `
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      process.stdout.write(String(grandchild.pid));
      setInterval(() => {}, 1000);`;
    const result = await runScript(script, [], { timeoutMs: 500 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
    const grandchildPid = Number(result.stdout.toString());
    expect(grandchildPid).toBeGreaterThan(0);
    expect(await waitUntil(() => !isAlive(grandchildPid), 2_000)).toBe(true);
  });

  it('does not wait for a grandchild that keeps the pipes open after the child exits', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 3000)'], { stdio: 'inherit' });
      grandchild.unref();
      process.stdout.write('launched');`;
    const result = await runScript(script);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe('launched');
    expect(result.durationMs).toBeLessThan(2_500);
  });

  it('stops collecting and kills past maxOutputBytes', async () => {
    const result = await runScript('const chunk = "x".repeat(4096); setInterval(() => process.stdout.write(chunk), 1)', [], {
      maxOutputBytes: 10_000,
    });
    expect(result.truncated).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(result.stdout.length).toBe(10_000);
  });

  it('rejects with ExecError spawn_failed for a missing program', async () => {
    const failure = executor.run('/definitely/not/here/ldconsole.exe', [], { timeoutMs: 1_000 });
    await expect(failure).rejects.toBeInstanceOf(ExecError);
    await expect(failure).rejects.toMatchObject({ code: 'spawn_failed', syscallCode: 'ENOENT' });
  });

  it('aborts through an AbortSignal and kills the child', async () => {
    const controller = new AbortController();
    const run = runScript('process.stdout.write(String(process.pid)); setInterval(() => {}, 1000)', [], { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(runScript('', [], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('passes env and cwd', async () => {
    const result = await runScript('process.stdout.write(process.env.LDFLEET_PROBE + "|" + process.cwd())', [], {
      env: { LDFLEET_PROBE: 'hello' },
      cwd: '/',
    });
    expect(result.stdout.toString()).toBe('hello|/');
  });

  const echoArgs = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';

  it('passes hostile arguments verbatim, without a shell', async () => {
    const hostile = ['a b', '"quoted"', "it's", 'a&b', '%PATH%', 'x;rm -rf /', '$(id)', '`id`', '雷电模拟器-1', 'Эмулятор', '', ' ', '\\"\\', 'a\\', '*', '|', '>out', '- ', '-e', '--', '--version', '-'];
    const result = await runScript(echoArgs, hostile);
    expect(JSON.parse(result.stdout.toString())).toEqual(hostile);
  });

  it('passes arbitrary strings verbatim (property)', async () => {
    // NUL cannot be part of an argv entry on any OS; everything else must survive.
    const argument = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\0'));
    await fc.assert(
      fc.asyncProperty(fc.array(argument, { maxLength: 5 }), async (args) => {
        const result = await runScript(echoArgs, args);
        expect(JSON.parse(result.stdout.toString())).toEqual(args);
      }),
      { numRuns: 40 },
    );
  });
});

describe('LocalExecutor under a lagging event loop', () => {
  /** Blocks this process's event loop for `ms` at every turn, as a saturated agent host does. */
  function lagEventLoop(ms: number): () => void {
    const timer = setInterval(() => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        // busy: nothing else in this process runs meanwhile
      }
    }, 1);
    return () => clearInterval(timer);
  }

  it('keeps every byte a child wrote before it exited, however late the pipe is read', async () => {
    // Many short children at once, as an agent polling list2 on a saturated host runs them.
    const stopLag = lagEventLoop(400);
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          executor.run(node, ['-e', `process.stdout.write('row ${index}\\r\\n'.repeat(50))`], { timeoutMs: 120_000 }),
        ),
      );
      results.forEach((result, index) => {
        expect(result.exitCode).toBe(0);
        expect(result.stdout.toString()).toBe(`row ${index}\r\n`.repeat(50));
      });
    } finally {
      stopLag();
    }
  });
});
