/**
 * Issue 12: uploads of failed installs stayed in `data/uploads` forever. Against a real server
 * and a protocol-speaking agent: the APK of an install that failed or was cancelled is deleted
 * (and the install cannot be retried without it), a file no unfinished operation refers to
 * expires, and uploads past the quota are refused with 507 before anything is kept. On SQLite
 * they are files in `<dataDir>/uploads`, on PostgreSQL rows of `upload_files`/`upload_chunks`.
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
/** PostgreSQL's chunks, small here so an upload spans several. */
const CHUNK_BYTES = 64 * 1024;

describeStores('uploads are deleted, expired and bounded (issue 12)', (kind) => {
  let t: TestServer;
  let uploadDir: string;
  const ids: Record<string, string> = {};
  const agents: FakeAgent[] = [];

  const transferOf = (operation: Operation) => `${String(operation.params.transferId)}.apk`;
  /** What is stored, as `<transferId>.apk` names whatever the store. */
  const stored = async (): Promise<string[]> => {
    if (kind === 'sqlite') return existsSync(uploadDir) ? readdirSync(uploadDir) : [];
    const rows = await t.server.store.db.selectFrom('upload_files').select('transfer_id').execute();
    return rows.map((row) => `${row.transfer_id}.apk`);
  };
  const chunks = async (transferId: string): Promise<number[]> => {
    const rows = await t.server.store.db.selectFrom('upload_chunks').select('data').where('transfer_id', '=', transferId).orderBy('seq').execute();
    return rows.map((row) => row.data.length);
  };
  const apk = (bytes: number) => new Uint8Array(bytes).fill(7);

  beforeAll(async () => {
    t = await startTestServer(
      kind,
      { offlineGraceMs: 600_000 },
      { operations: { uploads: { quotaBytes: QUOTA, orphanMaxAgeMs: ORPHAN_AGE_MS, sweepIntervalMs: 200, chunkBytes: CHUNK_BYTES } } },
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
    await eventually(async () => !(await stored()).includes(transferOf(failed)), 10_000, 'the failed install\'s upload deleted');
    const retry = await apiError(t.admin.request('POST', `/operations/${failed.id}/retry`));
    expect(retry.status).toBe(409);
    expect(retry.code).toBe('upload_gone');
  }, 60_000);

  it('deletes the upload of an install cancelled while it waited', async () => {
    const queued = await t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(10_000), 'app.apk');
    expect(await stored()).toContain(transferOf(queued));
    await t.admin.request('POST', `/operations/${queued.id}/cancel`);
    await eventually(async () => !(await stored()).includes(transferOf(queued)), 10_000, 'the cancelled install\'s upload deleted');
  }, 60_000);

  it('refuses an upload past the disk quota with 507 and writes nothing; space comes back when an install ends', async () => {
    const first = await t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(150_000), 'big.apk');
    const before = await stored();
    expect(before).toContain(transferOf(first));
    if (kind === 'postgres') expect(await chunks(String(first.params.transferId))).toEqual([CHUNK_BYTES, CHUNK_BYTES, 150_000 - 2 * CHUNK_BYTES]);
    const refused = await apiError(t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(100_000), 'more.apk'));
    expect(refused.status).toBe(507);
    expect(refused.code).toBe('upload_quota_exceeded');
    expect((await stored()).sort()).toEqual(before.sort());
    if (kind === 'postgres') expect(await t.server.store.db.selectFrom('upload_chunks').select('seq').where('transfer_id', 'not in', before.map((name) => name.slice(0, 36))).execute()).toEqual([]);
    const { total } = await t.admin.request<{ total: number }>('GET', '/operations', { query: { action: 'installApp', status: 'queued' } });
    expect(total).toBe(1);
    await t.admin.request('POST', `/operations/${first.id}/cancel`);
    await eventually(async () => !(await stored()).includes(transferOf(first)), 10_000, 'the cancelled upload deleted');
    const second = await t.admin.uploadApp(ids['up-offline-running'] ?? '', apk(100_000), 'more.apk');
    expect(await stored()).toContain(transferOf(second));
    await t.admin.request('POST', `/operations/${second.id}/cancel`);
  }, 60_000);

  it('expires uploads no unfinished operation refers to once they are older than the orphan age, keeps young ones', async () => {
    const old = randomUUID();
    const young = randomUUID();
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    if (kind === 'sqlite') {
      mkdirSync(uploadDir, { recursive: true });
      writeFileSync(join(uploadDir, `${old}.apk`), apk(1000));
      writeFileSync(join(uploadDir, `${young}.apk`), apk(1000));
      utimesSync(join(uploadDir, `${old}.apk`), twoDaysAgo, twoDaysAgo);
    } else {
      const rows = [
        { transfer_id: old, bytes: 1000, complete: 1, updated_at: twoDaysAgo.getTime() },
        { transfer_id: young, bytes: 1000, complete: 1, updated_at: Date.now() },
      ];
      await t.server.store.db.insertInto('upload_files').values(rows).execute();
      await t.server.store.db.insertInto('upload_chunks').values(rows.map((row) => ({ transfer_id: row.transfer_id, seq: 0, data: Buffer.from(apk(1000)) }))).execute();
    }
    await eventually(async () => !(await stored()).includes(`${old}.apk`), 10_000, 'the old orphan expired');
    expect(await stored()).toContain(`${young}.apk`);
    if (kind === 'postgres') expect(await chunks(old)).toEqual([]);
  }, 30_000);
});
