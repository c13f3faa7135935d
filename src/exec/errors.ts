/** `spawn_failed`: the program could not be started (ENOENT, EACCES, …). `aborted`: the caller's signal fired. */
export type ExecErrorCode = 'spawn_failed' | 'aborted';

export class ExecError extends Error {
  override readonly name = 'ExecError';
  readonly code: ExecErrorCode;
  readonly file: string;
  /** The operating-system error code (e.g. `ENOENT`) when there is one. */
  readonly syscallCode: string | undefined;

  constructor(code: ExecErrorCode, file: string, message: string, options: { cause?: unknown; syscallCode?: string } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.file = file;
    this.syscallCode = options.syscallCode;
  }
}

export function isExecError(value: unknown): value is ExecError {
  return value instanceof ExecError;
}
