/** How one program run is bounded. */
export interface ExecOptions {
  /** Wall-clock limit; past it the whole process tree is killed and `timedOut` is set. */
  readonly timeoutMs: number;
  /** Per-stream cap on captured bytes; past it the tree is killed and `truncated` is set. */
  readonly maxOutputBytes?: number;
  /** The complete environment of the child (not merged with the parent's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Aborting kills the tree and rejects with an `ExecError` of code `aborted`. */
  readonly signal?: AbortSignal;
}

/** What a finished (or killed) program left behind. Bytes are never decoded here. */
export interface ExecResult {
  /** null when the process was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly timedOut: boolean;
  readonly truncated: boolean;
  readonly durationMs: number;
}

/** Runs a program. Local today; an SSH implementation will sit behind the same interface. */
export interface Executor {
  run(file: string, args: readonly string[], options: ExecOptions): Promise<ExecResult>;
}
