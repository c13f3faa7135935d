import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { adbUnreachable, guestPath, runAdb, transfer } from './adb.js';
import { apps } from './apps.js';
import { CONFIG_KEYS } from './config.js';
import {
  mutateInstance,
  notRunning,
  option,
  parameterError,
  usageError,
  type CommandContext,
  type InstanceHandler,
  type PlainHandler,
} from './context.js';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';
import { generate } from './identity.js';
import { ok } from './output.js';

/** setprop keys that are really identity settings (official examples: `--key phone.imei --value auto`). */
const IDENTITY_PROPS: Record<string, { key: string; make: () => string }> = {
  'phone.imei': { key: CONFIG_KEYS.imei, make: generate.imei },
  'phone.imsi': { key: CONFIG_KEYS.imsi, make: generate.imsi },
  'phone.simserial': { key: CONFIG_KEYS.simSerial, make: generate.simSerial },
  'phone.androidid': { key: CONFIG_KEYS.androidId, make: generate.androidId },
};

export const setprop: InstanceHandler = (ctx, instance) => {
  const key = option(ctx, 'key');
  const value = ctx.options.get('value');
  if (!key || value === undefined) return usageError();
  return mutateInstance(ctx, instance.index, (fresh) => {
    const identity = IDENTITY_PROPS[key];
    if (identity) {
      ctx.store.writeConfig(fresh.index, { ...fresh.config, [identity.key]: value === 'auto' ? identity.make() : value });
    } else {
      ctx.store.updateRuntime(fresh.index, (runtime) => {
        runtime.props[key] = value;
      });
    }
    return ok();
  });
};

