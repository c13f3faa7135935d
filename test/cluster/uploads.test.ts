/**
 * An APK upload reaches the replica that runs its install (issue 14): two `ldfleet server`
 * replicas on one PostgreSQL, the workstation's agent on B, the upload sent to A. The install
 * succeeds on B, which reads the bytes A wrote into the database, and the upload is deleted
 * once the install ended.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { buildTestApk } from '../../src/sim/index.js';
import { describePostgres, emulatorIds, eventually, startCluster } from './helpers.js';
import type { TestCluster } from './helpers.js';

async function storedUploads(databaseUrl: string): Promise<{ files: number; chunks: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const files = await client.query<{ n: string }>('SELECT count(*) AS n FROM upload_files');
    const chunks = await client.query<{ n: string }>('SELECT count(*) AS n FROM upload_chunks');
    return { files: Number(files.rows[0]?.n), chunks: Number(chunks.rows[0]?.n) };
  } finally {
    await client.end();
  }
}

describePostgres('uploads across replicas', () => {
  let cluster: TestCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  }, 60_000);

  it('installs an APK uploaded to replica A on a workstation whose session B holds, and deletes the upload after', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.replicas;
    if (!a || !b) throw new Error('two replicas');
    const onB = await cluster.addWorkstation('apk-b', b.url, [{ name: 'target', running: true }]);
    const [emulatorId] = await emulatorIds(cluster, onB.id, 1);
    if (!emulatorId) throw new Error('no emulator');

    const queued = await a.client.uploadApp(emulatorId, buildTestApk('com.example.replicas'), 'replicas.apk');
    const done = await eventually(async () => {
      const operation = await a.client.getOperation(queued.id);
      return operation.finishedAt !== undefined ? operation : undefined;
    }, 60_000, 'the install finished');
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.result).toMatchObject({ packageName: 'com.example.replicas' });
    // Synchronous reads are answered by the replica holding the session.
    const apps = await b.client.listApps(emulatorId);
    expect(apps.items.map((app) => app.packageName)).toContain('com.example.replicas');
    for (const replica of cluster.replicas) expect(existsSync(join(replica.dataDir, 'uploads')) ? readdirSync(join(replica.dataDir, 'uploads')) : []).toEqual([]);
    // Neither replica kept a file: the bytes were in the database, and are gone with the install.
    await eventually(async () => (await storedUploads(cluster?.databaseUrl ?? '')).files === 0, 10_000, 'the upload deleted');
    expect(await storedUploads(cluster.databaseUrl)).toEqual({ files: 0, chunks: 0 });
  }, 120_000);
});
