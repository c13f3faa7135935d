/**
 * The ldconsole simulator: `bin/ldconsole-sim` behaves like LDPlayer's `ldconsole.exe` on a
 * simulated install ("home"). This module is its control API for tests, the demo and benchmarks;
 * it reuses the same state code the CLI runs.
 *
 * Environment read by the simulator:
 * - LDFLEET_SIM_HOME             the install folder (else the bin's folder if it has vms/, else ./.sim)
 * - LDFLEET_SIM_ENCODING         gbk (default) | utf8 | cp1251
 * - LDFLEET_SIM_LOCALE           intl (default) | cn: default titles and resolution
 * - LDFLEET_SIM_LIST2_COLUMNS    10 (default) | 7 (old builds)
 * - LDFLEET_SIM_BOOT_MS          launch → list2 state 1 (default 3000)
 * - LDFLEET_SIM_ANDROID_LAG_MS   state 1 → sys.boot_completed=1 (default 0)
 * - LDFLEET_SIM_COPY_MS          how long a copy keeps running in the background (default 0)
 * - LDFLEET_SIM_FAULTS           fault rules as JSON (like sim-faults.json; `times` is not consumed)
 * - LDFLEET_SIM_ADB_DEFAULT      1 (default) | 0: add/copy create instances with ADB debugging off
 * - LDFLEET_SIM_HANG_BOOT        indexes (e.g. `1,3`) whose boot never completes
 * - LDFLEET_SIM_ADB_FIGHT        off (default) | transient | persistent: a foreign adb server
 * The last three can also be switched while processes run, per home, with `SimHome.setModes`
 * (`sim-modes.json`, whose keys win). A dropped launch is a fault rule:
 * `{command: 'launch', output: '', exitCode: 0, times: N}` (rc 0, nothing starts).
 *
 * Files in the home besides LDPlayer's own: sim-clock.json, sim-faults.json, sim-modes.json, sim-calls.log,
 * sim-copy.json, sim.lock/, vms/leidianN/sim-runtime.json, vms/leidianN/sim-guestfs/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTestApk } from '../apk/index.js';
import type { CallRecord } from './calllog.js';
import { readClockOffset, writeClockOffset } from './clock.js';
import { CONFIG_KEYS, newInstanceConfig, type InstanceConfig, type Locale } from './config.js';
import { writeFaults, type FaultFile, type FaultRule } from './faults.js';
import { readJsonIfExists } from './fsutil.js';
import { SimPaths } from './home.js';
import { settingsFromEnv, type SimEncoding, type SimModes } from './settings.js';
import { writeJsonAtomic } from './fsutil.js';
import { SimStore } from './store.js';

export type { CallRecord } from './calllog.js';
export type { FaultFile, FaultRule } from './faults.js';
export type { InstanceConfig, Locale, Resolution } from './config.js';
export type { SimEncoding, SimModes } from './settings.js';
export { buildTestApk } from '../apk/index.js';
export { adbSerial } from './guest.js';

/** Absolute path of the executable simulator (`bin/ldconsole-sim`). */
export const SIM_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/ldconsole-sim');

export interface SimHomeOptions {
  locale?: Locale;
  encoding?: SimEncoding;
  list2Columns?: 7 | 10;
  bootMs?: number;
  androidLagMs?: number;
  copyMs?: number;
}

export interface SeedInstance {
  /** Title written as statusSettings.playerName; absent = default title. */
  name?: string;
  /** Extra config keys (e.g. `advancedSettings.cpuCount`). */
  settings?: InstanceConfig;
  running?: boolean;
  /** With running: launched long enough ago to have booted (default true). */
  booted?: boolean;
  installedApps?: string[];
}

/** A simulated LDPlayer install on disk, and the knobs tests turn. */
export class SimHome {
  readonly paths: SimPaths;
  private readonly store: SimStore;

