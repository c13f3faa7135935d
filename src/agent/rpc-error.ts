/** The typed error an RPC answers with, and the mapping of everything a handler can throw onto it. */
import { isLdConsoleError } from '../ldconsole/errors.js';
import type { ActionError, ErrorCategory } from '../protocol/index.js';

/** Thrown by handlers for failures the agent itself detects (bad params, wrong state, …). */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly category: ErrorCategory,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_MESSAGE = 4096;
const MAX_CODE = 64;

/** Anything thrown by a handler, as the protocol's `{category, code, message}`. */
export function toActionError(error: unknown): ActionError {
  if (error instanceof RpcError) return actionError(error.category, error.code, error.message);
  if (isLdConsoleError(error)) return actionError(error.category, error.code, error.message);
  // A bug in a handler: still an answer, never a dead agent.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return actionError('ldconsole', 'agent_error', message);
}

function actionError(category: ErrorCategory, code: string, message: string): ActionError {
  return { category, code: code.slice(0, MAX_CODE), message: message.slice(0, MAX_MESSAGE) };
}
