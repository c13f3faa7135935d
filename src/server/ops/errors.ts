import type { ActionError, ErrorCategory } from '../../protocol/index.js';

const CATEGORIES: ReadonlySet<string> = new Set(['transport', 'ldconsole', 'timeout', 'conflict', 'circuit_open']);

/** A failed action with its typed error; what the engine throws and records. */
export class ActionFailure extends Error {
  constructor(
    readonly category: ErrorCategory,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ActionFailure';
  }

  toJSON(): ActionError {
    return { category: this.category, code: this.code, message: this.message };
  }
}

export const conflictFailure = (code: string, message: string): ActionFailure => new ActionFailure('conflict', code, message);

/**
 * The typed error of anything an action threw. The gateway rejects with `{category, code,
 * message}` objects; anything else is a fault of ours, reported as `ldconsole`/`internal` so it
 * is never retried as if the workstation were at fault.
 */
export function toActionFailure(error: unknown): ActionFailure {
  if (error instanceof ActionFailure) return error;
  const candidate = error as Partial<ActionError> | null;
  if (candidate && typeof candidate.category === 'string' && CATEGORIES.has(candidate.category)) {
    return new ActionFailure(
      candidate.category,
      typeof candidate.code === 'string' ? candidate.code : candidate.category,
      typeof candidate.message === 'string' ? candidate.message : String(error),
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ActionFailure('ldconsole', 'internal', `the action failed unexpectedly: ${message}`);
}

/** A synchronous read refused at its bound (per user or per workstation): HTTP 429, try again shortly. */
export class ReadRefusedError extends Error {
  readonly retryAfterSeconds = 1;
  constructor(
    readonly code: 'too_many_reads' | 'read_slots_full',
    message: string,
    readonly limit: number,
  ) {
    super(message);
  }
}