  private constructor(
    readonly dir: string,
    readonly options: SimHomeOptions,
  ) {
    this.paths = new SimPaths(dir);
    this.store = new SimStore(this.paths, settingsFromEnv(this.env()));
  }

  /** Creates (or adopts) a home folder with an empty install. */
  static create(dir: string, options: SimHomeOptions = {}): SimHome {
    mkdirSync(dir, { recursive: true });
    const home = new SimHome(resolve(dir), options);
    home.store.mutate(() => undefined);
    return home;
  }

  /** Environment for spawning the simulator on this home. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const { locale, encoding, list2Columns, bootMs, androidLagMs, copyMs } = this.options;
    const env: NodeJS.ProcessEnv = { ...process.env, LDFLEET_SIM_HOME: this.dir };
    if (locale) env.LDFLEET_SIM_LOCALE = locale;
    if (encoding) env.LDFLEET_SIM_ENCODING = encoding;
    if (list2Columns) env.LDFLEET_SIM_LIST2_COLUMNS = String(list2Columns);
    if (bootMs !== undefined) env.LDFLEET_SIM_BOOT_MS = String(bootMs);
    if (androidLagMs !== undefined) env.LDFLEET_SIM_ANDROID_LAG_MS = String(androidLagMs);
    if (copyMs !== undefined) env.LDFLEET_SIM_COPY_MS = String(copyMs);
    return { ...env, ...extra };
  }

  /** Adds instances directly on disk (no process spawned); returns their indexes. */
  seed(instances: SeedInstance[]): number[] {
    return instances.map((spec) =>
      this.store.mutate(() => {
        const config: InstanceConfig = { ...newInstanceConfig(), ...spec.settings };
        if (spec.name !== undefined) config[CONFIG_KEYS.playerName] = spec.name;
        const index = this.store.create(config, { installedApps: [...(spec.installedApps ?? [])], props: {} });
        if (spec.running) {
          const instance = this.store.get(index)!;
          this.store.launch(instance);
          if (spec.booted !== false) {
            instance.runtime.session!.launchedAt -= this.store.settings.bootMs + this.store.settings.androidLagMs;
            this.store.writeRuntime(index, instance.runtime);
          }
        }
        return index;
      }),
    );
  }

  /** Moves the sim clock forward for every process using this home. */
  advanceClock(ms: number): void {
    this.store.mutate(() => writeClockOffset(this.paths, readClockOffset(this.paths) + ms));
  }

  /** The sim clock now (wall clock + warp). */
  now(): number {
    return this.store.now();
  }

  setFaults(rules: FaultRule[], slowMs?: number): void {
    this.store.mutate(() => writeFaults(this.paths, { slowMs, rules }));
  }

  /** The fault file as it is now (rules with a `times` budget shrink as calls consume them). */
  faults(): FaultFile {
    return readJsonIfExists<FaultFile>(this.paths.faults) ?? {};
  }

  /** Switches failure modes for every process using this home from now on (merged with earlier calls). */
  setModes(modes: Partial<SimModes>): void {
    this.store.mutate(() => writeJsonAtomic(this.paths.modes, { ...readJsonIfExists<Partial<SimModes>>(this.paths.modes), ...modes }));
  }

  clearFaults(): void {
    this.store.mutate(() => writeFaults(this.paths, { rules: [] }));
  }

  /** Every logged call, oldest first. */
  calls(): CallRecord[] {
    let text: string;
    try {
      text = readFileSync(this.paths.callLog, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as CallRecord);
  }

  readConfig(index: number): InstanceConfig | undefined {
    return this.store.readConfig(index);
  }

  readGlobalConfig(): Record<string, unknown> | undefined {
    return readJsonIfExists(this.paths.globalConfig);
  }

  /** Writes an APK the simulator's install accepts, declaring `packageName`. */
  writeTestApk(path: string, packageName: string): string {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, buildTestApk(packageName));
    return path;
  }
}
