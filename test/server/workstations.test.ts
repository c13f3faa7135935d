import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiError } from '../../src/sdk/index.js';
import { describeStores, startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

async function errorOf(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describeStores('workstations and HTTP', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { corsOrigins: ['https://ops.example.com'] });
  });
  afterAll(() => t?.close());

  it('creates a workstation with a one-time enrollment token, offline and never seen', async () => {
    const created = await t.admin.createWorkstation({ name: 'ws-a', tags: ['rack1', 'rack1', 'gpu'], limits: { maxConcurrentBoots: 2, launchIntervalMs: 0 } });
    expect(created.enrollmentToken).toMatch(/^ldf_ws_/);
    expect(created.workstation).toMatchObject({ name: 'ws-a', tags: ['rack1', 'gpu'], limits: { maxConcurrentBoots: 2, launchIntervalMs: 0 }, status: 'offline', lastSeenAt: null });
    const detail = await t.admin.getWorkstation(created.workstation.id);
    expect(detail).not.toHaveProperty('enrollmentToken');
    expect(detail.name).toBe('ws-a');
    expect((await t.server.workstations.verifyEnrollmentToken(created.enrollmentToken))?.id).toBe(created.workstation.id);
    expect(await t.server.workstations.verifyEnrollmentToken('ldf_ws_wrong')).toBeNull();
  });

  it('refuses duplicate names (409) and bad limits (400 with details)', async () => {
    expect((await errorOf(t.admin.createWorkstation({ name: 'ws-a' }))).status).toBe(409);
    const bad = await errorOf(t.admin.createWorkstation({ name: 'ws-b', limits: { maxConcurrentBoots: 0 } }));
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('validation_failed');
    expect(bad.details).toBeDefined();
    expect((await errorOf(t.admin.createWorkstation({ name: 'bad name!' }))).status).toBe(400);
  });

  it('updates, rotates the enrollment token and deletes', async () => {
    const { workstation, enrollmentToken } = await t.admin.createWorkstation({ name: 'ws-c' });
    const updated = await t.admin.updateWorkstation(workstation.id, { name: 'ws-c2', tags: ['x'], limits: { maxInstances: 40 } });
    expect(updated).toMatchObject({ name: 'ws-c2', tags: ['x'], limits: { maxInstances: 40 } });
    expect((await errorOf(t.admin.updateWorkstation(workstation.id, { name: 'ws-a' }))).status).toBe(409);
    const rotated = await t.admin.rotateEnrollmentToken(workstation.id);
    expect(rotated.enrollmentToken).not.toBe(enrollmentToken);
    expect(await t.server.workstations.verifyEnrollmentToken(enrollmentToken)).toBeNull();
    expect((await t.server.workstations.verifyEnrollmentToken(rotated.enrollmentToken))?.name).toBe('ws-c2');
    await t.admin.deleteWorkstation(workstation.id);
    expect((await errorOf(t.admin.getWorkstation(workstation.id))).status).toBe(404);
    expect((await errorOf(t.admin.deleteWorkstation(workstation.id))).status).toBe(404);
  });

  it('pages with keyset cursors and a total', async () => {
    for (let i = 0; i < 5; i++) await t.admin.createWorkstation({ name: `page-${i}`, tags: ['paged'] });
    const first = await t.admin.listWorkstations({ limit: 2, tag: 'paged' });
    expect(first.total).toBe(5);
    expect(first.items.map((w) => w.name)).toEqual(['page-0', 'page-1']);
    const names = (await t.admin.all((page) => t.admin.listWorkstations({ ...page, limit: 2, tag: 'paged' }), 2)).map((w) => w.name);
    expect(names).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect((await errorOf(t.admin.listWorkstations({ limit: 0 }))).status).toBe(400);
    expect((await errorOf(t.admin.listWorkstations({ limit: 1001 }))).status).toBe(400);
    expect((await errorOf(t.admin.listWorkstations({ cursor: 'garbage' }))).status).toBe(400);
  });

  it('answers unknown routes, wrong media types and huge bodies in the error model', async () => {
    const token = t.admin.currentToken!;
    const unknown = await fetch(`${t.url}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${token}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    const wrongType = await fetch(`${t.url}/api/v1/workstations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: 'x' });
    expect(wrongType.status).toBe(415);
    expect(await wrongType.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
    const huge = await fetch(`${t.url}/api/v1/workstations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(2_000_000) }) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('serves health, readiness, metrics, the OpenAPI document and the docs UI', async () => {
    expect(await t.admin.health()).toEqual({ status: 'ok' });
    expect(await t.admin.ready()).toEqual({ status: 'ready', store: kind });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/api\/v1\/workstations",status_code="200"\} \d+/);
    expect(metrics).toContain('http_request_duration_seconds_bucket');
    expect(metrics).toContain('process_cpu_user_seconds_total');
    const spec = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v1/workstations', '/api/v1/workstations/{id}', '/api/v1/auth/login', '/api/v1/audit']));
    const docs = await fetch(`${t.url}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
  });

  it('sends security headers, request ids, and CORS only to configured origins', async () => {
    const allowed = await fetch(`${t.url}/healthz`, { headers: { origin: 'https://ops.example.com', 'x-request-id': 'trace-1' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(allowed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(allowed.headers.get('x-request-id')).toBe('trace-1');
    const other = await fetch(`${t.url}/healthz`, { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
