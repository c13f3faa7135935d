/** The dashboard's logic without a browser: filters (URL, matching, batch target), selection, progress, settings. */
import { describe, expect, it } from 'vitest';
import type { Emulator, Operation } from '../../src/sdk/index.js';
import { batchTargetFor, filterFromSearch, filterToSearch, matcher } from '../../src/web/logic/filters.js';
import { applyOperation, batchStatus, byWorkstation, progressOf } from '../../src/web/logic/progress.js';
import { EMPTY_SELECTION, clickRow, describeTargets, isSelected, selectAllMatching, selectedIds } from '../../src/web/logic/selection.js';
import { checkSettings } from '../../src/web/logic/settings.js';

function emulator(id: string, changes: Partial<Emulator> = {}): Emulator {
  return {
    id, workstationId: 'w1', index: 0, name: id, state: 'stopped', booted: false, pids: null, adbSerial: 'emulator-5554',
    settings: { cpu: 2, memoryMb: 2048, resolution: { width: 1280, height: 720, dpi: 240 }, manufacturer: 'm', model: 'x', phoneNumber: '', imei: '', imsi: '', simSerial: '', androidId: '', mac: '', autoRotate: false, lockWindow: false, root: false },
    observedAt: '', createdAt: '', updatedAt: '', problem: null, ...changes,
  };
}

function operation(id: string, changes: Partial<Operation> = {}): Operation {
  return { id, action: 'start', status: 'queued', workstationId: 'w1', params: {}, attempts: 0, createdBy: 'admin', createdAt: '2026-01-01T00:00:00Z', waiting: null, ...changes };
}

describe('fleet filter', () => {
  it('round-trips through the URL, keeping other parameters and dropping unknown states', () => {
    const filter = filterFromSearch('?q=farm&state=booted&tag=rack-a&workstation=w1&batch=b1');
    expect(filter).toEqual({ q: 'farm', state: 'booted', tag: 'rack-a', workstation: 'w1' });
    expect(filterToSearch({ ...filter, q: undefined }, '?q=farm&batch=b1')).toBe('?batch=b1&workstation=w1&tag=rack-a&state=booted');
    expect(filterFromSearch('?state=exploded&q=%20%20')).toEqual({});
  });

  it('matches names case-insensitively, running including booted, and tags of the workstation', () => {
    const tags = (id: string) => (id === 'w1' ? ['rack-a'] : []);
    const booted = emulator('Farm-1', { state: 'running', booted: true });
    const stopped = emulator('other', { workstationId: 'w2' });
    expect(matcher({ q: 'farm' }, tags)(booted)).toBe(true);
    expect(matcher({ state: 'running' }, tags)(booted)).toBe(true);
    expect(matcher({ state: 'booted' }, tags)(emulator('x', { state: 'running', booted: false }))).toBe(false);
    expect(matcher({ tag: 'rack-a' }, tags)(stopped)).toBe(false);
    expect(matcher({ workstation: 'w2', state: 'stopped' }, tags)(stopped)).toBe(true);
  });

  it('targets the server-side filter when it can express it, else the ids', () => {
    expect(batchTargetFor({ q: 'farm', state: 'stopped' }, ['a'])).toEqual({ filter: { q: 'farm', state: 'stopped' } });
    expect(batchTargetFor({ tag: 'rack-a' }, ['a', 'b'])).toEqual({ ids: ['a', 'b'] });
    expect(batchTargetFor({ state: 'booted' }, ['a'])).toEqual({ ids: ['a'] });
    // No filter at all: the ids, never an empty filter that the server reads as "everything".
    expect(batchTargetFor({}, ['a'])).toEqual({ ids: ['a'] });
  });
});

describe('selection', () => {
  const order = ['a', 'b', 'c', 'd', 'e'];
  it('toggles rows and extends a range with shift from the anchor', () => {
    let selection = clickRow(EMPTY_SELECTION, 'b', order, false);
    selection = clickRow(selection, 'd', order, true);
    expect(selectedIds(selection, order)).toEqual(['b', 'c', 'd']);
    selection = clickRow(selection, 'c', order, false);
    expect(selectedIds(selection, order)).toEqual(['b', 'd']);
  });

  it('"all matching" covers every row of the filter, and a click turns it into explicit rows', () => {
    const all = selectAllMatching();
    expect(isSelected(all, 'zzz')).toBe(true);
    expect(selectedIds(all, order)).toEqual(order);
    expect(selectedIds(clickRow(all, 'a', order, false), order)).toEqual(['b', 'c', 'd', 'e']);
  });

  it('counts instances and workstations for the confirmation', () => {
    const workstation = new Map([['a', 'w1'], ['b', 'w1'], ['c', 'w2']]);
    expect(describeTargets(['a', 'b', 'c'], (id) => workstation.get(id))).toEqual({ instances: 3, workstations: 2 });
  });
});

describe('batch progress', () => {
  it('computes overall and per-workstation progress', () => {
    const children = [operation('1', { status: 'succeeded' }), operation('2', { status: 'failed' }), operation('3', { status: 'running', workstationId: 'w2' })];
    const per = byWorkstation(children);
    expect(per.map((one) => [one.workstationId, one.done, one.total, one.percent])).toEqual([['w1', 2, 2, 100], ['w2', 0, 1, 0]]);
    expect(progressOf({ queued: 0, running: 1, succeeded: 1, failed: 1, cancelled: 0 }).percent).toBe(66);
  });

  it('ignores a late running event after the final one, but takes a retry', () => {
    let children = applyOperation(new Map(), operation('1', { status: 'failed', attempts: 1 }));
    children = applyOperation(children, operation('1', { status: 'running', attempts: 1 }));
    expect(children.get('1')?.status).toBe('failed');
    children = applyOperation(children, operation('1', { status: 'queued', attempts: 1 }));
    expect(children.get('1')?.status).toBe('queued');
  });

  it('derives a status when the server gives none', () => {
    const counts = { queued: 0, running: 0, succeeded: 2, failed: 1, cancelled: 0 };
    expect(batchStatus({ counts, total: 3 })).toBe('partial');
    expect(batchStatus({ counts: { ...counts, succeeded: 0 }, total: 1 })).toBe('failed');
    expect(batchStatus({ counts, total: 3, status: 'cancelled' })).toBe('cancelled');
  });
});

describe('settings form', () => {
  it('checks like the API: cpu 1–4, memory sizes, resolution bounds, identity or auto', () => {
    expect(checkSettings({ cpu: '4', memoryMb: '2048', width: '1280', height: '720', dpi: '240', imei: 'auto', mac: '00DB8E123456', root: 'on' })).toEqual({
      settings: { cpu: 4, memoryMb: 2048, resolution: { width: 1280, height: 720, dpi: 240 }, imei: 'auto', mac: '00DB8E123456', root: true },
      errors: {},
    });
    const { errors } = checkSettings({ cpu: '5', memoryMb: '3000', width: '1280', imei: '123', manufacturer: 'has space' });
    expect(Object.keys(errors).sort()).toEqual(['cpu', 'dpi', 'height', 'imei', 'manufacturer', 'memoryMb']);
    expect(checkSettings({})).toEqual({ settings: {}, errors: {} });
  });
});
