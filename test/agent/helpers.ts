import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryFeed } from '../../src/agent/feed.js';
import { silentLogger } from '../../src/agent/log.js';
import { InventoryObserver } from '../../src/agent/observer.js';
import { RpcDispatcher, type RpcDispatcherOptions } from '../../src/agent/rpc.js';
import { DEFAULT_TRANSFER_OPTIONS, TransferStore, type TransferOptions } from '../../src/agent/transfers.js';
import { LocalExecutor } from '../../src/exec/index.js';
import { LdConsole } from '../../src/ldconsole/index.js';
import type { InventoryMessage, RpcResultMessage } from '../../src/protocol/index.js';
import { SIM_BIN, SimHome, type SimHomeOptions } from '../../src/sim/index.js';

export function newSimHome(options: SimHomeOptions = {}): SimHome {
  return SimHome.create(mkdtempSync(join(tmpdir(), 'ldfleet-agent-sim-')), options);
}

export function simDriver(home: SimHome): LdConsole {
  return new LdConsole({ executor: new LocalExecutor(), path: SIM_BIN, installDir: home.dir, env: home.env() });
}

/** The agent's RPC side wired to the real driver and simulator, with the inventory messages it would send. */
export function simAgentParts(
  home: SimHome,
  transferOptions: Partial<TransferOptions> = {},
  dispatcherOptions: Partial<RpcDispatcherOptions> = {},
  clock?: () => number,
) {
  const driver = simDriver(home);
  const observer = new InventoryObserver({ driver, installDir: home.dir, logger: silentLogger, ...(clock ? { clock } : {}) });
  const sent: InventoryMessage[] = [];
  const feed = new InventoryFeed(observer, (message) => sent.push(message) > 0);
  feed.startPublishing();
  const transfers = new TransferStore({ ...DEFAULT_TRANSFER_OPTIONS, parentDir: home.dir, ...transferOptions });
  const dispatcher = new RpcDispatcher({
    driver,
    inventory: { refresh: () => feed.refresh(), resync: () => feed.resync(), markBooted: (index) => observer.markBooted(index) },
    transfers,
    logger: silentLogger,
    ...dispatcherOptions,
  });
  const call = (method: string, params: unknown, timeoutMs = 20_000, id: string = randomUUID()): Promise<RpcResultMessage> =>
    dispatcher.dispatch({ type: 'rpc.call', id, method, params, timeoutMs });
  return { driver, observer, feed, sent, transfers, dispatcher, call };
}

export function resultOf(message: RpcResultMessage): unknown {
  if (!message.ok) throw new Error(`rpc failed: ${JSON.stringify(message.error)}`);
  return message.result;
}

export function errorOf(message: RpcResultMessage) {
  if (message.ok) throw new Error(`rpc unexpectedly succeeded: ${JSON.stringify(message.result)}`);
  return message.error;
}

/** Waits (polling) until `condition` holds; for things a real process does in its own time. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
