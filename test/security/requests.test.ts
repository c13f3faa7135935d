/**
 * Requests under attack (issue 12): slow clients holding sockets, anonymous floods of the audit
 * log with client-chosen request ids, and `/metrics` open to anyone.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';
import { requestFrom } from './helpers.js';

async function auditRows(t: TestServer): Promise<number> {
  const row = await t.server.store.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('slow clients', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { requestTimeoutMs: 2000, headersTimeoutMs: 1000 });
  });
  afterAll(() => t.close());

  /** Opens a socket, writes `head`, then one byte every `everyMs`; resolves with ms until the server closes it. */
  function trickle(head: string, everyMs: number, maxBytes: number): Promise<number> {
    const { port } = new URL(t.url);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(head));
      let sent = 0;
      const timer = setInterval(() => {
        // Bounded: the test fails (the socket is still held) rather than trickling forever.
        if (sent++ >= maxBytes) {
          clearInterval(timer);
          socket.destroy();
          reject(new Error(`the server still held the socket after ${Date.now() - started} ms`));
          return;
        }
        if (!socket.destroyed) socket.write('x');
      }, everyMs);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      });
    });
  }

  it('a body sent a byte at a time is cut at the request timeout', async () => {
    const head = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const heldMs = await trickle(head, 250, 60);
    expect(heldMs).toBeLessThan(12_000);
  });

  it('headers sent a byte at a time are cut at the headers timeout', async () => {
    const heldMs = await trickle('GET /healthz HTTP/1.1\r\nX-Slow: ', 250, 60);
    expect(heldMs).toBeLessThan(12_000);
  });
});

describe('anonymous floods', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(() => t.close());

  it('refused anonymous requests are counted, and only sampled into the audit log', async () => {
    const before = await auditRows(t);
    // Bounded: 300 refused requests from two addresses, in parallel batches.
    for (let batch = 0; batch < 6; batch++) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          requestFrom(t.url, { method: 'POST', path: '/api/v1/workstations', localAddress: i % 2 ? '127.0.0.3' : '127.0.0.4', body: { name: 'x' } }).then(
            (response) => response.status,
          ),
        ),
      );
      expect(statuses.every((status) => status === 401)).toBe(true);
    }
    // One row per address per minute.
    expect((await auditRows(t)) - before).toBeLessThanOrEqual(2);
    const metrics = await requestFrom(t.url, { path: '/metrics' });
    const counted = /^ldfleet_refused_anonymous_requests_total (\d+)$/m.exec(metrics.body);
    expect(Number(counted?.[1])).toBeGreaterThanOrEqual(300);
  });

  it('keeps only short [A-Za-z0-9-] request ids', async () => {
    const long = 'a'.repeat(4000);
    const ids = await Promise.all(
      [long, 'has space', 'abc-123-XYZ', '<script>'].map(async (id) =>
        (await requestFrom(t.url, { path: '/healthz', headers: { 'x-request-id': id } })).headers['x-request-id'],
      ),
    );
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[2]).toBe('abc-123-XYZ');
    expect(ids[3]).toMatch(/^[0-9a-f-]{36}$/);
    await requestFrom(t.url, { method: 'POST', path: '/api/v1/auth/login', headers: { 'x-request-id': long }, body: { username: 'admin', password: 'wrong-password-x' } });
    const rows = await t.server.store.db.selectFrom('audit_log').select('request_id').execute();
    expect(rows.every((row) => row.request_id.length <= 64)).toBe(true);
  });
});

describe('/metrics behind metricsToken', () => {
  let t: TestServer;
  const metricsToken = 'prometheus-scrape-token-0123456789';
  beforeAll(async () => {
    t = await startTestServer('sqlite', { metricsToken });
  });
  afterAll(() => t.close());

  it('answers 401 without the bearer token and the metrics with it', async () => {
    expect((await requestFrom(t.url, { path: '/metrics' })).status).toBe(401);
    expect((await requestFrom(t.url, { path: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await requestFrom(t.url, { path: '/metrics', headers: { authorization: `Bearer ${t.admin.currentToken ?? ''}` } })).status).toBe(401);
    const scraped = await requestFrom(t.url, { path: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain('http_requests_total');
  });
});
