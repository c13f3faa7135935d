/**
 * Every emulator action end to end: API → engine → gateway → agent → simulator, and back.
 * Also the route-level rules: validation before queueing, idempotency keys, cancel and retry,
 * roles, filters and events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/server/fleet/index.js';
import type { AnyFleetEvent } from '../../src/server/events/index.js';
import { ApiError } from '../../src/sdk/index.js';
import type { Batch, LdfleetClient, Operation } from '../../src/sdk/index.js';
import { buildTestApk } from '../../src/sim/index.js';
import { startOpsFleet } from './helpers.js';
import type { OpsFleet } from './helpers.js';

const UPLOAD_LIMIT = 64 * 1024;

describe('emulator actions end to end', () => {
  let fleet: OpsFleet;
  let operator: LdfleetClient;
  let viewer: LdfleetClient;
  const events: AnyFleetEvent[] = [];
  let stationA: string;
  let stationB: string;

  const byName = async (name: string): Promise<Emulator> => {
    const found = (await fleet.emulators()).find((emulator) => emulator.name === name);
    if (!found) throw new Error(`no emulator named ${name}`);
    return found;
  };
  const finished = async (operation: Operation | Batch): Promise<Operation> => fleet.waitOperation(operation.id);
  const expectSucceeded = async (reply: Operation | Batch): Promise<Operation> => {
    const operation = await finished(reply);
    expect(operation.error, JSON.stringify(operation.error)).toBeUndefined();
    expect(operation.status).toBe('succeeded');
    return operation;
  };
  const expectApiError = async (promise: Promise<unknown>, status: number, code?: string) => {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(status);
    if (code !== undefined) expect((error as ApiError).code).toBe(code);
  };

  beforeAll(async () => {
    fleet = await startOpsFleet(
      'sqlite',
      [
        {
          name: 'act-a',
          limits: { maxInstances: 9, launchIntervalMs: 0 },
          seed: [
            { name: 'plain' },
            { name: 'busy', running: true, installedApps: [] },
            { name: 'source' },
            { name: 'tuned', running: true },
            { name: 'doomed', running: true },
            { name: 'spare' },
          ],
        },
        { name: 'act-b', limits: { maxInstances: 5, launchIntervalMs: 0 } },
      ],
      { uploadMaxBytes: UPLOAD_LIMIT },
    );
    [stationA, stationB] = fleet.workstations.map((workstation) => workstation.id) as [string, string];
    fleet.t.server.bus.subscribe((event) => events.push(event));
    operator = (await fleet.t.userWithRole('operator')).client;
    viewer = (await fleet.t.userWithRole('viewer')).client;
  }, 60_000);
  afterAll(() => fleet?.close());

  it('creates one emulator on a given workstation and reports its id in the result', async () => {
    const reply = (await operator.createEmulators({ name: 'fresh', workstationId: stationA, settings: { cpu: 2, memoryMb: 2048 } })) as Operation;
    expect(reply.status).toBe('queued');
    expect(reply.action).toBe('create');
    const operation = await expectSucceeded(reply);
    const emulatorId = (operation.result as { emulatorId: string }).emulatorId;
    const emulator = await fleet.t.admin.request<Emulator>('GET', `/emulators/${emulatorId}`);
    expect(emulator).toMatchObject({ name: 'fresh', workstationId: stationA, settings: { cpu: 2, memoryMb: 2048 } });
  });

  it('places a batch of creates on the workstation with the most free capacity, ties to the fewest instances', async () => {
    // act-a: 7 of 9 used (2 free); act-b: 0 of 5 (5 free): every one of the three fits best on act-b.
    const batch = (await operator.createEmulators({ name: 'pool', count: 3 })) as Batch;
    expect(batch.total).toBe(3);
    const done = await fleet.waitBatch(batch.id);
    expect(done.counts.succeeded).toBe(3);
    const children = (await fleet.t.admin.getBatch(batch.id)).operations ?? [];
    expect(children.map((child) => child.workstationId)).toEqual([stationB, stationB, stationB]);
    expect(children.map((child) => child.params.name).sort()).toEqual(['pool-1', 'pool-2', 'pool-3']);
    expect((await fleet.emulators(stationB)).map((emulator) => emulator.name).sort()).toEqual(['pool-1', 'pool-2', 'pool-3']);
  });

  it('refuses a create beyond the workstation capacity with 409', async () => {
    await expectApiError(operator.createEmulators({ name: 'too-many', count: 3, workstationId: stationB }), 409, 'capacity_exhausted');
  });

  it('clones a stopped source and refuses a running one', async () => {
    const source = await byName('source');
    const clone = await expectSucceeded(await operator.createEmulators({ name: 'copy-of-source', cloneFrom: source.id }));
    expect(clone.workstationId).toBe(stationA);
    expect((await byName('copy-of-source')).workstationId).toBe(stationA);

    const busy = await byName('busy');
    const refused = await finished(await operator.createEmulators({ name: 'copy-of-busy', cloneFrom: busy.id }));
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatchObject({ category: 'conflict', code: 'source_running' });
  });

  it('renames, and modifies a stopped emulator', async () => {
    const plain = await byName('plain');
    await expectSucceeded(await operator.updateEmulator(plain.id, { name: 'plain-renamed' }));
    await expectSucceeded(await operator.updateEmulator(plain.id, { settings: { cpu: 3, memoryMb: 4096, imei: 'auto', resolution: { width: 720, height: 1280, dpi: 320 } } }));
    const after = await fleet.t.admin.request<Emulator>('GET', `/emulators/${plain.id}`);
    expect(after.name).toBe('plain-renamed');
    expect(after.settings).toMatchObject({ cpu: 3, memoryMb: 4096, resolution: { width: 720, height: 1280, dpi: 320 } });
  });

  it('refuses to modify a running emulator unless asked to restart it', async () => {
    const tuned = await byName('tuned');
    const refused = await finished(await operator.updateEmulator(tuned.id, { settings: { cpu: 4 } }));
    expect(refused.error).toMatchObject({ category: 'conflict', code: 'emulator_running' });
    const restarted = await expectSucceeded(await operator.updateEmulator(tuned.id, { settings: { cpu: 4 }, restart: true }));
    expect(restarted.result).toMatchObject({ restarted: true, state: 'running', booted: true });
    expect((await fleet.t.admin.request<Emulator>('GET', `/emulators/${tuned.id}`)).settings?.cpu).toBe(4);
  });

  it('rejects settings outside the bounds with 400 before anything is queued', async () => {
    const plain = await byName('plain-renamed');
    const before = (await fleet.t.admin.listOperations({ limit: 1 })).total;
    for (const settings of [{ cpu: 5 }, { memoryMb: 100 }, { imei: '12345' }, { mac: 'zz' }, { resolution: { width: 10, height: 10, dpi: 1 } }]) {
      await expectApiError(operator.updateEmulator(plain.id, { settings } as never), 400, 'validation_failed');
    }
    expect((await fleet.t.admin.listOperations({ limit: 1 })).total).toBe(before);
  });

  it('starts (done when booted), stops, restarts; repeated starts and stops succeed at once', async () => {
    const plain = await byName('plain-renamed');
    const started = await expectSucceeded(await operator.emulatorAction(plain.id, 'start'));
    expect(started.result).toMatchObject({ state: 'running', booted: true });
    const again = await expectSucceeded(await operator.emulatorAction(plain.id, 'start'));
    expect(again.result).toMatchObject({ alreadyRunning: true });
    await expectSucceeded(await operator.emulatorAction(plain.id, 'restart'));
    await expectSucceeded(await operator.emulatorAction(plain.id, 'stop'));
    const stopped = await expectSucceeded(await operator.emulatorAction(plain.id, 'stop'));
    expect(stopped.result).toMatchObject({ alreadyStopped: true });
    expect((await fleet.t.admin.request<Emulator>('GET', `/emulators/${plain.id}`)).state).toBe('stopped');
  });

  it('deletes a running emulator by stopping it first', async () => {
    const doomed = await byName('doomed');
    await expectSucceeded(await operator.deleteEmulator(doomed.id));
    expect((await fleet.emulators()).some((emulator) => emulator.id === doomed.id)).toBe(false);
    const home = fleet.workstations[0]?.home;
    const commands = (home?.calls() ?? []).filter((call) => call.index === doomed.index).map((call) => call.command);
    expect(commands.lastIndexOf('quit')).toBeLessThan(commands.lastIndexOf('remove'));
    await expectApiError(operator.emulatorAction(doomed.id, 'start'), 404);
  });

  it('uploads an APK, launches, kills and uninstalls the app; the store install takes a package name', async () => {
    const busy = await byName('busy');
    const apk = buildTestApk('com.example.fleet');
    const installed = await expectSucceeded(await operator.uploadApp(busy.id, apk, 'fleet.apk'));
    expect(installed.result).toMatchObject({ packageName: 'com.example.fleet' });
    await expectSucceeded(await operator.appAction(busy.id, 'com.example.fleet', 'launch'));
    await expectSucceeded(await operator.appAction(busy.id, 'com.example.fleet', 'kill'));
    await expectSucceeded(await operator.appAction(busy.id, 'com.example.fleet', 'uninstall'));
    await expectSucceeded(await operator.installApp(busy.id, 'com.ldstore.game'));
  });

  it('refuses an upload above the size limit with 413, and app actions on a stopped emulator', async () => {
    const busy = await byName('busy');
    await expectApiError(operator.uploadApp(busy.id, new Uint8Array(UPLOAD_LIMIT + 1024), 'huge.apk'), 413);
    const spare = await byName('spare');
    const refused = await finished(await operator.appAction(spare.id, 'com.example.fleet', 'launch'));
    expect(refused.error).toMatchObject({ category: 'conflict', code: 'emulator_stopped' });
  });

  it('runs a shell command with the output in the result', async () => {
    const busy = await byName('busy');
    const operation = await expectSucceeded(await operator.shell(busy.id, 'getprop sys.boot_completed'));
    expect((operation.result as { output: string }).output.trim()).toBe('1');
  });

  it('takes a screenshot of a running emulator; 409 when it is stopped', async () => {
    const busy = await byName('busy');
    const png = await viewer.screenshot(busy.id);
    expect(Buffer.from(png.subarray(0, 8)).toString('hex')).toBe('89504e470d0a1a0a');
    const spare = await byName('spare');
    await expectApiError(viewer.screenshot(spare.id), 409, 'emulator_stopped');
  });

  it('replays a request with the same Idempotency-Key and refuses the key for another body', async () => {
    const spare = await byName('spare');
    const first = await operator.emulatorAction(spare.id, 'start', { idempotencyKey: 'start-spare-1' });
    const replay = await operator.emulatorAction(spare.id, 'start', { idempotencyKey: 'start-spare-1' });
    expect(replay.id).toBe(first.id);
    await expectApiError(operator.emulatorAction(spare.id, 'stop', { idempotencyKey: 'start-spare-1' }), 409);
    // Keys belong to their principal: another user's same key is a new request.
    const other = await fleet.t.admin.emulatorAction(spare.id, 'start', { idempotencyKey: 'start-spare-1' });
    expect(other.id).not.toBe(first.id);
    await expectSucceeded(first);
    const batchKey = { idempotencyKey: 'batch-stop-spare' };
    const batch = await operator.createBatch({ action: 'stop', target: { ids: [spare.id] } }, batchKey);
    expect((await operator.createBatch({ action: 'stop', target: { ids: [spare.id] } }, batchKey)).id).toBe(batch.id);
    await fleet.waitBatch(batch.id);
  });

  it('cancels a queued operation, retries it, and refuses to cancel a finished one', async () => {
    // A workstation with no agent: its operations wait in the queue.
    const offline = await fleet.t.admin.createWorkstation({ name: 'act-offline' });
    const queued = (await operator.createEmulators({ name: 'never', workstationId: offline.workstation.id })) as Operation;
    const cancelled = await operator.cancelOperation(queued.id);
    expect(cancelled.status).toBe('cancelled');
    const retried = await operator.retryOperation(queued.id);
    expect(retried.status).toBe('queued');
    expect((await operator.cancelOperation(queued.id)).status).toBe('cancelled');
    await expectApiError(operator.cancelOperation(queued.id), 409, 'already_finished');
    const done = (await operator.listOperations({ status: 'succeeded', limit: 1 })).items[0];
    if (!done) throw new Error('no finished operation');
    await expectApiError(operator.cancelOperation(done.id), 409);
    await expectApiError(operator.retryOperation(done.id), 409);
  });

  it('lets viewers read and not act', async () => {
    const spare = await byName('spare');
    await expectApiError(viewer.emulatorAction(spare.id, 'start'), 403);
    await expectApiError(viewer.createBatch({ action: 'start', target: { ids: [spare.id] } }), 403);
    const page = await viewer.listOperations({ emulator: spare.id, status: 'succeeded', action: 'start' });
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((operation) => operation.emulatorId === spare.id && operation.action === 'start')).toBe(true);
  });

  it('runs a batch over a filter, partial success included, with counts and paged children', async () => {
    const batch = await operator.createBatch({ action: 'shell', target: { filter: { workstation: 'act-a' } }, params: { command: 'echo hi' } });
    const done = await fleet.waitBatch(batch.id);
    const emulators = await fleet.emulators(stationA);
    expect(done.total).toBe(emulators.length);
    // Stopped emulators cannot run shell commands: those children fail, the others succeed.
    const running = emulators.filter((emulator) => emulator.state === 'running').length;
    expect(done.counts).toMatchObject({ succeeded: running, failed: emulators.length - running, queued: 0, running: 0 });
    const firstPage = await operator.getBatch(batch.id, { limit: 2 });
    expect(firstPage.operations).toHaveLength(2);
    expect(firstPage.nextCursor).toBeTruthy();
    await expectApiError(operator.createBatch({ action: 'shell', target: { ids: ['nope'] }, params: { command: 'x' } }), 404);
    await expectApiError(operator.createBatch({ action: 'modify', target: { ids: [emulators[0]?.id ?? ''] }, params: { settings: { cpu: 9 } } }), 400);
  });

  it('announced operations and batches on the event bus', () => {
    const types = new Set(events.map((event) => event.type));
    for (const type of ['operation.created', 'operation.updated', 'operation.finished', 'batch.created', 'batch.updated', 'batch.finished']) {
      expect(types.has(type as AnyFleetEvent['type']), type).toBe(true);
    }
  });

  it('shows each workstation breaker in the API and in /metrics', async () => {
    const workstation = await fleet.t.admin.getWorkstation(stationA);
    expect(workstation.breaker).toBe('closed');
    const metrics = await (await fetch(`${fleet.t.url}/metrics`)).text();
    expect(metrics).toContain('ldfleet_workstation_breaker_state');
    expect(metrics).toMatch(/ldfleet_operations_finished_total\{action="start",status="succeeded"\} \d+/);
  });
});
