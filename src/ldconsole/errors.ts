/** What went wrong, as precisely as ldconsole's output allows. */
export type LdConsoleErrorCode =
  /** `player don't exist!`, or a selector that list2 does not know. */
  | 'not_found'
  /** `parameter error!`, or input the driver refused before calling. */
  | 'invalid_argument'
  /** The help text came back: ldconsole did not understand the call. */
  | 'usage'
  /** A concurrent `copy` was rejected. */
  | 'busy'
  /** The instance (or its adb device) is not running. */
  | 'not_running'
  /** adb sees the device but it does not answer (`error: device offline`): booting, or ADB debugging off. */
  | 'device_offline'
  /** Two adb servers of different versions are killing each other (reference §8). */
  | 'adb_conflict'
  /** Android did not report `sys.boot_completed=1` in time. */
  | 'boot_timeout'
  /** ldconsole reported success but the read-back shows nothing changed. */
  | 'no_effect'
  | 'timeout'
  /** The caller's AbortSignal ended the call. */
  | 'aborted'
  | 'spawn_failed'
  | 'output_too_large'
  | 'failed';

/** The error categories of design.md that a driver error can fall in. */
export type LdConsoleErrorCategory = 'ldconsole' | 'timeout' | 'transport' | 'conflict';

const CATEGORY_OF: Readonly<Record<LdConsoleErrorCode, LdConsoleErrorCategory>> = {
  not_found: 'ldconsole',
  invalid_argument: 'ldconsole',
  usage: 'ldconsole',
  busy: 'conflict',
  not_running: 'conflict',
  device_offline: 'ldconsole',
  adb_conflict: 'ldconsole',
  boot_timeout: 'timeout',
  no_effect: 'ldconsole',
  timeout: 'timeout',
  aborted: 'timeout',
  spawn_failed: 'transport',
  output_too_large: 'ldconsole',
  failed: 'ldconsole',
};

export function categoryOf(code: LdConsoleErrorCode): LdConsoleErrorCategory {
  return CATEGORY_OF[code];
}

export interface LdConsoleErrorDetails {
  readonly command: string;
  readonly args?: readonly string[];
  readonly exitCode?: number | null;
  /** ldconsole's stdout, decoded; errors are printed there, not on stderr. */
  readonly stdout?: string;
  readonly cause?: unknown;
}

export class LdConsoleError extends Error {
  override readonly name = 'LdConsoleError';
  readonly code: LdConsoleErrorCode;
  readonly category: LdConsoleErrorCategory;
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;

  constructor(code: LdConsoleErrorCode, message: string, details: LdConsoleErrorDetails) {
    super(message, { cause: details.cause });
    this.code = code;
    this.category = categoryOf(code);
    this.command = details.command;
    this.args = details.args ?? [];
    this.exitCode = details.exitCode ?? null;
    this.stdout = details.stdout ?? '';
  }
}

export function isLdConsoleError(value: unknown, code?: LdConsoleErrorCode): value is LdConsoleError {
  return value instanceof LdConsoleError && (code === undefined || value.code === code);
}

/** A driver-side validation failure: raised before anything is spawned. */
export function invalidArgument(command: string, message: string): LdConsoleError {
  return new LdConsoleError('invalid_argument', message, { command });
}
