/**
 * The workstation agent. In-process (tests, the demo):
 *
 *   const agent = new Agent({ serverUrl, token, ldconsolePath: SIM_BIN, installDir: home.dir, ldconsoleEnv: home.env() });
 *   agent.start();  … await agent.stop();
 *
 * From the command line: `ldfleet agent --server URL --token T [--ldconsole PATH]`, which finds
 * LDPlayer with `locateLdPlayer` and stops on SIGINT/SIGTERM (`runAgent`).
 */
export { Agent, AGENT_VERSION, type AgentOptions } from './agent.js';
export { runAgent, type RunAgentOptions } from './run.js';
export { locateLdPlayer, DiscoveryError, type LdPlayerLocation, type DiscoveryOptions } from './discovery.js';
export { silentLogger, type AgentLogger } from './log.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { diffSnapshots, applyDiff, resolveGeneration, type Snapshot, type InventoryDiff, type Generation } from './inventory.js';
export { RpcDispatcher, type RpcDriver, type RpcInventory } from './rpc.js';
export { InventoryObserver } from './observer.js';
export { InventoryFeed } from './feed.js';
export { TransferStore, type TransferOptions } from './transfers.js';
export { MetricsSampler } from './metrics.js';
export { RpcError, toActionError } from './rpc-error.js';
