/**
 * Synchronous reads cross replicas (issue 14: any replica answers any request): a screenshot
 * or an app list asked of replica A for a workstation whose agent B holds is run by B and
 * answered by A; a user's read cap counts the reads on every replica together; a workstation
 * no replica holds is 503 on each, and a read whose replica dies is answered once its lease lapses.
 */
import { afterEach, expect, it } from 'vitest';
import { ApiError } from '../../src/sdk/index.js';
import { FakeAgent, instance } from '../gateway/helpers.js';
import { describePostgres, emulatorIds, eventually, startCluster } from './helpers.js';
import type { TestCluster } from './helpers.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PER_USER = 2;

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('the request was answered');
}

describePostgres('synchronous reads across replicas', () => {
  let cluster: TestCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  }, 60_000);

  it('answers a screenshot and an app list on A for a workstation whose agent B holds, and is 503 on each once no replica holds it', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.replicas;
    if (!a || !b) throw new Error('two replicas');
    const onB = await cluster.addWorkstation('reads-b', b.url, [{ name: 'shown', running: true, installedApps: ['com.example.hello'] }]);
    const [emulatorId] = await emulatorIds(cluster, onB.id, 1);
    if (!emulatorId) throw new Error('no emulator');

    const png = await a.client.screenshot(emulatorId);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect((await a.client.listApps(emulatorId)).items.map((app) => app.packageName)).toContain('com.example.hello');
    // B's agent ran both: A has no session to run them on.
    expect(onB.home.calls().filter((call) => call.command === 'adb').length).toBeGreaterThanOrEqual(2);

    await onB.agent.stop();
    await eventually(async () => (await a.client.getWorkstation(onB.id)).status === 'offline', 20_000, 'the workstation offline');
    for (const replica of [a, b]) expect(await refusal(replica.client.screenshot(emulatorId))).toEqual({ status: 503, code: 'workstation_offline' });
  }, 120_000);

  it('counts a user\'s reads on every replica against one cap, and answers a read whose replica died once its lease lapsed', async () => {
    cluster = await startCluster(2, { LDFLEET_MAX_CONCURRENT_READS_PER_USER: String(PER_USER) });
    const [a, b] = cluster.replicas;
    if (!a || !b) throw new Error('two replicas');
    const { enrollmentToken } = await a.client.createWorkstation({ name: 'held-reads' });
    // An agent on B that holds every screenshot until the test lets it answer.
    const agent = await FakeAgent.connect(b.url, enrollmentToken);
    let inFlight = 0;
    const held: Array<() => void> = [];
    agent.rpcHandler = async (method) => {
      if (method !== 'screenshot') return {};
      inFlight += 1;
      await new Promise<void>((resolve) => held.push(resolve));
      inFlight -= 1;
      return { pngBase64: Buffer.from(PNG_SIGNATURE).toString('base64') };
    };
    try {
      await agent.hello('HELD-READS');
      agent.startHeartbeats(1000);
      agent.inventory([instance(0, { state: 'running', booted: true, pids: { player: 1, vbox: 2 } })], { full: true });
      const workstationId = await eventually(async () => (await a.client.listWorkstations()).items.find((row) => row.name === 'held-reads' && row.status === 'online')?.id, 20_000, 'the workstation online');
      const [emulatorId] = await emulatorIds(cluster, workstationId, 1);
      if (!emulatorId) throw new Error('no emulator');

      const first = a.client.screenshot(emulatorId);
      const second = b.client.screenshot(emulatorId);
      await eventually(() => (inFlight === PER_USER ? true : undefined), 20_000, `${PER_USER} reads held on the agent`);
      expect(await refusal(a.client.screenshot(emulatorId))).toEqual({ status: 429, code: 'too_many_reads' });
      expect(await refusal(b.client.screenshot(emulatorId))).toEqual({ status: 429, code: 'too_many_reads' });
      expect(inFlight).toBe(PER_USER);
      for (const release of held.splice(0)) release();
      for (const png of await Promise.all([first, second])) expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      // The slots were given back, on both replicas.
      const again = [a.client.screenshot(emulatorId), b.client.screenshot(emulatorId)];
      await eventually(() => (inFlight === PER_USER ? true : undefined), 20_000, 'both new reads on the agent');
      for (const release of held.splice(0)) release();
      expect(await Promise.all(again)).toHaveLength(2);

      // B dies holding a read A relayed: A answers once B is taken for dead, not after its call timeout.
      const orphaned = a.client.screenshot(emulatorId).then(
        () => undefined,
        (error: unknown) => error,
      );
      await eventually(() => (inFlight === 1 ? true : undefined), 20_000, 'the relayed read on the agent');
      const killedAt = Date.now();
      await cluster.kill(b);
      const error = await orphaned;
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 503, details: { category: 'transport', code: 'replica_gone' } });
      // The lease is 2 s in these clusters; the call timeout is a minute.
      expect(Date.now() - killedAt).toBeLessThan(15_000);
    } finally {
      for (const release of held) release();
      await agent.close();
    }
  }, 120_000);
});
