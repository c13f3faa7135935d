import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

describe('request logs', () => {
  let t: TestServer;
  const lines: string[] = [];
  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    t = await startTestServer('sqlite', { logLevel: 'info' }, { logStream });
  });
  afterAll(() => t?.close());

  it('carry request ids and leave out credentials', async () => {
    const apiToken = (await t.admin.createToken({ name: 'log-check' })).token;
    await fetch(`${t.url}/api/v1/auth/me?token=${apiToken}`, { headers: { authorization: `Bearer ${apiToken}`, 'x-request-id': 'req-log-1' } });
    await t.admin.createUser({ username: 'logged-user', password: 'secret-password-123', role: 'viewer' });
    const text = lines.join('');
    expect(text).toContain('"reqId":"req-log-1"');
    expect(text).toContain('token=[redacted]');
    for (const secret of [apiToken, t.admin.currentToken!, t.adminPassword, 'secret-password-123']) {
      expect(text.includes(secret), `${secret.slice(0, 6)}… in the logs`).toBe(false);
    }
  });
});
