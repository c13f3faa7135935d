/**
 * What the engine needs from the rest of the server, as narrow interfaces: the gateway's agent
 * sessions and the fleet's inventory write-back. Tests and the wiring pass the real units.
 */
import type { InventoryMessage, RpcMethod, RpcMethods } from '../../protocol/index.js';

export interface AgentCalls {
  call<M extends RpcMethod>(
    workstationId: string,
    method: M,
    params: RpcMethods[M]['params'],
    options: { timeoutMs: number; id: string; signal?: AbortSignal },
  ): Promise<RpcMethods[M]['result']>;
  sendFile(workstationId: string, transferId: string, source: AsyncIterable<Uint8Array | string>, options?: { signal?: AbortSignal }): Promise<unknown>;
  isOnline(workstationId: string): boolean;
  onlineWorkstations(): string[];
  /** Calls `listener` each time an agent session opens; returns the unsubscribe function. */
  onSessionOpen(listener: (workstationId: string) => void): () => void;
}

export interface InventorySink {
  /** Applies what an action's reply says about an instance, so the next read sees it at once. */
  applyInventory(workstationId: string, message: InventoryMessage): Promise<unknown>;
  /** The workstation's circuit breaker opened or closed (an open breaker shows as `degraded`). */
  breakerChanged?(workstationId: string, open: boolean): void;
}
