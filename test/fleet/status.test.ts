/**
 * A workstation's `degraded` status on both stores: the agent's own word (`status` messages over
 * the real channel) and the operation engine's breaker, combined, with the reason and message in
 * the API, in `workstation.*` events and in `/metrics`; an agent that reconnects starts online.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AnyFleetEvent } from '../../src/server/events/index.js';
import { describeStores, startTestServer, type TestServer } from '../server/helpers.js';
import { FakeAgent, eventually } from '../gateway/helpers.js';

interface WorkstationStatus {
  status: string;
  statusReason: string | null;
  statusMessage: string | null;
}

describeStores('workstation status', (kind) => {
  let t: TestServer;
  let id = '';
  let token = '';
  const events: AnyFleetEvent[] = [];
  const agents: FakeAgent[] = [];

  beforeAll(async () => {
    t = await startTestServer(kind);
    t.server.bus.subscribe((event) => events.push(event));
    const created = await t.admin.createWorkstation({ name: 'status-ws' });
    id = created.workstation.id;
    token = created.enrollmentToken;
  });
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await t?.close();
  });

  const status = () => t.admin.request<WorkstationStatus>('GET', `/workstations/${id}`);
  const becomes = (expected: Partial<WorkstationStatus>) =>
    eventually(async () => {
      const current = await status();
      return Object.entries(expected).every(([key, value]) => current[key as keyof WorkstationStatus] === value) ? current : undefined;
    }, 10_000, JSON.stringify(expected));

  it('follows the agent and the breaker, agent reasons first, and starts online on a new session', async () => {
    const agent = await FakeAgent.connect(t.url, token);
    agents.push(agent);
    await agent.hello();
    await becomes({ status: 'online', statusReason: null, statusMessage: null });

    agent.send({ type: 'status', reason: 'disk_low', message: 'only 0.4 GiB of 200.0 GiB free' });
    await becomes({ status: 'degraded', statusReason: 'disk_low', statusMessage: 'only 0.4 GiB of 200.0 GiB free' });
    expect(events.find((event) => event.type === 'workstation.degraded')?.data).toMatchObject({ id, statusReason: 'disk_low' });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain(`ldfleet_workstation_status{workstation="${id}",status="degraded",reason="disk_low"} 1`);
    expect(metrics).not.toContain(`ldfleet_workstation_status{workstation="${id}",status="online"`);

    t.server.fleet.breakerChanged(id, true);
    agent.send({ type: 'status', reason: null, message: null });
    const breaker = await becomes({ status: 'degraded', statusReason: 'breaker_open' });
    expect(breaker.statusMessage).toMatch(/circuit breaker is open/);
    t.server.fleet.breakerChanged(id, false);
    await becomes({ status: 'online', statusReason: null, statusMessage: null });
    expect(events.filter((event) => event.type === 'workstation.online' && event.data.id === id).length).toBeGreaterThanOrEqual(2);

    agent.send({ type: 'status', reason: 'list2_failing', message: 'list2 failed 3 times in a row' });
    await becomes({ status: 'degraded', statusReason: 'list2_failing' });
    await agent.close();
    await becomes({ status: 'offline', statusReason: null });
    const again = await FakeAgent.connect(t.url, token);
    agents.push(again);
    await again.hello();
    await becomes({ status: 'online', statusReason: null });
  });

  it('refuses a status message whose reason is not machine-readable', async () => {
    const agent = await FakeAgent.connect(t.url, token);
    agents.push(agent);
    await agent.hello();
    await becomes({ status: 'online' });
    agent.send({ type: 'status', reason: 'Not A Reason!', message: 'x' } as never);
    agent.send({ type: 'status', reason: 'disk_low', message: 'later' });
    await becomes({ status: 'degraded', statusReason: 'disk_low', statusMessage: 'later' });
  });
});
