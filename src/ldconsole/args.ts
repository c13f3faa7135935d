/**
 * Argument building and driver-side validation. Everything here is pure: bad input throws an
 * `invalid_argument` LdConsoleError before any process is spawned.
 */
import { invalidArgument } from './errors.js';

/** Which instance a command targets. Prefer `index`: titles may be duplicated or mangled. */
export type Selector = { readonly index: number } | { readonly name: string };

export function selectorArgs(command: string, selector: Selector): string[] {
  if ('index' in selector) {
    if (!Number.isSafeInteger(selector.index) || selector.index < 0) {
      throw invalidArgument(command, `instance index must be a non-negative integer, got ${String(selector.index)}`);
    }
    return ['--index', String(selector.index)];
  }
  requireOptionValue(command, 'name', selector.name);
  return ['--name', selector.name];
}

export function describeSelector(selector: Selector): string {
  return 'index' in selector ? `index ${selector.index}` : `name ${JSON.stringify(selector.name)}`;
}

/** `copy --from` reads an all-digit value as an index, so an all-digit title cannot be a source by name. */
export function copySourceArg(selector: Selector): string {
  if ('index' in selector) return selectorArgs('copy', selector)[1] ?? '';
  requireOptionValue('copy', 'from', selector.name);
  if (/^\d+$/.test(selector.name)) {
    throw invalidArgument('copy', `copy --from reads the all-digit title ${JSON.stringify(selector.name)} as an index; select the source by index`);
  }
  return selector.name;
}

/** Rejects empty values, and NUL and line breaks, which no argv entry or title can carry. */
export function requireText(command: string, what: string, value: string): void {
  if (typeof value !== 'string' || value === '') throw invalidArgument(command, `${what} must be a non-empty string`);
  if (/[\0\r\n]/.test(value)) throw invalidArgument(command, `${what} must not contain NUL or line breaks`);
}

/**
 * A value that follows an option (`--name X`, `--title X`, `--packagename X`): besides
 * `requireText`, a leading `-` is refused, since ldconsole would read `--name --index 3` as two
 * options and act on the wrong instance (defence in depth behind the API's own checks).
 */
export function requireOptionValue(command: string, what: string, value: string): void {
  requireText(command, what, value);
  if (value.startsWith('-')) throw invalidArgument(command, `${what} must not start with "-" (ldconsole would read it as an option)`);
}

// ---------------------------------------------------------------------------------------------
// modify

/** Every memory size (MB) some LD build's help accepts; see reference §3.4. */
export const MEMORY_SIZES_MB = [256, 512, 768, 1024, 1536, 2048, 4096, 8192] as const;
export type MemoryMb = (typeof MEMORY_SIZES_MB)[number];
export const CPU_COUNTS = [1, 2, 3, 4] as const;
export type CpuCount = (typeof CPU_COUNTS)[number];

/** `'auto'` asks LDPlayer to generate a fresh identity value. */
export type AutoOr = 'auto' | (string & {});

export interface ModifySettings {
  readonly resolution?: { readonly width: number; readonly height: number; readonly dpi: number };
  readonly cpu?: CpuCount;
  readonly memoryMb?: MemoryMb;
  readonly manufacturer?: string;
  readonly model?: string;
  /** `--pnumber`. */
  readonly phoneNumber?: string;
  /** `auto` or 15 digits. */
  readonly imei?: AutoOr;
  /** `auto` or 15 digits. */
  readonly imsi?: AutoOr;
  /** `auto` or 20 digits. */
  readonly simSerial?: AutoOr;
  /** `auto` or 16 hex characters. */
  readonly androidId?: AutoOr;
  /** `auto` or 12 hex characters, no separators. */
  readonly mac?: AutoOr;
  readonly autoRotate?: boolean;
  readonly lockWindow?: boolean;
  readonly root?: boolean;
}

const IDENTITY_FORMATS = {
  imei: { option: '--imei', pattern: /^\d{15}$/, what: '15 digits' },
  imsi: { option: '--imsi', pattern: /^\d{15}$/, what: '15 digits' },
  simSerial: { option: '--simserial', pattern: /^\d{20}$/, what: '20 digits' },
  androidId: { option: '--androidid', pattern: /^[0-9a-fA-F]{16}$/, what: '16 hex characters' },
  mac: { option: '--mac', pattern: /^[0-9a-fA-F]{12}$/, what: '12 hex characters without separators' },
} as const;

