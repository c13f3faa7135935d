/** The dashboard's serving without a build: the server still runs and `/` says how to build it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardCsp } from '../../src/server/web/index.js';
import { startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';

describe('dashboard serving', () => {
  const empty = mkdtempSync(join(tmpdir(), 'ldfleet-noweb-'));
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', {}, { webDir: empty });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers / with 503 and how to build the dashboard, and leaves the API alone', async () => {
    const response = await fetch(`${t.url}/`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('dashboard_not_built');
    expect(body.error.message).toContain('npm run build');
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/fleet`)).status).toBe(404);
  });

  it('puts only a well-formed Host into connect-src', () => {
    expect(dashboardCsp('fleet.example:8080', 'n0nce')).toContain("connect-src 'self' ws://fleet.example:8080 wss://fleet.example:8080;");
    expect(dashboardCsp("evil; script-src *", 'n')).toContain("connect-src 'self';");
    expect(dashboardCsp(undefined, 'n')).toContain("style-src 'self' 'nonce-n'");
  });
});
