import { describe, expect, it, vi } from 'vitest';
import { agentEndpoint, refusalOf } from '../../src/agent/connection.js';
import { InventoryFeed } from '../../src/agent/feed.js';
import { snapshotOf, type Snapshot } from '../../src/agent/inventory.js';
import { TransferStore } from '../../src/agent/transfers.js';
import type { InventoryMessage, ObservedInstance } from '../../src/protocol/index.js';

function instance(index: number, name: string): ObservedInstance {
  return {
    index,
    generation: 'g',
    name,
    state: 'stopped',
    booted: false,
    pids: null,
    settings: {
      cpu: 2, memoryMb: 2048, resolution: { width: 1600, height: 900, dpi: 240 }, manufacturer: '', model: '', phoneNumber: '',
      imei: '', imsi: '', simSerial: '', androidId: '', mac: '', autoRotate: false, lockWindow: false, root: false,
    },
    adbSerial: `emulator-${5554 + 2 * index}`,
  };
}

/** A source whose observations the test scripts, one per observe(). */
function scriptedSource(...snapshots: Snapshot[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    observe: async () => {
      const snapshot = snapshots[Math.min(calls, snapshots.length - 1)] ?? new Map();
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return snapshot;
    },
  };
}

describe('InventoryFeed', () => {
  it('sends nothing before publishing starts, a full snapshot first, then only changes', async () => {
    const a = snapshotOf([instance(0, 'a')]);
    const b = snapshotOf([instance(0, 'a'), instance(1, 'b')]);
    const sent: InventoryMessage[] = [];
    const feed = new InventoryFeed(scriptedSource(a, a, a, b, b), (message) => sent.push(message) > 0);
    await feed.refresh();
    expect(sent).toEqual([]);
    feed.startPublishing();
    await feed.refresh();
    await feed.refresh();
    expect(sent.map((message) => message.full)).toEqual([true]);
    await feed.refresh();
    expect(sent.at(-1)).toMatchObject({ full: false, upserts: [{ index: 1 }], removed: [] });
    await feed.resync();
    expect(sent.at(-1)).toMatchObject({ full: true, upserts: [{ index: 0 }, { index: 1 }] });
  });

  it('folds a diff that could not be sent into the next one', async () => {
    const a = snapshotOf([instance(0, 'a')]);
    const b = snapshotOf([instance(0, 'b')]);
    const c = snapshotOf([instance(0, 'b'), instance(2, 'c')]);
    const sent: InventoryMessage[] = [];
    let online = true;
    const feed = new InventoryFeed(scriptedSource(a, b, c), (message) => online && sent.push(message) > 0);
    feed.startPublishing();
    await feed.refresh();
    online = false;
    await feed.refresh();
    online = true;
    await feed.refresh();
    expect(sent.at(-1)).toMatchObject({ full: false, upserts: [{ index: 0, name: 'b' }, { index: 2 }] });
  });

  it('never overlaps observations, and a refresh asked for during one gets a later one', async () => {
    const source = scriptedSource(new Map());
    const feed = new InventoryFeed(source, () => true);
    await Promise.all([feed.refresh(), feed.refresh(), feed.refresh(), feed.refresh()]);
    expect(source.calls).toBe(2);
  });
});

describe('connection helpers', () => {
  it('turns the server URL into the agent endpoint', () => {
    expect(agentEndpoint('http://fleet:8080')).toBe('ws://fleet:8080/api/v1/agent/connect');
    expect(agentEndpoint('https://fleet.example/ldfleet/')).toBe('wss://fleet.example/ldfleet/api/v1/agent/connect');
    expect(() => agentEndpoint('ftp://fleet')).toThrow(/scheme/);
  });

  it('retries slowly only when an operator has to act', () => {
    expect(refusalOf(401, undefined)).toMatch(/token/);
    expect(refusalOf(403, undefined)).toMatch(/token/);
    expect(refusalOf(undefined, 4005)).toMatch(/token/);
    expect(refusalOf(undefined, 4003)).toMatch(/protocol/);
    expect(refusalOf(undefined, 4000)).toMatch(/same token/);
    expect(refusalOf(502, undefined)).toBeUndefined();
    expect(refusalOf(undefined, 1006)).toBeUndefined();
  });
});

describe('TransferStore', () => {
  const chunk = (transferId: string, text: string, last: boolean) => ({ type: 'file.chunk' as const, transferId, data: Buffer.from(text).toString('base64'), last });

  it('reports an upload that never finished, and drops it when the connection goes', async () => {
    const store = new TransferStore({ maxBytes: 1_000, unclaimedTtlMs: 60_000 });
    store.receive(chunk('t', 'half', false));
    await expect(store.claim('t')).rejects.toMatchObject({ code: 'transfer_incomplete' });
    await store.dropIncomplete();
    await expect(store.claim('t')).rejects.toMatchObject({ code: 'transfer_not_found' });
    await store.close();
  });

  it('starts over when a finished transfer id is sent again', async () => {
    const store = new TransferStore({ maxBytes: 1_000, unclaimedTtlMs: 60_000 });
    store.receive(chunk('t', 'first', true));
    store.receive(chunk('t', 'again', true));
    await store.claim('t');
    expect(store.sizeOf('t')).toBe(5);
    await store.close();
  });

  it('deletes an upload nobody claimed in time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const store = new TransferStore({ maxBytes: 1_000, unclaimedTtlMs: 20 });
      store.receive(chunk('t', 'data', true));
      vi.advanceTimersByTime(19);
      expect(store.sizeOf('t')).toBe(4);
      vi.advanceTimersByTime(1);
      await expect(store.claim('t')).rejects.toMatchObject({ code: 'transfer_not_found' });
      await store.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
