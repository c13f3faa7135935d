import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyDiff,
  diffSnapshots,
  isEmptyDiff,
  resolveGeneration,
  snapshotOf,
  type Generation,
} from '../../src/agent/inventory.js';
import type { ObservedInstance, Settings } from '../../src/protocol/index.js';
import { adbSerialFor } from '../../src/protocol/index.js';

const SETTINGS: Settings = {
  cpu: 2,
  memoryMb: 2048,
  resolution: { width: 540, height: 960, dpi: 240 },
  manufacturer: 'samsung',
  model: 'SM-S9110',
  phoneNumber: '',
  imei: '010067020670557',
  imsi: '460006645800743',
  simSerial: '89860026099371928981',
  androidId: '6ecae0a3a8a21868',
  mac: '00DBBF9A087E',
  autoRotate: false,
  lockWindow: false,
  root: false,
};

function instance(index: number, overrides: Partial<ObservedInstance> = {}): ObservedInstance & { settings: Settings } {
  return {
    index,
    generation: 'g1',
    name: `LDPlayer-${index}`,
    state: 'stopped',
    booted: false,
    pids: null,
    settings: SETTINGS,
    adbSerial: adbSerialFor(index),
    ...overrides,
  } as ObservedInstance & { settings: Settings };
}

const arbitraryInstance = fc
  .record({
    index: fc.integer({ min: 0, max: 12 }),
    generation: fc.constantFrom('g1', 'g2', 'g3'),
    name: fc.constantFrom('a', 'b', 'LDPlayer'),
    state: fc.constantFrom('stopped' as const, 'starting' as const, 'running' as const),
    booted: fc.boolean(),
    cpu: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ cpu, ...fields }) => {
    const base = instance(fields.index, fields);
    return { ...base, settings: { ...base.settings, cpu } };
  });
const arbitrarySnapshot = fc.array(arbitraryInstance, { maxLength: 10 }).map(snapshotOf);

describe('diffSnapshots', () => {
  it('reproduces the next snapshot when applied to the previous one', () => {
    fc.assert(
      fc.property(arbitrarySnapshot, arbitrarySnapshot, (previous, next) => {
        expect(applyDiff(previous, diffSnapshots(previous, next))).toEqual(next);
      }),
    );
  });

  it('is empty between equal snapshots, even when rebuilt from copies', () => {
    fc.assert(
      fc.property(arbitrarySnapshot, (snapshot) => {
        const copy = snapshotOf(structuredClone([...snapshot.values()]));
        expect(isEmptyDiff(diffSnapshots(snapshot, copy))).toBe(true);
      }),
    );
  });

  it('only sends instances that changed', () => {
    const previous = snapshotOf([instance(0), instance(1), instance(3)]);
    const next = snapshotOf([instance(0), instance(1, { state: 'running' }), instance(4)]);
    const diff = diffSnapshots(previous, next);
    expect(diff.upserts.map((i) => i.index)).toEqual([1, 4]);
    expect(diff.removed).toEqual([{ index: 3, generation: 'g1' }]);
  });

  it('removes the old generation and upserts the new one when an index is reused', () => {
    const diff = diffSnapshots(snapshotOf([instance(2)]), snapshotOf([instance(2, { generation: 'g2' })]));
    expect(diff.removed).toEqual([{ index: 2, generation: 'g1' }]);
    expect(diff.upserts.map((i) => i.generation)).toEqual(['g2']);
  });

  it('notices a change deep inside the settings', () => {
    const changed = instance(0);
    const next = { ...changed, settings: { ...changed.settings, resolution: { width: 720, height: 1280, dpi: 320 } } };
    expect(diffSnapshots(snapshotOf([instance(0)]), snapshotOf([next])).upserts).toHaveLength(1);
  });
});

describe('resolveGeneration', () => {
  it('derives the generation from the folder creation time', () => {
    const generation = resolveGeneration(undefined, { folderBirthMs: 1_700_000_000_123.5, configCtimeMs: 5 });
    expect(generation?.source).toBe('birth');
    expect(generation?.value).toMatch(/^b[0-9a-z]+$/);
  });

  it('gives a recreated folder a new generation', () => {
    const first = resolveGeneration(undefined, { folderBirthMs: 1_700_000_000_000 });
    const second = resolveGeneration(first ?? undefined, { folderBirthMs: 1_700_000_050_000 });
    expect(second?.value).not.toBe(first?.value);
  });

  it('is stable while the folder stays, whatever happens to the config', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 4e12, noNaN: true }), fc.array(fc.double({ min: 1, max: 4e12, noNaN: true })), (birth, ctimes) => {
        const first = resolveGeneration(undefined, { folderBirthMs: birth });
        let current: Generation | null = first;
        for (const ctime of ctimes) current = resolveGeneration(current ?? undefined, { folderBirthMs: birth, configCtimeMs: ctime });
        expect(current).toEqual(first);
      }),
    );
  });

  it('falls back to the config ctime, then holds it while the index stays listed', () => {
    const first = resolveGeneration(undefined, { folderBirthMs: 0, configCtimeMs: 1_700_000_000_000 });
    expect(first?.source).toBe('ctime');
    // A `modify` rewrites the config and moves its ctime: same instance, same generation.
    const later = resolveGeneration(first ?? undefined, { configCtimeMs: 1_700_000_090_000 });
    expect(later).toEqual(first);
    // Once the index was gone (no previous), a new ctime means a new instance.
    const reused = resolveGeneration(undefined, { configCtimeMs: 1_700_000_090_000 });
    expect(reused?.value).not.toBe(first?.value);
  });

  it('keeps a folder-based generation when the folder is briefly unreadable', () => {
    const first = resolveGeneration(undefined, { folderBirthMs: 1_700_000_000_000 });
    expect(resolveGeneration(first ?? undefined, { configCtimeMs: 9 })).toEqual(first);
  });

  it('has no generation without any evidence', () => {
    expect(resolveGeneration(undefined, {})).toBeNull();
  });
});