const TEXT_OPTIONS = {
  manufacturer: {
    option: '--manufacturer',
    pattern: /^(?!-)[^\s,"]{1,64}$/,
    what: '1-64 characters without spaces, commas or quotes, not starting with "-"',
  },
  model: { option: '--model', pattern: /^(?!-)[^\r\n\0",]{1,64}$/, what: '1-64 characters without commas or quotes, not starting with "-"' },
  phoneNumber: { option: '--pnumber', pattern: /^\+?\d{1,20}$/, what: 'up to 20 digits, optionally after +' },
} as const;

const SWITCH_OPTIONS = { autoRotate: '--autorotate', lockWindow: '--lockwindow', root: '--root' } as const;

/** Resolution bounds generous enough for every preset LD offers (up to 4K phones). */
const MAX_SIDE = 8192;
const MIN_SIDE = 100;
const MIN_DPI = 60;
const MAX_DPI = 1000;

/** Validates settings and returns the option list for `modify`, in a stable order. */
export function modifyArgs(settings: ModifySettings): string[] {
  const args: string[] = [];
  const known = new Set<string>(['resolution', 'cpu', 'memoryMb', ...Object.keys(IDENTITY_FORMATS), ...Object.keys(TEXT_OPTIONS), ...Object.keys(SWITCH_OPTIONS)]);
  for (const key of Object.keys(settings)) {
    if (!known.has(key)) throw invalidArgument('modify', `unknown setting ${JSON.stringify(key)}`);
  }
  if (settings.resolution !== undefined) args.push('--resolution', resolutionArg(settings.resolution));
  if (settings.cpu !== undefined) {
    if (!(CPU_COUNTS as readonly number[]).includes(settings.cpu)) throw invalidArgument('modify', `cpu must be one of ${CPU_COUNTS.join(', ')}`);
    args.push('--cpu', String(settings.cpu));
  }
  if (settings.memoryMb !== undefined) {
    if (!(MEMORY_SIZES_MB as readonly number[]).includes(settings.memoryMb)) {
      throw invalidArgument('modify', `memoryMb must be one of ${MEMORY_SIZES_MB.join(', ')}`);
    }
    args.push('--memory', String(settings.memoryMb));
  }
  for (const [key, format] of Object.entries(TEXT_OPTIONS)) {
    const value = settings[key as keyof typeof TEXT_OPTIONS];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !format.pattern.test(value)) throw invalidArgument('modify', `${key} must be ${format.what}`);
    args.push(format.option, value);
  }
  for (const [key, format] of Object.entries(IDENTITY_FORMATS)) {
    const value = settings[key as keyof typeof IDENTITY_FORMATS];
    if (value === undefined) continue;
    if (typeof value !== 'string' || (value !== 'auto' && !format.pattern.test(value))) {
      throw invalidArgument('modify', `${key} must be "auto" or ${format.what}`);
    }
    args.push(format.option, value);
  }
  for (const [key, option] of Object.entries(SWITCH_OPTIONS)) {
    const value = settings[key as keyof typeof SWITCH_OPTIONS];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw invalidArgument('modify', `${key} must be a boolean`);
    args.push(option, value ? '1' : '0');
  }
  if (args.length === 0) throw invalidArgument('modify', 'no settings to change');
  return args;
}

function resolutionArg(resolution: { width: number; height: number; dpi: number }): string {
  const { width, height, dpi } = resolution;
  const inRange = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
  if (!inRange(width, MIN_SIDE, MAX_SIDE) || !inRange(height, MIN_SIDE, MAX_SIDE)) {
    throw invalidArgument('modify', `resolution width and height must be integers in ${MIN_SIDE}..${MAX_SIDE}`);
  }
  if (!inRange(dpi, MIN_DPI, MAX_DPI)) throw invalidArgument('modify', `resolution dpi must be an integer in ${MIN_DPI}..${MAX_DPI}`);
  return `${width},${height},${dpi}`;
}

// ---------------------------------------------------------------------------------------------
// globalsetting, locate, downcpu

export interface GlobalSettings {
  /** 0..60 frames per second, written to leidians.config `framesPerSecond`. */
  readonly fps?: number;
  readonly audio?: boolean;
  readonly fastPlay?: boolean;
  readonly cleanMode?: boolean;
}

export function globalSettingArgs(settings: GlobalSettings): string[] {
  const args: string[] = [];
  if (settings.fps !== undefined) {
    if (!Number.isInteger(settings.fps) || settings.fps < 0 || settings.fps > 60) throw invalidArgument('globalsetting', 'fps must be an integer in 0..60');
    args.push('--fps', String(settings.fps));
  }
  const switches = { audio: '--audio', fastPlay: '--fastplay', cleanMode: '--cleanmode' } as const;
  for (const [key, option] of Object.entries(switches)) {
    const value = settings[key as keyof typeof switches];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw invalidArgument('globalsetting', `${key} must be a boolean`);
    args.push(option, value ? '1' : '0');
  }
  if (args.length === 0) throw invalidArgument('globalsetting', 'no settings to change');
  return args;
}

/** WGS-84 coordinates. */
export interface GeoPoint {
  readonly latitude: number;
  readonly longitude: number;
}

export function validateGeoPoint(command: string, point: GeoPoint): void {
  const { latitude, longitude } = point;
  if (!Number.isFinite(latitude) || latitude < -90 || latitude > 90) throw invalidArgument(command, 'latitude must be in -90..90');
  if (!Number.isFinite(longitude) || longitude < -180 || longitude > 180) throw invalidArgument(command, 'longitude must be in -180..180');
}

export function cpuRateArg(rate: number): string {
  if (!Number.isInteger(rate) || rate < 0 || rate > 100) throw invalidArgument('downcpu', 'rate must be an integer in 0..100');
  return String(rate);
}

// ---------------------------------------------------------------------------------------------
// action

/** Every `action --key call.*` the public sources name, with its value. */
export type Action =
  | { readonly key: 'call.keyboard'; readonly value: 'back' | 'home' | 'menu' | 'volumeup' | 'volumedown' }
  /** Types text, CJK included (where `adb shell input text` fails). */
  | { readonly key: 'call.input'; readonly value: string }
  /** Reboots, then starts the package if one is given. */
  | { readonly key: 'call.reboot'; readonly value: string | null }
  | { readonly key: 'call.locate'; readonly value: GeoPoint }
  | { readonly key: 'call.shake' }
  | { readonly key: 'call.network'; readonly value: 'offline' | 'connect' }
  | { readonly key: 'call.gravity'; readonly value: { readonly x: number; readonly y: number; readonly z: number } }
  /** Named by one wrapper only; semantics unconfirmed. */
  | { readonly key: 'call.exit' }
  /** Named by one wrapper only; semantics unconfirmed. */
  | { readonly key: 'call.capture' };

const KEYBOARD_KEYS = ['back', 'home', 'menu', 'volumeup', 'volumedown'];
/** Checked although the type says so: an action can arrive from the wire, and its value lands on ldconsole's command line. */
const NETWORK_STATES: readonly string[] = ['offline', 'connect'];

export function actionArgs(action: Action): string[] {
  return ['--key', action.key, '--value', actionValue(action)];
}

function actionValue(action: Action): string {
  switch (action.key) {
    case 'call.keyboard':
      if (!KEYBOARD_KEYS.includes(action.value)) throw invalidArgument('action', `call.keyboard value must be one of ${KEYBOARD_KEYS.join(', ')}`);
      return action.value;
    case 'call.input':
      requireText('action', 'call.input value', action.value);
      return action.value;
    case 'call.reboot':
      if (action.value === null) return 'null';
      requireText('action', 'call.reboot package', action.value);
      return action.value;
    case 'call.locate':
      validateGeoPoint('action', action.value);
      // The official comment says "纬度,经度": latitude first, unlike `locate --LLI`.
      return `${action.value.latitude},${action.value.longitude}`;
    case 'call.network':
      if (!NETWORK_STATES.includes(action.value)) throw invalidArgument('action', 'call.network value must be offline or connect');
      return action.value;
    case 'call.gravity': {
      const { x, y, z } = action.value;
      if (![x, y, z].every(Number.isFinite)) throw invalidArgument('action', 'call.gravity needs finite x, y and z');
      return `${x},${y},${z}`;
    }
    case 'call.shake':
    case 'call.exit':
    case 'call.capture':
      return 'null';
  }
}
