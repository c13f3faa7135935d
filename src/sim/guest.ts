import { CONFIG_KEYS } from './config.js';
import type { Instance, SimStore } from './store.js';

export function adbSerial(index: number): string {
  return `emulator-${5554 + 2 * index}`;
}

function configString(instance: Instance, key: string): string {
  const value = instance.config[key];
  return typeof value === 'string' ? value : '';
}

/** The Android properties getprop shows: identity from the config, boot state from the clock, plus setprop values. */
export function guestProps(store: SimStore, instance: Instance): Record<string, string> {
  const props: Record<string, string> = {
    'ro.build.version.release': '9',
    'ro.build.version.sdk': '28',
    'ro.product.brand': configString(instance, CONFIG_KEYS.manufacturer),
    'ro.product.manufacturer': configString(instance, CONFIG_KEYS.manufacturer),
    'ro.product.model': configString(instance, CONFIG_KEYS.model),
    'ro.serialno': adbSerial(instance.index),
    'phone.imei': configString(instance, CONFIG_KEYS.imei),
    'phone.imsi': configString(instance, CONFIG_KEYS.imsi),
    'phone.simserial': configString(instance, CONFIG_KEYS.simSerial),
    'phone.androidid': configString(instance, CONFIG_KEYS.androidId),
    ...instance.runtime.props,
  };
  if (store.androidBooted(instance)) props['sys.boot_completed'] = '1';
  return Object.fromEntries(Object.entries(props).sort(([a], [b]) => a.localeCompare(b)));
}

/** `getprop` output: one value (an empty line when unset), or every property as `[key]: [value]`. */
export function getpropLines(store: SimStore, instance: Instance, key: string | undefined): string[] {
  const props = guestProps(store, instance);
  if (key) return [props[key] ?? ''];
  return Object.entries(props).map(([name, value]) => `[${name}]: [${value}]`);
}
