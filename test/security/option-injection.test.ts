/**
 * Values that reach ldconsole's command line as arguments (instance names, `model`,
 * `manufacturer`) cannot start with "-", where ldconsole would read them as an option. The
 * shape is the protocol's one settings/name shape, so every route that takes it refuses them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { InstanceNameSchema, SettingsInputSchema } from '../../src/protocol/index.js';
import { ApiError } from '../../src/sdk/index.js';
import { describeStores, startTestServer } from '../server/helpers.js';
import type { TestServer } from '../server/helpers.js';

it('the protocol shapes refuse a leading "-" and keep accepting ordinary values', () => {
  for (const name of ['-', '--help', '-name', '-1']) expect(Value.Check(InstanceNameSchema, name), name).toBe(false);
  for (const name of ['farm-1', 'a-', 'Phone 3', '手机']) expect(Value.Check(InstanceNameSchema, name), name).toBe(true);
  for (const model of ['-x', '--model']) expect(Value.Check(SettingsInputSchema, { model })).toBe(false);
  for (const manufacturer of ['-x', '--manufacturer']) expect(Value.Check(SettingsInputSchema, { manufacturer })).toBe(false);
  expect(Value.Check(SettingsInputSchema, { model: 'SM-G9910', manufacturer: 'samsung' })).toBe(true);
});

describeStores('option injection through names and settings', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
    await t.admin.createWorkstation({ name: 'inj-a' });
  });
  afterAll(() => t?.close());

  const refused = async (promise: Promise<unknown>): Promise<void> => {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
  };

  it('refuses them in create, patch and batch bodies', async () => {
    await refused(t.admin.createEmulators({ name: '--help', workstationId: 'inj-a' }));
    await refused(t.admin.createEmulators({ name: 'ok', workstationId: 'inj-a', settings: { model: '-x' } }));
    await refused(t.admin.createEmulators({ name: 'ok', workstationId: 'inj-a', settings: { manufacturer: '--evil' } }));
    await refused(t.admin.updateEmulator('any', { name: '-rename' }));
    await refused(t.admin.updateEmulator('any', { settings: { model: '--model' } }));
    await refused(t.admin.createBatch({ action: 'rename', target: { ids: ['any'] }, params: { name: '-x' } }));
    await refused(t.admin.createBatch({ action: 'modify', target: { ids: ['any'] }, params: { settings: { manufacturer: '-m' } } }));
  });
});
