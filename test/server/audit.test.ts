/**
 * The audit log says what changed: every entry names its target (type, id, name) and the fields
 * the request changed, with secrets redacted.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/sdk/index.js';
import { describeStores, startTestServer } from './helpers.js';
import type { TestServer } from './helpers.js';

describeStores('audit log', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(() => t?.close());

  /** The newest entry of an action on a target. */
  async function lastEntry(action: string, target: string): Promise<AuditEntry> {
    const page = await t.admin.listAudit({ action, target, limit: 1 });
    expect(page.items, `an entry for ${action} on ${target}`).toHaveLength(1);
    return page.items[0]!;
  }

  it('names the API token a POST /tokens created, without its secret', async () => {
    const created = await t.admin.createToken({ name: 'ci-deploy', role: 'operator' });
    const entry = await lastEntry('POST /api/v1/tokens', created.id);
    expect(entry.target).toEqual({ type: 'api_token', id: created.id, name: 'ci-deploy' });
    expect(entry.changes).toEqual({ name: { to: 'ci-deploy' }, role: { to: 'operator' }, expiresAt: { to: null }, token: { to: '[redacted]' } });
    expect(JSON.stringify(entry)).not.toContain(created.token);
    await t.admin.revokeToken(created.id);
    const revoked = await lastEntry('DELETE /api/v1/tokens/:id', created.id);
    expect(revoked.target).toEqual({ type: 'api_token', id: created.id, name: 'ci-deploy' });
  });

  it('tells promoting a user from demoting them, and redacts a new password', async () => {
    const { id } = await t.userWithRole('viewer', 'carol');
    await t.admin.updateUser(id, { role: 'admin' });
    await t.admin.updateUser(id, { role: 'viewer' });
    const page = await t.admin.listAudit({ action: 'PATCH /api/v1/users/:id', target: 'carol' });
    expect(page.items.map((e) => e.changes)).toEqual([{ role: { from: 'admin', to: 'viewer' } }, { role: { from: 'viewer', to: 'admin' } }]);
    expect(page.items[0]!.target).toEqual({ type: 'user', id, name: 'carol' });
    const password = 'a-new-password-0123456789';
    await t.admin.updateUser(id, { password, disabled: true });
    const entry = await lastEntry('PATCH /api/v1/users/:id', id);
    expect(entry.changes).toEqual({ password: { to: '[redacted]' }, disabled: { from: false, to: true } });
    const created = await t.admin.listAudit({ action: 'POST /api/v1/users', target: 'carol' });
    expect(created.items[0]!.changes).toMatchObject({ username: { to: 'carol' }, role: { to: 'viewer' }, password: { to: '[redacted]' } });
    expect(await t.dumpDatabase()).not.toContain(password);
  });

  it('names the workstation of each request and what it changed', async () => {
    const { workstation, enrollmentToken } = await t.admin.createWorkstation({ name: 'rack-7', tags: ['gpu'] });
    await t.admin.updateWorkstation(workstation.id, { name: 'rack-7b', limits: { maxConcurrentBoots: 3 } });
    const rotated = await t.admin.rotateEnrollmentToken(workstation.id);
    await t.admin.deleteWorkstation(workstation.id);
    const page = await t.admin.listAudit({ targetType: 'workstation', target: workstation.id });
    const byAction = Object.fromEntries(page.items.map((e) => [e.action, e]));
    expect(byAction['POST /api/v1/workstations']).toMatchObject({
      target: { type: 'workstation', id: workstation.id, name: 'rack-7' },
      changes: { name: { to: 'rack-7' }, tags: { to: ['gpu'] } },
    });
    expect(byAction['PATCH /api/v1/workstations/:id']).toMatchObject({
      target: { type: 'workstation', id: workstation.id, name: 'rack-7' },
      changes: { name: { from: 'rack-7', to: 'rack-7b' }, limits: { from: {}, to: { maxConcurrentBoots: 3 } } },
    });
    expect(byAction['POST /api/v1/workstations/:id/enrollment-token']?.changes).toEqual({ enrollmentToken: { to: '[redacted]' } });
    expect(byAction['DELETE /api/v1/workstations/:id']?.target).toEqual({ type: 'workstation', id: workstation.id, name: 'rack-7b' });
    const text = JSON.stringify(page.items);
    expect(text).not.toContain(enrollmentToken);
    expect(text).not.toContain(rotated.enrollmentToken);
  });

  it('names the user of a login attempt, failed or not', async () => {
    await t.client().login('admin', 'wrong-password-123').catch(() => undefined);
    const entry = (await t.admin.listAudit({ action: 'auth.login', outcome: 'denied', limit: 1 })).items[0]!;
    expect(entry.target).toEqual({ type: 'user', id: null, name: 'admin' });
  });

  it('names the target and body of a route that says nothing itself (the default for every unit)', async () => {
    const response = await fetch(`${t.url}/api/v1/emulators/no-such-emulator`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${t.admin.currentToken!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'renamed' }),
    });
    expect(response.status).toBe(404);
    const entry = await lastEntry('PATCH /api/v1/emulators/:id', 'no-such-emulator');
    expect(entry).toMatchObject({ outcome: 'failure', target: { type: 'emulator', id: 'no-such-emulator', name: null }, changes: { name: { to: 'renamed' } } });
  });
});
