import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { simNow } from './clock.js';
import {
  CONFIG_KEYS,
  configuredResolution,
  newGlobalConfig,
  newInstanceConfig,
  titleOf,
  vboxXml,
  type InstanceConfig,
  type Resolution,
} from './config.js';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';
import type { SimPaths } from './home.js';
import { fakeHwnd, fakePid } from './identity.js';
import { withHomeLock } from './lock.js';
import type { SimSettings } from './settings.js';

/** One run of the VM, from launch to quit. Its absence means the instance is stopped. */
export interface Session {
  /** Sim-clock ms; state and boot are derived from it, so no background process is needed. */
  launchedAt: number;
  pidPlayer: number;
  pidBox: number;
  hwndTop: number;
  hwndBind: number;
  /** The resolution the VM booted with; `modify` on a running instance does not change it. */
  effective: Resolution;
  runningApps: string[];
  network: 'connect' | 'offline';
  /** `basicSettings.adbDebug` when the VM started: LDPlayer reads the config at launch only. */
  adbDebug?: number;
}

/** The sim's own per-instance state (vms/leidianN/sim-runtime.json); not a file LDPlayer has. */
export interface Runtime {
  session?: Session;
  /** Third-party packages; they survive a quit, as on a real disk. */
  installedApps: string[];
  /** Properties set through setprop. */
  props: Record<string, string>;
}

export const enum InstanceState {
  Stopped = 0,
  Running = 1,
  Starting = 2,
}

export interface Instance {
  index: number;
  title: string;
  config: InstanceConfig;
  runtime: Runtime;
}

export interface Selector {
  index?: string;
  name?: string;
}

const CONFIG_FILE = /^leidian(\d+)\.config$/;

function emptyRuntime(): Runtime {
  return { installedApps: [], props: {} };
}

/** Reads and mutates the simulated install. Mutators expect the caller to hold the home lock (see `mutate`). */
export class SimStore {
  constructor(
    readonly paths: SimPaths,
    readonly settings: SimSettings,
  ) {}

  now(): number {
    return simNow(this.paths);
  }

  /** Runs a read-modify-write under the home lock. */
  mutate<T>(work: () => T): T {
    return withHomeLock(this.paths, () => {
      this.ensureInstall();
      return work();
    });
  }

  ensureInstall(): void {
    mkdirSync(this.paths.configDir, { recursive: true });
    if (!existsSync(this.paths.globalConfig)) writeJsonAtomic(this.paths.globalConfig, newGlobalConfig(this.settings.locale));
  }

  indexes(): number[] {
    let names: string[];
    try {
      names = readdirSync(this.paths.configDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => CONFIG_FILE.exec(name)?.[1])
      .filter((digits): digits is string => digits !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  readConfig(index: number): InstanceConfig | undefined {
    return readJsonIfExists<InstanceConfig>(this.paths.instanceConfig(index));
  }

  writeConfig(index: number, config: InstanceConfig): void {
    writeJsonAtomic(this.paths.instanceConfig(index), config);
  }

  readRuntime(index: number): Runtime {
    return { ...emptyRuntime(), ...readJsonIfExists<Runtime>(this.paths.runtime(index)) };
  }

  writeRuntime(index: number, runtime: Runtime): void {
    writeJsonAtomic(this.paths.runtime(index), runtime);
  }

  get(index: number): Instance | undefined {
    const config = this.readConfig(index);
    if (!config) return undefined;
    return { index, config, title: titleOf(index, config, this.settings.locale), runtime: this.readRuntime(index) };
  }

  /** Every instance in index order; one removed between listing and reading is skipped. */
  all(): Instance[] {
    return this.indexes()
      .map((index) => this.get(index))
      .filter((instance): instance is Instance => instance !== undefined);
  }

  /** `--index N` wins over `--name TITLE`; a title matches exactly, the lowest index first. */
  select(selector: Selector): Instance | undefined {
    if (selector.index !== undefined) {
      return /^\d+$/.test(selector.index) ? this.get(Number(selector.index)) : undefined;
    }
    if (selector.name !== undefined) return this.findByTitle(selector.name);
    return undefined;
  }

  findByTitle(title: string): Instance | undefined {
    return this.all().find((instance) => instance.title === title);
  }

  stateOf(instance: Instance, now = this.now()): InstanceState {
    const session = instance.runtime.session;
    if (!session) return InstanceState.Stopped;
    return now < session.launchedAt + this.settings.bootMs ? InstanceState.Starting : InstanceState.Running;
  }

  androidBooted(instance: Instance, now = this.now()): boolean {
    const session = instance.runtime.session;
    if (session === undefined || this.settings.modes.hangBoot.includes(instance.index)) return false;
    return now >= session.launchedAt + this.settings.bootMs + this.settings.androidLagMs;
  }

  /** The w/h/dpi list2 shows: the booted values while running, the configured ones otherwise. */
  displayedResolution(instance: Instance): Resolution {
    return instance.runtime.session?.effective ?? configuredResolution(instance.config, this.settings.locale);
  }

  lowestFreeIndex(): number {
    const taken = new Set(this.indexes());
    let index = 0;
    while (taken.has(index)) index++;
    return index;
  }

  /** Creates an instance at the lowest free index (gaps are reused) and returns it. */
  create(config: InstanceConfig = newInstanceConfig(), runtime: Runtime = emptyRuntime()): number {
    const index = this.lowestFreeIndex();
    rmSync(this.paths.instanceDir(index), { recursive: true, force: true });
    mkdirSync(this.paths.instanceDir(index), { recursive: true });
    writeFileSync(this.paths.instanceDir(index) + '/leidian.vbox', vboxXml(index));
    this.writeRuntime(index, { ...runtime, session: undefined });
    // The config is the instance's existence marker, so it is written last.
    this.writeConfig(index, config);
    return index;
  }

  /** Deletes the config first so readers stop seeing the instance before its folder goes. */
  remove(index: number): void {
    rmSync(this.paths.instanceConfig(index), { force: true });
    rmSync(this.paths.instanceDir(index), { recursive: true, force: true });
  }

  launch(instance: Instance): void {
    if (instance.runtime.session) return; // launching a running instance is a no-op
    instance.runtime.session = {
      launchedAt: this.now(),
      pidPlayer: fakePid(),
      pidBox: fakePid(),
      hwndTop: fakeHwnd(),
      hwndBind: fakeHwnd(),
      effective: configuredResolution(instance.config, this.settings.locale),
      runningApps: [],
      network: 'connect',
      adbDebug: Number(instance.config[CONFIG_KEYS.adbDebug] ?? 1),
    };
    this.writeRuntime(instance.index, instance.runtime);
  }

  quit(instance: Instance): void {
    if (!instance.runtime.session) return;
    delete instance.runtime.session;
    this.writeRuntime(instance.index, instance.runtime);
  }

  /** Applies a change to an instance's runtime under the caller's lock, re-reading it first. */
  updateRuntime(index: number, change: (runtime: Runtime) => void): void {
    const runtime = this.readRuntime(index);
    change(runtime);
    this.writeRuntime(index, runtime);
  }
}
