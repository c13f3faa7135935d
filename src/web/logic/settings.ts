/**
 * The settings form's validation, the same rules as the API's `modify` (cpu 1–4, memory sizes,
 * resolution bounds, identity fields or "auto"), so a mistake is shown before it is sent.
 * Empty fields mean "leave unchanged".
 */
import type { SettingsInput } from '../../sdk/index.js';

export const MEMORY_SIZES = [256, 512, 768, 1024, 1536, 2048, 4096, 8192] as const;

export type SettingsDraft = Partial<Record<
  'cpu' | 'memoryMb' | 'width' | 'height' | 'dpi' | 'manufacturer' | 'model' | 'phoneNumber' | 'imei' | 'imsi' | 'simSerial' | 'androidId' | 'mac' | 'autoRotate' | 'lockWindow' | 'root',
  string
>>;

const IDENTITY: Record<'imei' | 'imsi' | 'simSerial' | 'androidId' | 'mac', [RegExp, string]> = {
  imei: [/^[0-9]{15}$/, '15 digits or auto'],
  imsi: [/^[0-9]{15}$/, '15 digits or auto'],
  simSerial: [/^[0-9]{20}$/, '20 digits or auto'],
  androidId: [/^[0-9a-fA-F]{16}$/, '16 hex characters or auto'],
  mac: [/^[0-9a-fA-F]{12}$/, '12 hex characters or auto'],
};

export interface SettingsCheck {
  settings: SettingsInput;
  errors: Partial<Record<keyof SettingsDraft, string>>;
}

function integer(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

export function checkSettings(draft: SettingsDraft): SettingsCheck {
  const settings: SettingsInput = {};
  const errors: SettingsCheck['errors'] = {};
  const value = (key: keyof SettingsDraft) => draft[key]?.trim() ?? '';

  if (value('cpu')) {
    const cpu = integer(value('cpu'));
    if (cpu === undefined || cpu < 1 || cpu > 4) errors.cpu = 'CPU cores are 1 to 4';
    else settings.cpu = cpu;
  }
  if (value('memoryMb')) {
    const memory = integer(value('memoryMb'));
    if (memory === undefined || !(MEMORY_SIZES as readonly number[]).includes(memory)) errors.memoryMb = `memory is one of ${MEMORY_SIZES.join(', ')} MB`;
    else settings.memoryMb = memory as SettingsInput['memoryMb'];
  }
  const resolutionParts = [value('width'), value('height'), value('dpi')];
  if (resolutionParts.some((part) => part !== '')) {
    const [width, height, dpi] = resolutionParts.map(integer);
    if (width === undefined || width < 100 || width > 8192) errors.width = 'width is 100 to 8192';
    if (height === undefined || height < 100 || height > 8192) errors.height = 'height is 100 to 8192';
    if (dpi === undefined || dpi < 60 || dpi > 1000) errors.dpi = 'dpi is 60 to 1000';
    if (width !== undefined && height !== undefined && dpi !== undefined && !errors.width && !errors.height && !errors.dpi) {
      settings.resolution = { width, height, dpi };
    }
  }
  if (value('manufacturer')) {
    if (!/^[^\s,"]{1,64}$/.test(value('manufacturer'))) errors.manufacturer = '1–64 characters without spaces, commas or quotes';
    else settings.manufacturer = value('manufacturer');
  }
  if (value('model')) {
    if (!/^[^\r\n",]{1,64}$/.test(value('model')) || value('model').includes('\u0000')) errors.model = '1–64 characters without commas or quotes';
    else settings.model = value('model');
  }
  if (value('phoneNumber')) {
    if (!/^\+?[0-9]{1,20}$/.test(value('phoneNumber'))) errors.phoneNumber = 'up to 20 digits, optionally after +';
    else settings.phoneNumber = value('phoneNumber');
  }
  for (const key of Object.keys(IDENTITY) as (keyof typeof IDENTITY)[]) {
    const text = value(key);
    if (!text) continue;
    const [pattern, message] = IDENTITY[key];
    if (text !== 'auto' && !pattern.test(text)) errors[key] = message;
    else settings[key] = text;
  }
  for (const key of ['autoRotate', 'lockWindow', 'root'] as const) {
    const text = value(key);
    if (text === 'on') settings[key] = true;
    else if (text === 'off') settings[key] = false;
  }
  return { settings, errors };
}
