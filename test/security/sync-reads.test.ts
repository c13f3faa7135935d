/**
 * Issue 12: screenshots skipped the read lane, so one viewer sending 300 at once had all 300 in
 * flight on the agent. A real server and a protocol-speaking agent that holds every screenshot
 * until the test lets it answer: one user gets `maxConcurrentReadsPerUser` reads to the agent
 * and a 429 with Retry-After for the rest; many users together never pass the workstation's read
 * slots, and only a bounded number wait for one.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiError } from '../../src/sdk/index.js';
import type { LdfleetClient } from '../../src/sdk/index.js';
import { FakeAgent, eventually, instance } from '../gateway/helpers.js';
import { describeStores, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';

const PER_USER = 4;
const WAITING = 5;
/** The server's default read slots per workstation (limits.ts). */
const READ_SLOTS = 8;
const PNG_BASE64 = Buffer.from('\x89PNG\r\n\x1a\nfake').toString('base64');

describeStores('synchronous reads are bounded (issue 12)', (kind) => {
  let t: TestServer;
  let agent: FakeAgent;
  let emulatorId: string;
  let inFlight = 0;
  let maxInFlight = 0;
  let held: Array<() => void> = [];

  beforeAll(async () => {
    t = await startTestServer(kind, { maxConcurrentReadsPerUser: PER_USER, maxWaitingReadsPerWorkstation: WAITING });
    const { enrollmentToken } = await t.admin.createWorkstation({ name: 'reads-ws' });
    agent = await FakeAgent.connect(t.url, enrollmentToken);
    agent.rpcHandler = async (method) => {
      if (method !== 'screenshot' && method !== 'listApps') return {};
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => held.push(resolve));
      inFlight -= 1;
      return method === 'screenshot' ? { pngBase64: PNG_BASE64 } : { packages: ['com.example.app'] };
    };
    await agent.hello('READS-WS');
    agent.startHeartbeats(1000);
    agent.inventory([instance(0, { state: 'running', booted: true, pids: { player: 1, vbox: 2 } })], { full: true });
    const emulators = await eventually(async () => {
      const page = await t.admin.request<{ items: Array<{ id: string }> }>('GET', '/emulators');
      return page.items.length === 1 ? page.items : undefined;
    }, 20_000, 'the agent\'s emulator listed');
    emulatorId = emulators[0]?.id ?? '';
  }, 60_000);

  afterAll(async () => {
    for (const release of held) release();
    await agent?.close();
    await t?.close();
  });

  /** Lets every held read answer, and the waiters that take the freed slots after them, until every reply is in. */
  const releaseUntil = async <T>(replies: Promise<T>[]): Promise<T[]> => {
    let done = false;
    const all = Promise.all(replies).finally(() => {
      done = true;
    });
    while (!done) {
      const now = held;
      held = [];
      for (const release of now) release();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return all;
  };

  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      () => ({ status: 200, code: 'ok', retryAfter: null as string | null }),
      (error: unknown) => {
        if (!(error instanceof ApiError)) throw error;
        return { status: error.status, code: error.code, retryAfter: error.headers.get('retry-after') };
      },
    );

  it('one viewer sending 300 screenshots at once has at most maxConcurrentReadsPerUser on the agent, the rest are 429 with Retry-After', async () => {
    const viewer = (await t.userWithRole('viewer')).client;
    maxInFlight = 0;
    const replies = Array.from({ length: 300 }, (_, i) => outcome(i % 2 === 0 ? viewer.screenshot(emulatorId) : viewer.listApps(emulatorId)));
    const early: Array<{ status: number }> = [];
    for (const reply of replies) void reply.then((value) => early.push(value));
    await eventually(() => inFlight === PER_USER && early.length === 300 - PER_USER, 30_000, `${PER_USER} reads on the agent, the rest answered`);
    const refused = early.filter((reply) => reply.status === 429);
    expect(refused.length).toBe(300 - PER_USER);
    expect(inFlight).toBe(PER_USER);
    const all = await releaseUntil(replies);
    const ok = all.filter((reply) => reply.status === 200).length;
    const limited = all.filter((reply) => reply.status === 429);
    console.log(`[sync-reads ${kind}] 300 reads from one viewer: ${ok} answered, ${limited.length} refused 429, at most ${maxInFlight} on the agent at once`);
    expect(maxInFlight).toBe(PER_USER);
    expect(ok).toBe(PER_USER);
    expect(limited.length).toBe(300 - PER_USER);
    for (const reply of limited) {
      expect(reply.code).toBe('too_many_reads');
      expect(reply.retryAfter).toBe('1');
    }
  }, 60_000);

  it('many users together never pass the workstation\'s read slots; at most maxWaitingReadsPerWorkstation wait, the rest are 429', async () => {
    const viewers: LdfleetClient[] = [];
    for (let i = 0; i < 5; i += 1) viewers.push((await t.userWithRole('viewer')).client);
    maxInFlight = 0;
    // 5 users × 4 = 20 reads: 8 on the agent, 5 waiting, 7 refused read_slots_full.
    const replies = viewers.flatMap((viewer) => Array.from({ length: PER_USER }, () => outcome(viewer.screenshot(emulatorId))));
    await eventually(() => inFlight === READ_SLOTS, 20_000, `${READ_SLOTS} reads on the agent`);
    const settled: Array<{ status: number; code: string }> = [];
    for (const reply of replies) void reply.then((value) => settled.push(value));
    await eventually(() => settled.length === 20 - READ_SLOTS - WAITING, 20_000, 'the reads past the waiting bound refused');
    expect(settled.every((reply) => reply.status === 429 && reply.code === 'read_slots_full')).toBe(true);
    expect(inFlight).toBe(READ_SLOTS);
    const all = await releaseUntil(replies);
    console.log(`[sync-reads ${kind}] 20 reads from 5 viewers: at most ${maxInFlight} on the agent, ${all.filter((r) => r.status === 429).length} refused`);
    expect(maxInFlight).toBe(READ_SLOTS);
    expect(all.filter((reply) => reply.status === 200).length).toBe(READ_SLOTS + WAITING);
  }, 60_000);
});
