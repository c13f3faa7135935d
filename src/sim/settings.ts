import { localeFromEnv, type Locale } from './config.js';
import { readJsonIfExists } from './fsutil.js';
import type { SimPaths } from './home.js';

export type SimEncoding = 'gbk' | 'utf8' | 'cp1251';

/** Behaviour knobs a spawner sets through the environment (see index.ts for the list). */
export interface SimSettings {
  locale: Locale;
  encoding: SimEncoding;
  list2Columns: 7 | 10;
  bootMs: number;
  androidLagMs: number;
  copyMs: number;
  /** Failure modes a farm meets; each off by default (see `SimModes`). */
  modes: SimModes;
}

/**
 * The failure modes of issue 15, set per home through the environment or, to switch them while
 * processes run, `<home>/sim-modes.json` (its keys win over the environment).
 */
export interface SimModes {
  /** `basicSettings.adbDebug` of instances `add` and `copy` create (1 like LDPlayer's default; 0 = adb off). */
  adbDefault: 0 | 1;
  /** Indexes whose boot never completes: the window comes up, `sys.boot_completed` stays unset. */
  hangBoot: number[];
  /**
   * A foreign adb fighting LDPlayer's: every adb call fails with a version-mismatch error.
   * `transient` ends at the next `kill-server` (our server wins), `persistent` never ends.
   */
  adbFight: 'off' | 'transient' | 'persistent';
}

function nonNegativeInt(raw: string | undefined, fallback: number): number {
  const value = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function encodingFromEnv(raw: string | undefined): SimEncoding {
  const normalized = (raw ?? '').toLowerCase().replace(/[-_]/g, '');
  if (normalized === 'utf8') return 'utf8';
  if (normalized === 'cp1251' || normalized === 'windows1251') return 'cp1251';
  return 'gbk';
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): SimSettings {
  return {
    locale: localeFromEnv(env),
    encoding: encodingFromEnv(env.LDFLEET_SIM_ENCODING),
    list2Columns: env.LDFLEET_SIM_LIST2_COLUMNS === '7' ? 7 : 10,
    bootMs: nonNegativeInt(env.LDFLEET_SIM_BOOT_MS, 3000),
    androidLagMs: nonNegativeInt(env.LDFLEET_SIM_ANDROID_LAG_MS, 0),
    copyMs: nonNegativeInt(env.LDFLEET_SIM_COPY_MS, 0),
    modes: {
      adbDefault: env.LDFLEET_SIM_ADB_DEFAULT === '0' ? 0 : 1,
      hangBoot: (env.LDFLEET_SIM_HANG_BOOT ?? '').split(',').filter((part) => /^\d+$/.test(part.trim())).map(Number),
      adbFight: adbFightFrom(env.LDFLEET_SIM_ADB_FIGHT),
    },
  };
}

function adbFightFrom(raw: unknown): SimModes['adbFight'] {
  return raw === 'transient' || raw === 'persistent' ? raw : 'off';
}

/** The environment's settings with the home's `sim-modes.json` applied on top. */
export function withHomeModes(paths: SimPaths, settings: SimSettings): SimSettings {
  const file = readJsonIfExists<Partial<SimModes>>(paths.modes);
  if (!file) return settings;
  const modes: SimModes = { ...settings.modes };
  if (file.adbDefault === 0 || file.adbDefault === 1) modes.adbDefault = file.adbDefault;
  if (Array.isArray(file.hangBoot)) modes.hangBoot = file.hangBoot.filter((index) => Number.isInteger(index));
  if (file.adbFight !== undefined) modes.adbFight = adbFightFrom(file.adbFight);
  return { ...settings, modes };
}
