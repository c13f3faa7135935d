/**
 * The agent's RPC dispatch and inventory polling against the real simulator process through the
 * real driver. The server is not involved: calls go straight to the dispatcher, and the
 * inventory messages are the ones the agent would send.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ObservedInstance } from '../../src/protocol/index.js';
import { errorOf, newSimHome, resultOf, simAgentParts, until } from './helpers.js';

const BOOT_MS = 60_000;

describe.concurrent('agent RPCs on the simulator', { timeout: 60_000 }, () => {
  it('creates with settings, reads the instance back, and pushes the change as a diff', async () => {
    const home = newSimHome();
    home.seed([{ name: 'existing' }]);
    const { call, sent, feed } = simAgentParts(home);
    await feed.refresh();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ full: true, upserts: [{ index: 0, name: 'existing' }] });

    const created = resultOf(await call('create', { name: 'farm-1', settings: { cpu: 4, memoryMb: 4096, resolution: { width: 720, height: 1280, dpi: 320 } } })) as ObservedInstance;
    expect(created).toMatchObject({ index: 1, name: 'farm-1', state: 'stopped', booted: false, adbSerial: 'emulator-5556' });
    expect(created.settings).toMatchObject({ cpu: 4, memoryMb: 4096, resolution: { width: 720, height: 1280, dpi: 320 } });
    expect(sent.at(-1)).toEqual({ type: 'inventory', full: false, upserts: [created], removed: [] });
  });

  it('undoes the add when the settings are refused, leaving no half-made instance', async () => {
    const home = newSimHome();
    const { call, feed } = simAgentParts(home);
    const error = errorOf(await call('create', { name: 'bad', settings: { cpu: 7 } }));
    expect(error).toMatchObject({ category: 'ldconsole', code: 'invalid_argument' });
    expect((await feed.refresh()).size).toBe(0);
  });

  it('starts an instance and answers once Android has booted on the warped clock', async () => {
    const home = newSimHome({ bootMs: BOOT_MS });
    home.seed([{}]);
    const { call } = simAgentParts(home);
    const starting = call('start', { index: 0, bootTimeoutMs: 120_000 });
    await until(() => home.calls().some((record) => record.command === 'launch'));
    home.advanceClock(BOOT_MS);
    const started = resultOf(await starting) as ObservedInstance;
    expect(started).toMatchObject({ index: 0, state: 'running', booted: true });
    expect(started.pids?.player).toBeGreaterThan(0);

    const stopped = resultOf(await call('stop', { index: 0 })) as ObservedInstance;
    expect(stopped).toMatchObject({ state: 'stopped', booted: false, pids: null });
  });

  it('fails a start whose boot outlasts bootTimeoutMs with boot_timeout', async () => {
    const home = newSimHome({ bootMs: BOOT_MS });
    home.seed([{}]);
    const { call } = simAgentParts(home);
    expect(errorOf(await call('start', { index: 0, bootTimeoutMs: 1_000 }))).toMatchObject({ category: 'timeout', code: 'boot_timeout' });
  });

  it('clones only a stopped source', async () => {
    const home = newSimHome();
    home.seed([{ name: 'golden' }, { name: 'busy', running: true }]);
    const { call } = simAgentParts(home);
    expect(errorOf(await call('clone', { sourceIndex: 1, name: 'copy' }))).toMatchObject({ category: 'conflict', code: 'source_running' });
    const clone = resultOf(await call('clone', { sourceIndex: 0, name: 'golden-2' })) as ObservedInstance;
    expect(clone).toMatchObject({ index: 2, name: 'golden-2', state: 'stopped' });
    expect(errorOf(await call('clone', { sourceIndex: 9, name: 'x' }))).toMatchObject({ category: 'ldconsole', code: 'not_found' });
  });

  it('renames and modifies, and maps driver errors to typed results', async () => {
    const home = newSimHome();
    home.seed([{}]);
    const { call } = simAgentParts(home);
    expect(resultOf(await call('rename', { index: 0, name: 'renamed' }))).toMatchObject({ index: 0, name: 'renamed' });
    const modified = resultOf(await call('modify', { index: 0, settings: { cpu: 1, imei: 'auto' } })) as ObservedInstance;
    expect(modified.settings?.cpu).toBe(1);
    expect(modified.settings?.imei).toMatch(/^\d{15}$/);
    expect(errorOf(await call('rename', { index: 5, name: 'ghost' }))).toMatchObject({ category: 'ldconsole', code: 'not_found' });
  });

  it('removes (a running instance too), sends the removal, and gives a reused index a new generation', async () => {
    const home = newSimHome();
    home.seed([{ name: 'a' }, { name: 'b', running: true }]);
    const { call, sent, feed } = simAgentParts(home);
    const before = await feed.refresh();
    const oldGeneration = before.get(1)?.generation;
    expect(resultOf(await call('remove', { index: 1 }))).toEqual({ index: 1 });
    expect(sent.at(-1)).toMatchObject({ full: false, upserts: [], removed: [{ index: 1, generation: oldGeneration }] });
    // Removing again is a no-op, so a retried remove succeeds.
    expect(resultOf(await call('remove', { index: 1 }))).toEqual({ index: 1 });

    const reused = resultOf(await call('create', { name: 'c' })) as ObservedInstance;
    expect(reused.index).toBe(1);
    expect(reused.generation).not.toBe(oldGeneration);
    expect((await feed.refresh()).get(0)?.generation).toBe(before.get(0)?.generation);
  });

  it('runs one mutation at a time while reads go on in parallel', async () => {
    const home = newSimHome();
    home.seed([{ running: true }]);
    const { call } = simAgentParts(home);
    const results = await Promise.all([
      call('create', { name: 'p1' }),
      call('create', { name: 'p2' }),
      call('rename', { index: 0, name: 'p0' }),
      call('shell', { index: 0, command: 'echo parallel' }),
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
    const mutations = home.calls().filter((record) => ['add', 'rename', 'modify', 'copy', 'remove'].includes(record.command));
    expect(mutations).toHaveLength(3);
    const sorted = [...mutations].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
  });

  it('runs a repeated call id once and answers both with the same result', async () => {
    const home = newSimHome();
    const { call } = simAgentParts(home);
    const [first, second] = await Promise.all([call('create', { name: 'once' }, 20_000, 'op-1'), call('create', { name: 'once' }, 20_000, 'op-1')]);
    expect(second).toEqual(first);
    expect(await call('create', { name: 'once' }, 20_000, 'op-1')).toEqual(first);
    expect(home.calls().filter((record) => record.command === 'add')).toHaveLength(1);
  });

  it('installs an uploaded APK, reporting its package, and deletes the upload', async () => {
    const home = newSimHome();
    home.seed([{ running: true }]);
    const { call, transfers } = simAgentParts(home);
    const apk = readFileSync(home.writeTestApk(join(home.dir, 'upload-src', 'app.apk'), 'com.example.farm'));
    const half = Math.floor(apk.length / 2);
    transfers.receive({ type: 'file.chunk', transferId: 't1', data: apk.subarray(0, half).toString('base64'), last: false });
    transfers.receive({ type: 'file.chunk', transferId: 't1', data: apk.subarray(half).toString('base64'), last: true });
    expect(resultOf(await call('installApp', { index: 0, transferId: 't1' }))).toEqual({ packageName: 'com.example.farm' });
    // The same APK again is an update: no new package, still confirmed from the APK's manifest.
    transfers.receive({ type: 'file.chunk', transferId: 't2', data: apk.toString('base64'), last: true });
    expect(resultOf(await call('installApp', { index: 0, transferId: 't2' }))).toEqual({ packageName: 'com.example.farm' });
    const output = resultOf(await call('shell', { index: 0, command: 'pm list packages' })) as { output: string };
    expect(output.output).toContain('package:com.example.farm');
    const uploads = readdirSync(home.dir).filter((name) => name.startsWith('ldfleet-agent-'));
    expect(uploads.flatMap((dir) => readdirSync(join(home.dir, dir)))).toEqual([]);
    expect(errorOf(await call('installApp', { index: 0, transferId: 't1' }))).toMatchObject({ category: 'conflict', code: 'transfer_not_found' });
    transfers.receive({ type: 'file.chunk', transferId: 'junk', data: Buffer.from('not an apk').toString('base64'), last: true });
    expect(errorOf(await call('installApp', { index: 0, transferId: 'junk' }))).toMatchObject({ category: 'ldconsole' });
  });

  it('refuses an upload over the size cap', async () => {
    const home = newSimHome();
    home.seed([{ running: true }]);
    const { call, transfers } = simAgentParts(home, { maxBytes: 16 });
    transfers.receive({ type: 'file.chunk', transferId: 'big', data: Buffer.alloc(64).toString('base64'), last: true });
    expect(errorOf(await call('installApp', { index: 0, transferId: 'big' }))).toMatchObject({ category: 'conflict', code: 'file_too_large' });
    expect(home.calls().some((record) => record.command === 'installapp')).toBe(false);
  });

  it('runs app commands, shell and screenshot', async () => {
    const home = newSimHome();
    home.seed([{ running: true, installedApps: ['com.example.game'] }]);
    const { call } = simAgentParts(home);
    expect(resultOf(await call('launchApp', { index: 0, packageName: 'com.example.game' }))).toEqual({ packageName: 'com.example.game' });
    expect(resultOf(await call('killApp', { index: 0, packageName: 'com.example.game' }))).toEqual({ packageName: 'com.example.game' });
    expect(resultOf(await call('uninstallApp', { index: 0, packageName: 'com.example.game' }))).toEqual({ packageName: 'com.example.game' });
    expect(resultOf(await call('installApp', { index: 0, packageName: 'com.store.app' }))).toEqual({ packageName: 'com.store.app' });
    expect((resultOf(await call('shell', { index: 0, command: 'echo hello' })) as { output: string }).output.trim()).toBe('hello');
    const png = Buffer.from((resultOf(await call('screenshot', { index: 0 })) as { pngBase64: string }).pngBase64, 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('answers unknown methods, bad params and deadlines with typed errors', async () => {
    const home = newSimHome();
    home.seed([{}]);
    const { call } = simAgentParts(home);
    expect(errorOf(await call('format', {}))).toMatchObject({ category: 'conflict', code: 'unknown_method' });
    expect(errorOf(await call('rename', { index: 'zero' }))).toMatchObject({ category: 'conflict', code: 'invalid_params' });
    home.setFaults([{ command: 'rename', hang: true }]);
    const started = Date.now();
    expect(errorOf(await call('rename', { index: 0, name: 'slow' }, 500))).toMatchObject({ category: 'timeout', code: 'rpc_timeout' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('returns a fresh full inventory for the inventory method', async () => {
    const home = newSimHome();
    home.seed([{ name: 'x' }, { name: 'y' }]);
    const { call, sent } = simAgentParts(home);
    const { instances } = resultOf(await call('inventory', {})) as { instances: ObservedInstance[] };
    expect(instances.map((instance) => instance.name)).toEqual(['x', 'y']);
    expect(sent.at(-1)).toMatchObject({ full: true });
  });
});

describe('inventory polling on the simulator', { timeout: 60_000 }, () => {
  it('reports boot only after Android booted, re-reads configs only when they change, and survives a failing list2', async () => {
    const home = newSimHome({ bootMs: BOOT_MS });
    home.seed([{ name: 'one', running: true, booted: false }]);
    let now = Date.now();
    const { feed, sent, driver } = simAgentParts(home, {}, {}, () => now);
    expect((await feed.refresh()).get(0)).toMatchObject({ state: 'starting', booted: false });
    home.advanceClock(BOOT_MS);
    now += 2_000; // the boot probe's own pacing: a launch is asked again at most every 2 s
    expect((await feed.refresh()).get(0)).toMatchObject({ state: 'running', booted: true });
    const probes = () => home.calls().filter((record) => record.command === 'adb').length;
    const probesWhenBooted = probes();
    await feed.refresh();
    await feed.refresh();
    expect(probes()).toBe(probesWhenBooted);

    await driver.rename({ index: 0 }, 'renamed');
    expect((await feed.refresh()).get(0)?.name).toBe('renamed');
    expect(sent.at(-1)).toMatchObject({ full: false, upserts: [{ index: 0, name: 'renamed' }] });

    home.setFaults([{ command: 'list2', output: 'garbage that is not list2', exitCode: 0 }]);
    await expect(feed.refresh()).rejects.toThrow();
    home.clearFaults();
    expect((await feed.refresh()).get(0)?.name).toBe('renamed');
    expect(existsSync(join(home.dir, 'vms', 'leidian0'))).toBe(true);
  });
});
