/**
 * Issue 12: uploads of failed installs stayed in `data/uploads` forever. Against a real server
 * and a protocol-speaking agent: the APK of an install that failed or was cancelled is deleted
 * (and the install cannot be retried without it), a file no unfinished operation refers to
 * expires, and uploads past the disk quota are refused with 507 before anything is written.
 */
import { apiError } from '../ops/helpers.js';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../../src/sdk/index.js';
import { FakeAgent, eventually, instance } from '../gateway/helpers.js';
import { describeStores, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';

const QUOTA = 200_000;
const ORPHAN_AGE_MS = 60_000;

describeStores('uploads are deleted, expired and bounded (issue 12)', (kind) => {
  let t: TestServer;
  let uploadDir: string;
  const ids: Record<string, string> = {};
  const agents: FakeAgent[] = [];

  const transferOf = (operation: Operation) => String(operation.params.transferId);
  const files = () => (existsSync(uploadDir) ? readdirSync(uploadDir) : []);
  const apk = (bytes: number) => new Uint8Array(bytes).fill(7);

  beforeAll(async () => {
    t = await startTestServer(
      kind,
      { offlineGraceMs: 600_000 },
      { operations: { uploads: { quotaBytes: QUOTA, orphanMaxAgeMs: ORPHAN_AGE_MS, sweepIntervalMs: 200 } } },
    );
    uploadDir = join(t.config.dataDir, 'uploads');
    const stations: string[] = [];
    for (const name of ['up-online', 'up-offline']) {
      const { enrollmentToken, workstation } = await t.admin.createWorkstation({ name });
      stations.push(workstation.id);
      const agent = await FakeAgent.connect(t.url, enrollmentToken);
      agents.push(agent);
      agent.rpcHandler = () => Promise.reject(Object.assign(new Error('refused by the test'), { category: 'ldconsole', code: 'failed' }));
      await agent.hello(name.toUpperCase());
      agent.startHeartbeats(1000);
      agent.inventory([instance(0, { name: `${name}-stopped` }), instance(1, { name: `${name}-running`, state: 'running', booted: true, pids: { player: 1, vbox: 2 } })], { full: true });
    }
    await eventually(async () => {
      const page = await t.admin.request<{ items: Array<{ id: string; name: string }> }>('GET', '/emulators');
      for (const emulator of page.items) ids[emulator.name] = emulator.id;
      return page.items.length === 4;
    }, 20_000, 'the agents\' emulators listed');
    // The second workstation goes offline: its installs stay queued (their uploads kept).
    await agents[1]?.close();
    await eventually(() => !t.server.gateway.isOnline(stations[1] ?? ''), 20_000, 'up-offline offline');
  }, 60_000);

  afterAll(async () => {
    await agents[0]?.close();
    await t?.close();
  });

  it('deletes the upload of an install that failed for good, and refuses to retry it without the file', async () => {
    const queued = await t.admin.uploadApp(ids['up-online-stopped'] ?? '', apk(10_000), 'app.apk');
    const failed = await eventually(async () => {
      const operation = await t.admin.getOperation(queued.id);
      return operation.status === 'failed' ? operation : undefined;
    }, 20_000, 'the install failed');
    await eventually(() => !files().includes(`${transferOf(failed)}.apk`), 10_000, 'the failed install\'s upload deleted');
    const retry = await apiError(t.admin.request('POST', `/operations/${failed.id}/retry`));
    expect(retry.status).toBe(409);
    expect(retry.code).toBe('upload_gone');
  }, 60_000);

  it('deletes the upload of an install cancelled while it waited', async () => {
    const queued = await t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(10_000), 'app.apk');
    expect(files()).toContain(`${transferOf(queued)}.apk`);
    await t.admin.request('POST', `/operations/${queued.id}/cancel`);
    await eventually(() => !files().includes(`${transferOf(queued)}.apk`), 10_000, 'the cancelled install\'s upload deleted');
  }, 60_000);

  it('refuses an upload past the disk quota with 507 and writes nothing; space comes back when an install ends', async () => {
    const first = await t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(150_000), 'big.apk');
    const before = files();
    expect(before).toContain(`${transferOf(first)}.apk`);
    const refused = await apiError(t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(100_000), 'more.apk'));
    expect(refused.status).toBe(507);
    expect(refused.code).toBe('upload_quota_exceeded');
    expect(files().sort()).toEqual(before.sort());
    const { total } = await t.admin.request<{ total: number }>('GET', '/operations', { query: { action: 'installApp', status: 'queued' } });
    expect(total).toBe(1);
    await t.admin.request('POST', `/operations/${first.id}/cancel`);
    await eventually(() => !files().includes(`${transferOf(first)}.apk`), 10_000, 'the cancelled upload deleted');
    const second = await t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(100_000), 'more.apk');
    expect(files()).toContain(`${transferOf(second)}.apk`);
    await t.admin.request('POST', `/operations/${second.id}/cancel`);
  }, 60_000);

  it('expires files no unfinished operation refers to once they are older than the orphan age, keeps young ones', async () => {
    mkdirSync(uploadDir, { recursive: true });
    const old = join(uploadDir, `${randomUUID()}.apk`);
    const young = join(uploadDir, `${randomUUID()}.apk`);
    writeFileSync(old, apk(1000));
    writeFileSync(young, apk(1000));
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    await eventually(() => !existsSync(old), 10_000, 'the old orphan expired');
    expect(existsSync(young)).toBe(true);
  }, 30_000);
});
