import type { SimStore } from './store.js';

/** Packages every simulated guest has; they can be started but not uninstalled. */
export const SYSTEM_PACKAGES = [
  'android',
  'com.android.settings',
  'com.android.systemui',
  'com.android.launcher3',
  'com.android.shell',
  'com.android.providers.settings',
  'com.android.webview',
] as const;

function isSystemPackage(pkg: string): boolean {
  return (SYSTEM_PACKAGES as readonly string[]).includes(pkg);
}

export function installedPackages(installed: readonly string[]): string[] {
  return [...SYSTEM_PACKAGES, ...installed];
}

/** App state changes on a running instance; each takes the lock and re-reads the runtime. */
export const apps = {
  install(store: SimStore, index: number, pkg: string): void {
    store.mutate(() =>
      store.updateRuntime(index, (runtime) => {
        if (!isSystemPackage(pkg) && !runtime.installedApps.includes(pkg)) runtime.installedApps.push(pkg);
      }),
    );
  },

  /** False when the package is not installed or is a system package. */
  uninstall(store: SimStore, index: number, pkg: string): boolean {
    return store.mutate(() => {
      let removed = false;
      store.updateRuntime(index, (runtime) => {
        removed = runtime.installedApps.includes(pkg);
        runtime.installedApps = runtime.installedApps.filter((name) => name !== pkg);
        if (runtime.session) runtime.session.runningApps = runtime.session.runningApps.filter((name) => name !== pkg);
      });
      return removed;
    });
  },

  /** False when the package is not installed. */
  start(store: SimStore, index: number, pkg: string): boolean {
    return store.mutate(() => {
      let started = false;
      store.updateRuntime(index, (runtime) => {
        const session = runtime.session;
        if (!session || !(isSystemPackage(pkg) || runtime.installedApps.includes(pkg))) return;
        if (!session.runningApps.includes(pkg)) session.runningApps.push(pkg);
        started = true;
      });
      return started;
    });
  },

  stop(store: SimStore, index: number, pkg: string): void {
    store.mutate(() =>
      store.updateRuntime(index, (runtime) => {
        if (runtime.session) runtime.session.runningApps = runtime.session.runningApps.filter((name) => name !== pkg);
      }),
    );
  },
};

/** A stable fake pid for a running app, derived from its name and the VM session. */
export function appPid(pkg: string, sessionSeed: number): number {
  let hash = sessionSeed;
  for (const ch of pkg) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return 1000 + (hash % 30_000);
}
