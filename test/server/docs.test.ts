/** What users read: the OpenAPI document lists every route, the event stream too; the test-APK builder works. */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readApkPackageName } from '../../src/apk/index.js';
import { startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

describe('/openapi.json', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(() => t?.close());

  it('documents GET /api/v1/events with its topics, coalesce and token parameters', async () => {
    const spec = (await (await fetch(`${t.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary?: string; parameters?: { name: string; in: string }[] }>>;
    };
    const events = spec.paths['/api/v1/events']?.get;
    expect(events, 'GET /api/v1/events in the document').toBeDefined();
    expect(events?.summary).toMatch(/WebSocket/);
    expect(events?.parameters?.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(['coalesce', 'token', 'topics']);
  });
});

describe('ldconsole-sim apk', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['bin/ldconsole-sim', 'apk', ...args], { encoding: 'buffer', timeout: 20_000 });

  it('writes an APK whose package name the server and the simulator read', async () => {
    const result = run(['--package', 'com.example.hello']);
    expect(result.status, result.stderr.toString()).toBe(0);
    expect(result.stdout.subarray(0, 2).toString()).toBe('PK');
    const path = `${process.env.TMPDIR ?? '/tmp'}/ldfleet-hello-${process.pid}.apk`;
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(path, result.stdout);
    try {
      expect(await readApkPackageName(path)).toBe('com.example.hello');
    } finally {
      rmSync(path, { force: true });
    }
  });

  it('refuses a missing or malformed package name with a usage line', () => {
    for (const args of [[], ['--package', 'hello'], ['--package', 'com.example.hello;rm']]) {
      const result = run(args);
      expect(result.status).toBe(2);
      expect(result.stdout.length).toBe(0);
      expect(result.stderr.toString()).toMatch(/usage: ldconsole-sim apk --package/);
    }
  });
});
