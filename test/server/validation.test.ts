/**
 * What the API accepts: bodies exactly as sent (no coercion), query strings coerced, unknown
 * fields refused by name, and an empty JSON body read as no body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSchema } from '../../src/server/http/validation.js';
import { describeStores, startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

interface Answer {
  status: number;
  body: { error?: { code: string; message: string; details?: { path: string; message: string }[] } } & Record<string, unknown>;
}

describeStores('request validation', (kind) => {
  let t: TestServer;
  let authorization: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    // An API token outlives the POST /auth/logout below, which ends the admin's sessions.
    authorization = `Bearer ${(await t.admin.createToken({ name: 'validation' })).token}`;
  });
  afterAll(() => t?.close());

  async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${t.url}/api/v1${path}`, {
      method,
      headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body,
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Answer['body']) : {} };
  }

  it('does not coerce body types: {"name": 42} creates no workstation "42"', async () => {
    const answer = await send('POST', '/workstations', JSON.stringify({ name: 42 }));
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toBe('body/name must be string');
    expect((await t.admin.listWorkstations()).items.map((w) => w.name)).not.toContain('42');
    const limits = await send('POST', '/workstations', JSON.stringify({ name: 'ws-coerce', limits: { maxConcurrentBoots: '2' } }));
    expect(limits.status).toBe(400);
    expect(limits.body.error?.details?.[0]?.path).toBe('/limits/maxConcurrentBoots');
  });

  it('does not log in with {"username": ["admin"]}', async () => {
    const response = await fetch(`${t.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ['admin'], password: t.adminPassword }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'validation_failed', message: 'body/username must be string' } });
  });

  it('refuses unknown body fields by name, nested ones too', async () => {
    const top = await send('POST', '/workstations', JSON.stringify({ name: 'ws-extra', colour: 'red' }));
    expect(top.status).toBe(400);
    expect(top.body.error).toMatchObject({
      code: 'validation_failed',
      message: 'body/colour is not a known field',
      details: [{ location: 'body', path: '/colour', message: 'is not a known field' }],
    });
    const nested = await send('PATCH', '/emulators/no-such-emulator', JSON.stringify({ settings: { memory: 4096 } }));
    expect(nested.status).toBe(400);
    expect(nested.body.error?.message).toBe('body/settings/memory is not a known field');
    const token = await send('POST', '/tokens', JSON.stringify({ name: 'x', scopes: ['all'] }));
    expect(token.status).toBe(400);
    expect(token.body.error?.message).toBe('body/scopes is not a known field');
    expect((await t.admin.listWorkstations()).items.map((w) => w.name)).not.toContain('ws-extra');
  });

  it('refuses unknown query parameters by name, also on routes that declare none', async () => {
    const listed = await send('GET', '/workstations?limit=5&colour=red');
    expect(listed.status).toBe(400);
    expect(listed.body.error?.message).toBe('querystring/colour is not a known field');
    const created = await t.admin.createWorkstation({ name: 'ws-query' });
    const one = await send('GET', `/workstations/${created.workstation.id}?verbose=1`);
    expect(one.status).toBe(400);
    expect(one.body.error?.message).toBe('querystring/verbose is not a known field');
  });

  it('coerces query strings: ?limit=1 is the integer 1', async () => {
    await t.admin.createWorkstation({ name: 'ws-page-2' });
    const page = await send('GET', '/workstations?limit=1');
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
    expect(typeof page.body.nextCursor).toBe('string');
    expect((await send('GET', '/workstations?limit=one')).status).toBe(400);
  });

  it('accepts an empty body with content-type application/json on POST actions', async () => {
    const created = await t.admin.createWorkstation({ name: 'ws-empty-body' });
    const rotated = await send('POST', `/workstations/${created.workstation.id}/enrollment-token`, '');
    expect(rotated.status).toBe(200);
    expect(rotated.body.enrollmentToken).toMatch(/^ldf_ws_/);
    // An action that takes no fields still refuses one it does not know.
    const extra = await send('POST', `/workstations/${created.workstation.id}/enrollment-token`, '{"force":true}');
    expect(extra.body.error?.message).toBe('body/force is not a known field');
    // A route that needs fields names the first missing one instead of "Body cannot be empty".
    const login = await fetch(`${t.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(login.status).toBe(400);
    expect(((await login.json()) as Answer['body']).error?.message).toMatch(/required property 'username'/);
    const logout = await send('POST', '/auth/logout', '');
    expect(logout.status).toBe(204);
  });

  it('still refuses a body that is not JSON', async () => {
    expect((await send('POST', '/workstations', '{"name":')).status).toBe(400);
    expect((await send('POST', '/workstations', 'null')).status).toBe(400);
  });
});

describe('closeSchema', () => {
  it('closes every object that does not decide, and leaves explicit and allOf ones alone', () => {
    const closed = closeSchema({
      type: 'object',
      properties: {
        a: { type: 'object', properties: {} },
        b: { type: 'array', items: { type: 'object', properties: {} } },
        c: { anyOf: [{ type: 'object', properties: {} }, { type: 'null' }] },
        open: { type: 'object', additionalProperties: true },
        merged: { allOf: [{ type: 'object', properties: { x: { type: 'object' } } }] },
      },
    }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(closed.additionalProperties).toBe(false);
    expect(closed.properties.a.additionalProperties).toBe(false);
    expect(closed.properties.b.items.additionalProperties).toBe(false);
    expect(closed.properties.c.anyOf[0].additionalProperties).toBe(false);
    expect(closed.properties.open.additionalProperties).toBe(true);
    expect(closed.properties.merged.allOf[0].additionalProperties).toBeUndefined();
    expect(closed.properties.merged.allOf[0].properties.x.additionalProperties).toBe(false);
  });
});
