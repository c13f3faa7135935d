import { localeFromEnv, type Locale } from './config.js';

export type SimEncoding = 'gbk' | 'utf8' | 'cp1251';

/** Behaviour knobs a spawner sets through the environment (see index.ts for the list). */
export interface SimSettings {
  locale: Locale;
  encoding: SimEncoding;
  list2Columns: 7 | 10;
  bootMs: number;
  androidLagMs: number;
  copyMs: number;
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
  };
}
