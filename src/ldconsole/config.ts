/**
 * Reader for `vms/config/leidianN.config`: flat JSON whose keys are literal dotted names,
 * UTF-8 with or without a BOM. It is the source of truth for titles and settings where list2's
 * code-page output is lossy.
 */
import { readFile, rename, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Resolution } from './parse.js';

export interface InstanceSettings {
  readonly cpu: number;
  readonly memoryMb: number;
  readonly resolution: Resolution;
  readonly manufacturer: string;
  readonly model: string;
  readonly phoneNumber: string;
  readonly imei: string;
  readonly imsi: string;
  readonly simSerial: string;
  readonly androidId: string;
  readonly mac: string;
  readonly autoRotate: boolean;
  readonly lockWindow: boolean;
  readonly root: boolean;
  /** 0 off, 1 local, 2 remote; adb only answers for 1 or 2. */
  readonly adbDebug: number;
}

export interface InstanceConfig {
  /** `statusSettings.playerName`; absent while the instance keeps its default title. */
  readonly title: string | undefined;
  readonly settings: InstanceSettings;
  /** Settings that were missing from the file and took their default. */
  readonly defaulted: readonly (keyof InstanceSettings)[];
  /** Every key of the file, as written. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export const CONFIG_KEYS = {
  title: 'statusSettings.playerName',
  cpu: 'advancedSettings.cpuCount',
  memoryMb: 'advancedSettings.memorySize',
  resolution: 'advancedSettings.resolution',
  dpi: 'advancedSettings.resolutionDpi',
  manufacturer: 'propertySettings.phoneManufacturer',
  model: 'propertySettings.phoneModel',
  phoneNumber: 'propertySettings.phoneNumber',
  imei: 'propertySettings.phoneIMEI',
  imsi: 'propertySettings.phoneIMSI',
  simSerial: 'propertySettings.phoneSimSerial',
  androidId: 'propertySettings.phoneAndroidId',
  mac: 'propertySettings.macAddress',
  autoRotate: 'basicSettings.autoRotate',
  lockWindow: 'basicSettings.lockWindow',
  root: 'basicSettings.rootMode',
  adbDebug: 'basicSettings.adbDebug',
} as const;

/**
 * What a fresh instance runs with while its file lacks the advancedSettings keys. The real
 * defaults vary by build and are not in the file; callers that know better (list2's effective
 * resolution, say) pass their own.
 */
export const DEFAULT_INSTANCE_SETTINGS: InstanceSettings = {
  cpu: 2,
  memoryMb: 2048,
  resolution: { width: 1600, height: 900, dpi: 240 },
  manufacturer: '',
  model: '',
  phoneNumber: '',
  imei: '',
  imsi: '',
  simSerial: '',
  androidId: '',
  mac: '',
  autoRotate: false,
  lockWindow: false,
  root: false,
  adbDebug: 0,
};

export function configPath(installDir: string, index: number): string {
  return join(installDir, 'vms', 'config', `leidian${index}.config`);
}

export async function readInstanceConfig(installDir: string, index: number, defaults: Partial<InstanceSettings> = {}): Promise<InstanceConfig> {
  const bytes = await readFile(configPath(installDir, index));
  return parseInstanceConfig(bytes.toString('utf8'), defaults);
}

/**
 * Sets one numeric top-level key of an instance's config, changing nothing else: the text is
 * edited in place (key order, spacing, line ends and a BOM stay as LDPlayer wrote them), checked
 * to still parse, and written atomically (a temporary file beside it, then a rename), so
 * LDPlayer never reads half a file. Edit only while the instance is stopped: a running
 * LDPlayer rewrites the file from memory on exit. Returns false when the value was already set.
 */
export async function setConfigNumber(installDir: string, index: number, key: string, value: number): Promise<boolean> {
  const file = configPath(installDir, index);
  const bytes = await readFile(file);
  const text = bytes.toString('utf8');
  if (Buffer.compare(Buffer.from(text, 'utf8'), bytes) !== 0) throw new SyntaxError(`${file} is not UTF-8; left unchanged`);
  const before = parseInstanceConfig(text).raw;
  if (before[key] === value) return false;
  const quoted = JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const existing = new RegExp(`(${quoted}\\s*:\\s*)(-?\\d+(?:\\.\\d+)?|"[^"]*"|true|false|null)`);
  let edited: string;
  if (existing.test(text)) edited = text.replace(existing, (_match, prefix: string) => `${prefix}${value}`);
  else {
    const open = text.indexOf('{');
    if (open < 0) throw new SyntaxError(`${file} is not a JSON object; left unchanged`);
    const empty = Object.keys(before).length === 0;
    const newline = text.includes('\r\n') ? '\r\n' : '\n';
    const indent = /\{\s*?\n([ \t]+)"/.exec(text)?.[1] ?? '    ';
    edited = `${text.slice(0, open + 1)}${newline}${indent}${JSON.stringify(key)}: ${value}${empty ? newline : ','}${text.slice(open + 1).replace(/^\r?\n/, newline)}`;
  }
  const after = parseInstanceConfig(edited).raw;
  if (after[key] !== value || Object.keys(after).length !== Object.keys(before).length + (key in before ? 0 : 1)) {
    throw new SyntaxError(`editing ${key} in ${file} would change other keys; left unchanged`);
  }
  const temp = `${file}.${process.pid}.ldfleet-tmp`;
  try {
    await writeFile(temp, edited, 'utf8');
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return true;
}

/** Parses the text of a leidianN.config (a leading BOM is allowed). */
export function parseInstanceConfig(text: string, defaults: Partial<InstanceSettings> = {}): InstanceConfig {
  const parsed: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('an instance config must be a JSON object');
  const raw = parsed as Record<string, unknown>;
  const base: InstanceSettings = { ...DEFAULT_INSTANCE_SETTINGS, ...defaults };
  const defaulted: (keyof InstanceSettings)[] = [];
  const pick = <K extends keyof InstanceSettings>(key: K, value: InstanceSettings[K] | undefined): InstanceSettings[K] => {
    if (value !== undefined) return value;
    defaulted.push(key);
    return base[key];
  };
  const settings: InstanceSettings = {
    cpu: pick('cpu', numberAt(raw, CONFIG_KEYS.cpu)),
    memoryMb: pick('memoryMb', numberAt(raw, CONFIG_KEYS.memoryMb)),
    resolution: pick('resolution', resolutionIn(raw, base.resolution)),
    manufacturer: pick('manufacturer', stringAt(raw, CONFIG_KEYS.manufacturer)),
    model: pick('model', stringAt(raw, CONFIG_KEYS.model)),
    phoneNumber: pick('phoneNumber', stringAt(raw, CONFIG_KEYS.phoneNumber)),
    imei: pick('imei', stringAt(raw, CONFIG_KEYS.imei)),
    imsi: pick('imsi', stringAt(raw, CONFIG_KEYS.imsi)),
    simSerial: pick('simSerial', stringAt(raw, CONFIG_KEYS.simSerial)),
    androidId: pick('androidId', stringAt(raw, CONFIG_KEYS.androidId)),
    mac: pick('mac', stringAt(raw, CONFIG_KEYS.mac)),
    autoRotate: pick('autoRotate', booleanAt(raw, CONFIG_KEYS.autoRotate)),
    lockWindow: pick('lockWindow', booleanAt(raw, CONFIG_KEYS.lockWindow)),
    root: pick('root', booleanAt(raw, CONFIG_KEYS.root)),
    adbDebug: pick('adbDebug', numberAt(raw, CONFIG_KEYS.adbDebug)),
  };
  const title = stringAt(raw, CONFIG_KEYS.title);
  return { title: title === '' ? undefined : title, settings, defaulted, raw };
}

function numberAt(raw: Record<string, unknown>, key: string): number | undefined {
  const value = raw[key];
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

function stringAt(raw: Record<string, unknown>, key: string): string | undefined {
  const value = raw[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Booleans are `true/false` in LD9 dumps; some builds and tools write 0/1. */
function booleanAt(raw: Record<string, unknown>, key: string): boolean | undefined {
  const value = raw[key];
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  return undefined;
}

/** Width and height live in one object and the dpi in another key; any of them may be missing. */
function resolutionIn(raw: Record<string, unknown>, fallback: Resolution): Resolution | undefined {
  const size = raw[CONFIG_KEYS.resolution];
  const dpi = numberAt(raw, CONFIG_KEYS.dpi);
  const record = size !== null && typeof size === 'object' ? (size as Record<string, unknown>) : undefined;
  const width = record ? numberAt(record, 'width') : undefined;
  const height = record ? numberAt(record, 'height') : undefined;
  if (width === undefined && height === undefined && dpi === undefined) return undefined;
  return { width: width ?? fallback.width, height: height ?? fallback.height, dpi: dpi ?? fallback.dpi };
}