function coordinates(value: string | undefined): [number, number] | undefined {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(value ?? '');
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** `--LLI lng,lat`, persisted to statusSettings.location as LD14 does (the value's shape there is unknown). */
export const locate: InstanceHandler = (ctx, instance) => {
  const lli = ctx.options.get('LLI');
  if (lli === undefined) return usageError();
  const point = coordinates(lli);
  if (!point) return parameterError();
  return mutateInstance(ctx, instance.index, (fresh) => {
    ctx.store.writeConfig(fresh.index, { ...fresh.config, [CONFIG_KEYS.location]: { longitude: point[0], latitude: point[1] } });
    return ok();
  });
};

export const adb: InstanceHandler = (ctx, instance) => {
  const command = ctx.options.get('command');
  if (command === undefined) return usageError();
  return runAdb(ctx.store, instance, command);
};

function transferCommand(direction: 'push' | 'pull'): InstanceHandler {
  return (ctx, instance) => {
    const remote = option(ctx, 'remote');
    const local = option(ctx, 'local');
    if (!remote || !local) return usageError();
    const blocked = adbUnreachable(instance);
    if (blocked) return blocked;
    const guest = guestPath(ctx.store, instance, remote);
    return direction === 'push' ? transfer('pushed', local, guest) : transfer('pulled', guest, local);
  };
}

export const push = transferCommand('push');
export const pull = transferCommand('pull');

/** Invisible effects: validate, then rc 0 with no output. */
export const scan: InstanceHandler = (ctx) => (option(ctx, 'file') ? ok() : usageError());

export const downcpu: InstanceHandler = (ctx) => {
  const rate = ctx.options.get('rate');
  if (rate === undefined) return usageError();
  return /^\d+$/.test(rate) && Number(rate) <= 100 ? ok() : parameterError();
};

export const noop: PlainHandler = () => ok();

type ActionHandler = (ctx: CommandContext, index: number, value: string) => ReturnType<PlainHandler> | undefined;

const numberList = (count: number) => (value: string) => {
  const parts = value.split(',');
  return parts.length === count && parts.every((part) => part.trim() !== '' && Number.isFinite(Number(part)));
};

/** Each `call.*` key: a value check, and the effect the sim can observe. */
const ACTIONS: Record<string, { valid: (value: string) => boolean; run?: ActionHandler }> = {
  'call.keyboard': { valid: (value) => ['back', 'home', 'menu', 'volumeup', 'volumedown'].includes(value) },
  'call.input': { valid: () => true },
  'call.shake': { valid: () => true },
  'call.gravity': { valid: numberList(3) },
  'call.capture': { valid: () => true },
  /** Lat,lng here (the opposite of locate --LLI); stored the same way. */
  'call.locate': {
    valid: numberList(2),
    run: (ctx, index, value) => {
      const [latitude, longitude] = value.split(',').map(Number);
      return mutateInstance(ctx, index, (fresh) => {
        ctx.store.writeConfig(fresh.index, { ...fresh.config, [CONFIG_KEYS.location]: { longitude, latitude } });
        return ok();
      });
    },
  },
  'call.network': {
    valid: (value) => value === 'offline' || value === 'connect',
    run: (ctx, index, value) =>
      ctx.store.mutate(() => {
        ctx.store.updateRuntime(index, (runtime) => {
          if (runtime.session) runtime.session.network = value as 'offline' | 'connect';
        });
        return ok();
      }),
  },
  /** Reboots, then starts the named app (`null` = none). */
  'call.reboot': {
    valid: () => true,
    run: (ctx, index, value) => {
      const result = mutateInstance(ctx, index, (fresh) => {
        ctx.store.quit(fresh);
        ctx.store.launch(fresh);
        return ok();
      });
      if (value !== 'null' && value !== '') apps.start(ctx.store, index, value);
      return result;
    },
  },
  'call.exit': {
    valid: () => true,
    run: (ctx, index) =>
      mutateInstance(ctx, index, (fresh) => {
        ctx.store.quit(fresh);
        return ok();
      }),
  },
};

export const action: InstanceHandler = (ctx, instance) => {
  const key = option(ctx, 'key');
  const value = ctx.options.get('value');
  if (!key || value === undefined) return usageError();
  const spec = ACTIONS[key];
  if (!spec || !spec.valid(value)) return parameterError();
  if (!instance.runtime.session) return notRunning();
  return spec.run?.(ctx, instance.index, value) ?? ok();
};

/** Plays an inline macro; only its JSON is checked. The `{"code":0}` reply is inferred from wrappers. */
export const operaterecord: InstanceHandler = (ctx, instance) => {
  const content = ctx.options.get('content');
  if (content === undefined) return usageError();
  try {
    JSON.parse(content);
  } catch {
    return parameterError();
  }
  if (!instance.runtime.session) return notRunning();
  return ok(JSON.stringify({ code: 0 }));
};

function recordInfo(file: string): unknown {
  const record = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as { recordInfo?: unknown };
  return record.recordInfo ?? {};
}

/** The macros in vms/operationRecords as `[{file, info}]`. */
export const operatelist: InstanceHandler = (ctx) => {
  const folder = ctx.store.paths.operationRecords;
  const files = existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith('.record')).sort() : [];
  const entries = files.flatMap((name) => {
    try {
      return [{ file: name, info: recordInfo(join(folder, name)) }];
    } catch {
      return [];
    }
  });
  return ok(JSON.stringify(entries));
};

export const operateinfo: InstanceHandler = (ctx) => {
  const file = option(ctx, 'file');
  if (!file) return usageError();
  const path = isAbsolute(file) ? file : join(ctx.store.paths.operationRecords, file);
  try {
    return ok(JSON.stringify({ file: basename(path), info: recordInfo(path) }));
  } catch {
    return parameterError();
  }
};

/** --fps writes framesPerSecond; the keys for --audio/--fastplay/--cleanmode are guesses (reference §3.4). */
const GLOBAL_OPTIONS: Record<string, { valid: (n: number) => boolean; write: (n: number) => Record<string, unknown> }> = {
  fps: { valid: (n) => n >= 0 && n <= 60, write: (n) => ({ framesPerSecond: n }) },
  audio: { valid: (n) => n === 0 || n === 1, write: (n) => ({ reduceAudio: n === 0 }) },
  fastplay: { valid: (n) => n === 0 || n === 1, write: (n) => ({ fastPlay: n === 1 }) },
  cleanmode: { valid: (n) => n === 0 || n === 1, write: (n) => ({ cleanMode: n === 1 }) },
};

export const globalsetting: PlainHandler = (ctx) => {
  const writes: Record<string, unknown> = {};
  for (const [name, value] of ctx.options) {
    const spec = GLOBAL_OPTIONS[name];
    if (!spec) continue;
    if (!/^\d+$/.test(value) || !spec.valid(Number(value))) return parameterError();
    Object.assign(writes, spec.write(Number(value)));
  }
  if (Object.keys(writes).length === 0) return ok();
  return ctx.store.mutate(() => {
    const current = readJsonIfExists<Record<string, unknown>>(ctx.store.paths.globalConfig) ?? {};
    writeJsonAtomic(ctx.store.paths.globalConfig, { ...current, ...writes });
    return ok();
  });
};
