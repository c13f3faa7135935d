import { Select, SimpleGrid, TextInput } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { EmulatorSettings as Settings, SettingsInput } from '../../sdk/index.js';
import { MEMORY_SIZES, checkSettings } from '../logic/settings.js';
import type { SettingsDraft } from '../logic/settings.js';

/** The settings typed as text; each shows today's value, or a hint, as its placeholder. */
type TextField = 'manufacturer' | 'model' | 'phoneNumber' | 'imei' | 'imsi' | 'simSerial' | 'androidId' | 'mac';

const TEXT_FIELDS: [TextField, string, string][] = [
  ['manufacturer', 'Manufacturer', 'samsung'],
  ['model', 'Model', 'SM-G9880'],
  ['phoneNumber', 'Phone number', '+8613800000000'],
  ['imei', 'IMEI', '15 digits or auto'],
  ['imsi', 'IMSI', '15 digits or auto'],
  ['simSerial', 'SIM serial', '20 digits or auto'],
  ['androidId', 'Android ID', '16 hex or auto'],
  ['mac', 'MAC', '12 hex or auto'],
];

/**
 * The settings to change (empty = unchanged); `current` shows today's values as placeholders.
 * `onChange` gets the valid changes, or null while a field is invalid.
 */
export function SettingsForm({ current, onChange }: { current?: Settings; onChange: (settings: SettingsInput | null) => void }) {
  const [draft, setDraft] = useState<SettingsDraft>({});
  const { settings, errors } = checkSettings(draft);
  const valid = Object.keys(errors).length === 0;
  const key = JSON.stringify(valid ? settings : null);
  useEffect(() => onChange(valid ? settings : null), [key]);
  const field = (name: keyof SettingsDraft) => ({
    value: draft[name] ?? '',
    error: errors[name],
    onChange: (event: { currentTarget: { value: string } }) => {
      const value = event.currentTarget.value;
      setDraft((known) => ({ ...known, [name]: value }));
    },
  });
  const select = (name: keyof SettingsDraft) => ({
    value: draft[name] ?? null,
    error: errors[name],
    clearable: true,
    onChange: (value: string | null) => setDraft((known) => ({ ...known, [name]: value ?? '' })),
  });
  const flag = (value: boolean | undefined) => (value === undefined ? 'unchanged' : value ? 'now on' : 'now off');
  return (
    <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }} spacing="sm">
      <Select label="CPU cores" placeholder={current ? String(current.cpu) : 'unchanged'} data={['1', '2', '3', '4']} {...select('cpu')} />
      <Select label="Memory (MB)" placeholder={current ? String(current.memoryMb) : 'unchanged'} data={MEMORY_SIZES.map(String)} {...select('memoryMb')} />
      <TextInput label="Width" inputMode="numeric" placeholder={current ? String(current.resolution.width) : 'unchanged'} {...field('width')} />
      <TextInput label="Height" inputMode="numeric" placeholder={current ? String(current.resolution.height) : 'unchanged'} {...field('height')} />
      <TextInput label="DPI" inputMode="numeric" placeholder={current ? String(current.resolution.dpi) : 'unchanged'} {...field('dpi')} />
      {TEXT_FIELDS.map(([name, label, hint]) => (
        <TextInput key={name} label={label} placeholder={current ? current[name] || hint : hint} {...field(name)} />
      ))}
      {(['autoRotate', 'lockWindow', 'root'] as const).map((name) => (
        <Select key={name} label={{ autoRotate: 'Auto-rotate', lockWindow: 'Lock window', root: 'Root' }[name]} placeholder={flag(current?.[name])} data={['on', 'off']} {...select(name)} />
      ))}
    </SimpleGrid>
  );
}
