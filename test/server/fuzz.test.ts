/**
 * Property-based fuzzing of every route's path, query and body, plus raw hostile bodies:
 * whatever a client sends, the server never answers 5xx and always answers in the error model.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeStores, startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

interface OpenApiOperation {
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
  parameters?: { in: string; name: string }[];
}
type OpenApi = { paths: Record<string, Record<string, OpenApiOperation>> };

const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('', 'admin', 'viewer', 'operator', '2030-01-01T00:00:00Z', '-1', '1e309', 'ldf_x', '\u0000', '💥'),
);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }));

/** An object with the route's own body keys (so validation goes deep) and some strangers. */
function bodyFor(keys: string[]) {
  return fc.oneof(
    fc.record(Object.fromEntries(keys.map((k) => [k, value])), { requiredKeys: [] }),
    fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 4 }),
    value,
  );
}

describeStores('fuzzing', (kind) => {
  let t: TestServer;
  let authorization: string;
  let spec: OpenApi;

  beforeAll(async () => {
    t = await startTestServer(kind);
    // An API token survives a fuzzed POST /auth/logout, which ends the admin's sessions.
    authorization = `Bearer ${(await t.admin.createToken({ name: 'fuzzer' })).token}`;
    spec = (await (await fetch(`${t.url}/openapi.json`)).json()) as OpenApi;
  });
  afterAll(() => t?.close());

  async function send(method: string, path: string, body: string | undefined, contentType = 'application/json'): Promise<void> {
    const headers: Record<string, string> = { authorization };
    if (body !== undefined) headers['content-type'] = contentType;
    const response = await fetch(t.url + path, { method, headers, body });
    const text = await response.text();
    expect(response.status, `${method} ${path} ${body?.slice(0, 200)} → ${text}`).toBeLessThan(500);
    if (response.status >= 400 && response.status !== 404) {
      expect(JSON.parse(text)).toHaveProperty('error.code');
    }
  }

  it('never answers 5xx to fuzzed paths, queries and bodies of any route', async () => {
    const apiRoutes = t.server.routes.filter((r) => r.url.startsWith('/api/v1') && r.url !== '/api/v1/events');
    for (const route of apiRoutes) {
      const openApiPath = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const operation = spec.paths[openApiPath]?.[route.method.toLowerCase()];
      const bodyKeys = Object.keys(operation?.requestBody?.content?.['application/json']?.schema?.properties ?? {});
      const queryKeys = (operation?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const hasBody = ['POST', 'PATCH', 'PUT'].includes(route.method);
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 80 }),
          fc.dictionary(fc.constantFrom(...queryKeys, 'x', 'limit', 'cursor'), fc.oneof(fc.string({ maxLength: 30 }), fc.constant('')), { maxKeys: 4 }),
          bodyFor(bodyKeys),
          async (pathParam, query, body) => {
            const path = route.url.replace(/:[A-Za-z]+/g, encodeURIComponent(pathParam) || 'x');
            const search = new URLSearchParams(query).toString();
            await send(route.method, path + (search ? `?${search}` : ''), hasBody ? JSON.stringify(body) : undefined);
          },
        ),
        { numRuns: 25 },
      );
    }
  });

  it('never answers 5xx to hostile raw bodies', async () => {
    const bad = [
      '{"name":',
      '\u0000',
      '[]',
      'null',
      '"string"',
      '{"__proto__":{"admin":true},"name":"x"}',
      '{"constructor":{"prototype":{"x":1}}}',
      'x'.repeat(2 * 1024 * 1024),
      `{"name":"${'a'.repeat(100_000)}"}`,
    ];
    for (const route of ['/api/v1/workstations', '/api/v1/users', '/api/v1/auth/login', '/api/v1/tokens']) {
      for (const body of bad) await send('POST', route, body);
      await send('POST', route, 'name=x', 'application/x-www-form-urlencoded');
      await send('POST', route, 'hello', 'text/plain');
      await send('POST', route, '{}', 'application/json; charset=latin1');
      // Invalid UTF-8 bytes inside a JSON string.
      const bytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
      const response = await fetch(t.url + route, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: bytes });
      expect(response.status).toBeLessThan(500);
    }
    for (const path of ['/api/v1/workstations/%ff%fe', '/api/v1/users/' + 'x'.repeat(5000), '/api/v1/workstations?limit=1e400', '/api/v1/audit?since=yesterday', '/api/v1/users?cursor=%00']) {
      await send('GET', path, undefined);
    }
  });
});
