/**
 * Security headers that do not break `/docs` over a LAN's plain HTTP, and a SQLite database only
 * its owner can read.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/server/store/index.js';
import { startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

describe('security headers over plain HTTP and behind TLS', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { trustProxy: true });
  });
  afterAll(() => t?.close());

  it('serves /docs and its assets without upgrade-insecure-requests or HSTS over HTTP', async () => {
    const page = await fetch(`${t.url}/docs/`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(page.headers.get('content-security-policy')).not.toMatch(/upgrade-insecure-requests/);
    expect(page.headers.get('strict-transport-security')).toBeNull();
    const asset = /(?:href|src)="\.?\/?([^"]*static\/[^"]+\.(?:css|js))"/.exec(html)?.[1];
    expect(asset, 'the docs page links its assets').toBeDefined();
    const assetResponse = await fetch(new URL(asset!, `${t.url}/docs/`));
    expect(assetResponse.status).toBe(200);
    // Read to the end: an unread body keeps its connection busy and the server's close waiting.
    expect((await assetResponse.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(assetResponse.headers.get('content-security-policy') ?? '').not.toMatch(/upgrade-insecure-requests/);
    const api = await fetch(`${t.url}/healthz`);
    await api.text();
    expect(api.headers.get('content-security-policy')).not.toMatch(/upgrade-insecure-requests/);
    expect(api.headers.get('strict-transport-security')).toBeNull();
  });

  it('sends HSTS when the request came over TLS (a trusted proxy says https)', async () => {
    const response = await fetch(`${t.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
    await response.text();
    expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
  });
});

describe('SQLite file modes', () => {
  const dirs: string[] = [];
  const mode = (path: string) => statSync(path).mode & 0o777;
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('creates the database, its WAL and SHM files 0600 in a 0700 folder that already existed 0755', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ldfleet-modes-'));
    dirs.push(dataDir);
    chmodSync(dataDir, 0o755);
    const store = await openStore({ dataDir });
    try {
      const db = join(dataDir, 'ldfleet.db');
      expect(mode(dataDir)).toBe(0o700);
      expect(mode(db)).toBe(0o600);
      expect(mode(`${db}-wal`)).toBe(0o600);
      expect(mode(`${db}-shm`)).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it('fixes a database left 0644 by an older version', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ldfleet-modes-'));
    dirs.push(dataDir);
    const db = join(dataDir, 'ldfleet.db');
    await (await openStore({ dataDir })).close();
    chmodSync(db, 0o644);
    writeFileSync(`${db}-wal`, '', { mode: 0o644 });
    chmodSync(`${db}-wal`, 0o644);
    const store = await openStore({ dataDir });
    try {
      expect(mode(db)).toBe(0o600);
      expect(mode(`${db}-wal`)).toBe(0o600);
    } finally {
      await store.close();
    }
  });
});
