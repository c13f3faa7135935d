import { readFileSync } from 'node:fs';
import { readApkPackageNameSync } from '../apk/index.js';
import { apps } from './apps.js';
import { notRunning, option, parameterError, usageError, type InstanceHandler } from './context.js';
import { writeFileAtomic } from './fsutil.js';
import { ok, type CommandResult } from './output.js';
import type { Instance } from './store.js';

/** App commands act on the guest, so a stopped instance answers like getprop does. */
function onRunning(handler: InstanceHandler): InstanceHandler {
  return (ctx, instance) => (instance.runtime.session ? handler(ctx, instance) : notRunning());
}

/** --filename installs a local APK; --packagename models the LD Store install (any name succeeds). */
export const installapp: InstanceHandler = onRunning((ctx, instance) => {
  const file = option(ctx, 'filename');
  const storePackage = option(ctx, 'packagename');
  if (!file && !storePackage) return usageError();
  const pkg = file ? readApkPackageNameSync(file) : storePackage;
  if (!pkg) return ok('Failure [INSTALL_FAILED_INVALID_APK]');
  apps.install(ctx.store, instance.index, pkg);
  return ok();
});

function packageCommand(action: (ctx: Parameters<InstanceHandler>[0], instance: Instance, pkg: string) => CommandResult): InstanceHandler {
  return onRunning((ctx, instance) => {
    const pkg = option(ctx, 'packagename');
    return pkg ? action(ctx, instance, pkg) : usageError();
  });
}

export const uninstallapp = packageCommand((ctx, instance, pkg) => {
  apps.uninstall(ctx.store, instance.index, pkg);
  return ok();
});

/** Starting an app that is not installed silently does nothing. */
export const runapp = packageCommand((ctx, instance, pkg) => {
  apps.start(ctx.store, instance.index, pkg);
  return ok();
});

export const killapp = packageCommand((ctx, instance, pkg) => {
  apps.stop(ctx.store, instance.index, pkg);
  return ok();
});

interface AppBackup {
  format: 'ldfleet-sim-appbackup';
  packageName: string;
}

export const backupapp = packageCommand((ctx, instance, pkg) => {
  const file = option(ctx, 'file');
  if (!file) return usageError();
  if (!instance.runtime.installedApps.includes(pkg)) return parameterError();
  writeFileAtomic(file, JSON.stringify({ format: 'ldfleet-sim-appbackup', packageName: pkg } satisfies AppBackup));
  return ok();
});

export const restoreapp = packageCommand((ctx, instance, pkg) => {
  const file = option(ctx, 'file');
  if (!file) return usageError();
  let content: Partial<AppBackup>;
  try {
    content = JSON.parse(readFileSync(file, 'utf8')) as Partial<AppBackup>;
  } catch {
    return parameterError();
  }
  if (content.format !== 'ldfleet-sim-appbackup' || content.packageName !== pkg) return parameterError();
  apps.install(ctx.store, instance.index, pkg);
  return ok();
});
