import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ExecError } from './errors.js';
import { killProcessTree } from './kill-tree.js';
import { BoundedBuffer } from './output-buffer.js';
import type { ExecOptions, ExecResult, Executor } from './types.js';

/** Default per-stream capture limit when the caller gives none. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * After the child exits, how long its pipes may stay quiet before we stop listening. A
 * grandchild that inherited stdout (ldconsole `launch` starting dnplayer, say) may hold the pipe
 * open for hours; the result must not wait for it.
 */
const PIPE_DRAIN_GRACE_MS = 250;

/** Why the executor itself ended the run, if it did. */
type KillReason = 'timeout' | 'overflow' | 'abort';

/** Runs programs on this machine, without a shell, killing the whole tree on timeout. */
export class LocalExecutor implements Executor {
  run(file: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted) {
      return Promise.reject(new ExecError('aborted', file, `run of ${file} aborted before it started`));
    }
    return new Promise((resolve, reject) => new LocalRun(file, args, options, resolve, reject).start());
  }
}

/** The state of one run: a child, its captured output and the timers that bound it. */
class LocalRun {
  private readonly stdout: BoundedBuffer;
  private readonly stderr: BoundedBuffer;
  private readonly startedAt = performance.now();
  private child: ChildProcess | undefined;
  private killReason: KillReason | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private exit: { code: number | null; signal: string | null } | undefined;
  private bytesSeen = 0;
  private settled = false;

  constructor(
    private readonly file: string,
    private readonly args: readonly string[],
    private readonly options: ExecOptions,
    private readonly resolve: (result: ExecResult) => void,
    private readonly reject: (error: ExecError) => void,
  ) {
    const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.stdout = new BoundedBuffer(limit);
    this.stderr = new BoundedBuffer(limit);
  }

  start(): void {
    let child: ChildProcess;
    try {
      child = spawn(this.file, [...this.args], {
        shell: false,
        // Own process group on POSIX so the whole tree can be signalled at once.
        detached: process.platform !== 'win32',
        // Keep node's own quoting: every argument arrives as exactly one argv entry.
        windowsVerbatimArguments: false,
        windowsHide: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(this.options.env ? { env: this.options.env } : {}),
        ...(this.options.cwd ? { cwd: this.options.cwd } : {}),
      });
    } catch (error) {
      this.fail(spawnError(this.file, error));
      return;
    }
    this.child = child;
    child.on('error', (error) => this.fail(spawnError(this.file, error)));
    child.stdout?.on('data', (chunk: Buffer) => this.collect(this.stdout, chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.collect(this.stderr, chunk));
    child.on('exit', (code, signal) => this.onExit(code, signal));
    child.on('close', () => this.finish());
    this.timeoutTimer = setTimeout(() => this.kill('timeout'), this.options.timeoutMs);
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => this.kill('abort');

  private collect(buffer: BoundedBuffer, chunk: Buffer): void {
    this.bytesSeen += chunk.length;
    if (!buffer.push(chunk)) this.kill('overflow');
  }

  private kill(reason: KillReason): void {
    if (this.killReason !== undefined || this.exit !== undefined) return;
    this.killReason = reason;
    const pid = this.child?.pid;
    if (pid !== undefined) killProcessTree(pid);
  }

  private onExit(code: number | null, signal: string | null): void {
    this.exit = { code, signal };
    this.stopListeningWhenQuiet();
  }

  /**
   * Normally the pipes close right after the exit and `close` finishes the run. Otherwise,
   * once they have been quiet for the grace time, whoever still holds them is not our child.
   * Quiet is judged after an I/O turn of the event loop: a lagging loop runs due timers before
   * that turn's reads, and output the child wrote before exiting must not be cut off.
   */
  private stopListeningWhenQuiet(): void {
    const bytesBefore = this.bytesSeen;
    this.drainTimer = setTimeout(() => {
      setImmediate(() => {
        if (this.settled) return;
        if (this.bytesSeen !== bytesBefore) {
          this.stopListeningWhenQuiet();
          return;
        }
        this.child?.stdout?.destroy();
        this.child?.stderr?.destroy();
        this.finish();
      });
    }, PIPE_DRAIN_GRACE_MS);
  }

  private finish(): void {
    if (this.settled) return;
    if (this.killReason === 'abort') {
      this.fail(new ExecError('aborted', this.file, `run of ${this.file} aborted`, { cause: this.options.signal?.reason }));
      return;
    }
    this.settle();
    this.resolve({
      exitCode: this.exit?.code ?? null,
      signal: this.exit?.signal ?? null,
      stdout: this.stdout.toBuffer(),
      stderr: this.stderr.toBuffer(),
      timedOut: this.killReason === 'timeout',
      truncated: this.stdout.truncated || this.stderr.truncated,
      durationMs: performance.now() - this.startedAt,
    });
  }

  private fail(error: ExecError): void {
    if (this.settled) return;
    this.settle();
    this.reject(error);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.drainTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}

function spawnError(file: string, error: unknown): ExecError {
  const syscallCode = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  return new ExecError('spawn_failed', file, `cannot start ${file}: ${detail}`, {
    cause: error,
    ...(syscallCode ? { syscallCode } : {}),
  });
}
