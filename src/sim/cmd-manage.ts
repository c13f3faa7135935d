import { readFileSync } from 'node:fs';
import { CONFIG_KEYS, newInstanceConfig, type InstanceConfig } from './config.js';
import { mutateInstance, option, parameterError, usageError, type CommandContext, type InstanceHandler, type PlainHandler } from './context.js';
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic } from './fsutil.js';
import { helpLines } from './help.js';
import { RC, fail, type CommandResult } from './output.js';
import type { Instance, Runtime } from './store.js';
import { ok } from './output.js';

function withName(config: InstanceConfig, name: string | undefined): InstanceConfig {
  if (name === undefined) return config;
  return { ...config, [CONFIG_KEYS.playerName]: name };
}

/** New and cloned instances get `basicSettings.adbDebug` from the home's mode (LDPlayer may leave it off). */
function withAdbDefault(ctx: CommandContext, config: InstanceConfig): InstanceConfig {
  return { ...config, [CONFIG_KEYS.adbDebug]: ctx.store.settings.modes.adbDefault };
}

/** rc = the new index (lowest free), no output. */
export const add: PlainHandler = (ctx) => {
  const name = option(ctx, 'name');
  const index = ctx.store.mutate(() => ctx.store.create(withName(withAdbDefault(ctx, newInstanceConfig()), name)));
  return { exitCode: index, lines: [] };
};

interface CopyMarker {
  until: number;
}

/**
 * Clones config, apps and props into the lowest free index; rc = the new index. `--from` is an
 * index when all digits, else a title. The identity is copied unchanged (unknown on the real tool;
 * wrappers re-run `modify --imei auto …` after a copy). While a copy of LDFLEET_SIM_COPY_MS is
 * in progress, another copy returns rc 3 with no output.
 */
export const copy: PlainHandler = (ctx) => {
  const from = option(ctx, 'from');
  const name = option(ctx, 'name');
  return ctx.store.mutate((): CommandResult => {
    const now = ctx.store.now();
    const marker = readJsonIfExists<CopyMarker>(ctx.store.paths.copyMarker);
    if (marker && marker.until > now) return { exitCode: RC.copyBusy, lines: [] };
    const source = from === undefined ? undefined : /^\d+$/.test(from) ? ctx.store.get(Number(from)) : ctx.store.findByTitle(from);
    if (!source) return fail(RC.copySourceMissing, ...helpLines());
    const config = ctx.store.settings.modes.adbDefault === 0 ? withAdbDefault(ctx, source.config) : { ...source.config };
    delete config[CONFIG_KEYS.playerName];
    const index = ctx.store.create(withName(config, name), {
      installedApps: [...source.runtime.installedApps],
      props: { ...source.runtime.props },
    });
    if (ctx.store.settings.copyMs > 0) writeJsonAtomic(ctx.store.paths.copyMarker, { until: now + ctx.store.settings.copyMs });
    return { exitCode: index, lines: [] };
  });
};

/** Removing a running instance stops it first, then deletes it (the real behaviour is untested). */
export const remove: InstanceHandler = (ctx, instance) =>
  mutateInstance(ctx, instance.index, (fresh) => {
    ctx.store.remove(fresh.index);
    return ok();
  });

export const rename: InstanceHandler = (ctx, instance) => {
  const title = option(ctx, 'title');
  if (title === undefined) return usageError();
  return mutateInstance(ctx, instance.index, (fresh) => {
    ctx.store.writeConfig(fresh.index, withName(fresh.config, title));
    return ok();
  });
};

/** The sim's `.ldbk`: JSON of the config plus the guest state it models. */
interface Backup {
  format: 'ldfleet-sim-ldbk';
  version: 1;
  config: InstanceConfig;
  installedApps: string[];
  props: Record<string, string>;
}

export const backup: InstanceHandler = (ctx, instance) => {
  const file = option(ctx, 'file');
  if (!file) return usageError();
  const content: Backup = {
    format: 'ldfleet-sim-ldbk',
    version: 1,
    config: instance.config,
    installedApps: instance.runtime.installedApps,
    props: instance.runtime.props,
  };
  writeFileAtomic(file, JSON.stringify(content));
  return ok();
};

function readBackup(file: string): Backup | undefined {
  try {
    const content = JSON.parse(readFileSync(file, 'utf8')) as Partial<Backup>;
    return content.format === 'ldfleet-sim-ldbk' && content.config ? (content as Backup) : undefined;
  } catch {
    return undefined;
  }
}

/** Overwrites the selected instance from a backup; a running target is stopped first. */
export const restore: InstanceHandler = (ctx, instance) => {
  const file = option(ctx, 'file');
  if (!file) return usageError();
  const content = readBackup(file);
  if (!content) return parameterError();
  return mutateInstance(ctx, instance.index, (fresh: Instance) => {
    const runtime: Runtime = { installedApps: [...content.installedApps], props: { ...content.props } };
    ctx.store.writeRuntime(fresh.index, runtime);
    ctx.store.writeConfig(fresh.index, content.config);
    return ok();
  });
};
