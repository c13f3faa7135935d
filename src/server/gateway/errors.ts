import type { ActionError, ErrorCategory } from '../../protocol/index.js';

/**
 * Why an RPC to an agent failed, in the typed error model every action carries:
 * `transport/agent_offline` (no session), `transport/disconnected` (the session dropped during
 * the call), `timeout/rpc_timeout` (no answer in time), or the agent's own error.
 */
export class RpcError extends Error implements ActionError {
  constructor(
    readonly category: ErrorCategory,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  static agentOffline(workstationId: string): RpcError {
    return new RpcError('transport', 'agent_offline', `the agent of workstation ${workstationId} is not connected`);
  }

  static disconnected(workstationId: string): RpcError {
    return new RpcError('transport', 'disconnected', `the agent of workstation ${workstationId} disconnected`);
  }

  static timeout(method: string, timeoutMs: number): RpcError {
    return new RpcError('timeout', 'rpc_timeout', `${method} got no answer from the agent within ${timeoutMs} ms`);
  }

  /** The agent answered with something that is not a result of the method: never believed. */
  static invalidResult(method: string, problem: string): RpcError {
    return new RpcError('ldconsole', 'invalid_result', `the agent's result of ${method} is not valid (${problem.slice(0, 300)}); nothing was recorded`);
  }

  toJSON(): ActionError {
    return { category: this.category, code: this.code, message: this.message };
  }
}
