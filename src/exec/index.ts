/** Running programs: the `Executor` interface and its local implementation. Knows nothing of LDPlayer. */
export type { Executor, ExecOptions, ExecResult } from './types.js';
export { ExecError, isExecError, type ExecErrorCode } from './errors.js';
export { LocalExecutor, DEFAULT_MAX_OUTPUT_BYTES } from './local.js';
