/**
 * The dependency rules of issue 9 §6, read from the source: ops reads emulators through the
 * fleet unit, the http unit and the store's migration list import none of the units built on
 * them, each shape is defined once, and the engine and its routes are split along their seams.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SERVER_UNITS = ['auth', 'events', 'fleet', 'gateway', 'ops', 'workstations'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const read = (path: string) => readFileSync(path, 'utf8');
const rel = (path: string) => relative(ROOT, path);
const importsOf = (text: string) => [...text.matchAll(/from '([^']+)'/g)].map((match) => match[1] ?? '');

describe('the server units depend one way', () => {
  it('ops never queries the emulators table itself', () => {
    const offenders = sources(join(ROOT, 'src/server/ops')).filter((path) => /(selectFrom|updateTable|insertInto|deleteFrom)\(\s*'emulators'/.test(read(path)));
    expect(offenders.map(rel)).toEqual([]);
  });

  it('ops imports the fleet only through its public entry', () => {
    const deep = sources(join(ROOT, 'src/server/ops')).filter((path) => importsOf(read(path)).some((spec) => /\.\.\/fleet\/(?!index\.js)/.test(spec)));
    expect(deep.map(rel)).toEqual([]);
  });

  it('has one findEmulator', () => {
    const definitions = sources(join(ROOT, 'src/server')).filter((path) => /async findEmulators?\(/.test(read(path)));
    expect(definitions.map(rel)).toEqual([]);
  });

  it('the http unit and the store (its migration list included) import no unit built on them', () => {
    const lower = [...sources(join(ROOT, 'src/server/http')), ...sources(join(ROOT, 'src/server/store'))];
    const upward = lower.flatMap((path) =>
      importsOf(read(path))
        .filter((spec) => SERVER_UNITS.some((unit) => spec.includes(`../${unit}/`) || spec.includes(`../../${unit}/`)))
        .map((spec) => `${rel(path)} → ${spec}`),
    );
    expect(upward).toEqual([]);
  });

  it('defines the settings input, the instance name and the action error once, in src/protocol', () => {
    const all = [...sources(join(ROOT, 'src/server')), ...sources(join(ROOT, 'src/sdk')), ...sources(join(ROOT, 'src/agent'))];
    const redefined = all.filter((path) =>
      /(const|interface|type) (SettingsInputSchema|SettingsInput|InstanceNameSchema|ActionErrorOut|ActionError)\b/.test(read(path)),
    );
    expect(redefined.map(rel)).toEqual([]);
    const protocol = read(join(ROOT, 'src/protocol/index.ts'));
    for (const shape of ['SettingsInputSchema', 'InstanceNameSchema', 'ActionErrorSchema', 'RPC_PARAMS']) expect(protocol).toContain(`export const ${shape}`);
  });

  it('splits the engine and the routes along their seams', () => {
    const ops = join(ROOT, 'src/server/ops');
    for (const part of ['dispatch.ts', 'action-context.ts', 'targets.ts', 'outcomes.ts', 'emulator-routes.ts', 'batch-routes.ts', 'operation-routes.ts']) {
      expect(statSync(join(ops, part)).isFile(), part).toBe(true);
    }
    expect(read(join(ops, 'engine.ts')).split('\n').length).toBeLessThan(150);
    expect(read(join(ops, 'routes.ts')).split('\n').length).toBeLessThan(50);
  });
});
