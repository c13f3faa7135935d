/**
 * One ldconsole call: build the argv, run it through an Executor, decode stdout and turn
 * every failure the output reveals into a typed LdConsoleError. Errors are read from stdout
 * first: ldconsole prints them there and its exit codes are unreliable (add/copy exit with the
 * new index; negative codes arrive as `value & 0xFF` on some hosts).
 */
import { isExecError, type Executor } from '../exec/index.js';
import { decodeOutput, type Codepage } from './decode.js';
import { LdConsoleError, type LdConsoleErrorCode } from './errors.js';
import {
  HELP_BANNER,
  isAdbConflict,
  isAdbDeviceMissing,
  isAdbDeviceOffline,
  isHelpText,
  isNotRunningMessage,
  outputLines,
  PARAMETER_ERROR,
  PLAYER_NOT_FOUND,
} from './parse.js';

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface RunnerOptions {
  readonly executor: Executor;
  readonly path: string;
  readonly codepage: Codepage;
  readonly env: NodeJS.ProcessEnv | undefined;
  /** The driver's lifetime: aborting it ends every call. */
  readonly signal?: AbortSignal | undefined;
}

/** What came back from a call that did not fail at the process level. */
export interface RawCall {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stdoutBytes: Buffer;
  readonly stderrBytes: Buffer;
  /** stdout decoded (strict UTF-8, else the code page). */
  readonly stdout: string;
}

export interface InvokeOptions extends CallOptions {
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Skip decoding: binary output (a PNG) must reach the caller byte for byte. */
  readonly binary?: boolean;
}

/** At most this much of a binary output is decoded to look for an error message. */
const BINARY_SNIFF_BYTES = 512;

export class Runner {
  constructor(private readonly options: RunnerOptions) {}

  /** Runs `ldconsole <command> <args…>`; rejects only for timeouts, spawn failures, aborts and overflows. */
  invoke(command: string, args: readonly string[], options: InvokeOptions): Promise<RawCall> {
    return this.invokeArgv(command, [command, ...args], options, args);
  }

  /** Runs the program with exactly `argv`; `command` and `args` name the call in results and errors. */
  async invokeArgv(command: string, argv: readonly string[], options: InvokeOptions, args: readonly string[] = argv): Promise<RawCall> {
    const signal = combineSignals(options.signal, this.options.signal);
    let result;
    try {
      result = await this.options.executor.run(this.options.path, argv, {
        timeoutMs: options.timeoutMs,
        maxOutputBytes: options.maxOutputBytes,
        ...(this.options.env ? { env: this.options.env } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (isExecError(error)) {
        const code: LdConsoleErrorCode = error.code === 'aborted' ? 'aborted' : 'spawn_failed';
        throw new LdConsoleError(code, `ldconsole ${command}: ${error.message}`, { command, args, cause: error });
      }
      throw error;
    }
    const stdoutBytes = result.stdout;
    const head = options.binary ? stdoutBytes.subarray(0, BINARY_SNIFF_BYTES) : stdoutBytes;
    const call: RawCall = {
      command,
      args,
      exitCode: result.exitCode,
      stdoutBytes,
      stderrBytes: result.stderr,
      stdout: decodeOutput(head, this.options.codepage),
    };
    if (result.timedOut) throw failure('timeout', call, `ldconsole ${command} did not finish within ${options.timeoutMs} ms; its process tree was killed`);
    if (result.truncated) throw failure('output_too_large', call, `ldconsole ${command} printed more than ${options.maxOutputBytes} bytes`);
    return call;
  }

  decodeStderr(call: RawCall): string {
    return decodeOutput(call.stderrBytes, this.options.codepage);
  }
}

function combineSignals(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return present.length <= 1 ? present[0] : AbortSignal.any(present);
}

/**
 * The error a call's output announces, if any. Order matters: the specific messages first,
 * then the help text (which a bad call prints in full).
 */
export function errorCodeInOutput(stdout: string): LdConsoleErrorCode | undefined {
  // Whole lines only: a title or a shell's output may contain these words.
  const lines = outputLines(stdout).map((line) => line.trim());
  if (lines.includes(PLAYER_NOT_FOUND)) return 'not_found';
  if (lines.includes(PARAMETER_ERROR)) return 'invalid_argument';
  if (isHelpText(stdout)) return 'usage';
  return undefined;
}

/** Commands that print titles, which are user text: only the help banner can mean an error there. */
const TITLE_COMMANDS = new Set(['list', 'list2', 'runninglist']);

/** Additional errors of calls that reach the running Android (getprop, adb). */
export function androidErrorCodeInOutput(text: string): LdConsoleErrorCode | undefined {
  // A fight garbles whatever else adb printed, so it is named first.
  if (isAdbConflict(text)) return 'adb_conflict';
  if (isAdbDeviceOffline(text)) return 'device_offline';
  if (isAdbDeviceMissing(text) || isNotRunningMessage(text)) return 'not_running';
  return undefined;
}

export function failure(code: LdConsoleErrorCode, call: RawCall, message: string): LdConsoleError {
  return new LdConsoleError(code, message, { command: call.command, args: call.args, exitCode: call.exitCode, stdout: call.stdout });
}

const MESSAGES: Partial<Record<LdConsoleErrorCode, string>> = {
  not_found: 'the instance does not exist',
  invalid_argument: 'ldconsole rejected a parameter',
  usage: 'ldconsole printed its help text: the call was not understood',
  not_running: 'the instance is not running',
  device_offline: 'adb reports the device offline',
  adb_conflict: 'two adb servers of different versions are fighting over port 5037',
};

/** Throws the error the output announces; used by every command. */
export function throwIfOutputError(call: RawCall, extraText = ''): void {
  if (TITLE_COMMANDS.has(call.command)) {
    if (firstLine(call.stdout).startsWith(HELP_BANNER)) throw failure('usage', call, `ldconsole ${call.command}: ${MESSAGES.usage}`);
    return;
  }
  const code = errorCodeInOutput(call.stdout) ?? androidErrorCodeInOutput(`${call.stdout}\n${extraText}`) ?? appFailureIn(call);
  if (code) throw failure(code, call, `ldconsole ${call.command}: ${MESSAGES[code] ?? 'failed'}: ${firstLine(call.stdout)}`);
}

/** Package-manager failures (`Failure [INSTALL_FAILED_…]`) come back with rc 0. */
const APP_COMMANDS = new Set(['installapp', 'uninstallapp', 'backupapp', 'restoreapp', 'runapp', 'killapp']);

function appFailureIn(call: RawCall): LdConsoleErrorCode | undefined {
  return APP_COMMANDS.has(call.command) && /^\s*Failure\b/m.test(call.stdout) ? 'failed' : undefined;
}

/** For commands whose success is rc 0: a non-zero code without a known message is a plain failure. */
export function throwIfFailed(call: RawCall): void {
  throwIfOutputError(call);
  if (call.exitCode !== 0) {
    throw failure('failed', call, `ldconsole ${call.command} exited with ${String(call.exitCode)}: ${firstLine(call.stdout) || '(no output)'}`);
  }
}

export function firstLine(text: string): string {
  return text.trim().split(/\r?\n/, 1)[0] ?? '';
}
