import { CONFIG_KEYS, type InstanceConfig } from './config.js';
import { mutateInstance, parameterError, type CommandContext, type InstanceHandler } from './context.js';
import { generate, identityFormats } from './identity.js';
import { ok } from './output.js';

const MEMORY_SIZES = new Set([256, 512, 768, 1024, 1536, 2048, 4096, 8192]);

/** Turns one option value into config writes, or undefined when the value is invalid. */
type OptionRule = (value: string) => InstanceConfig | undefined;

function resolution(value: string): InstanceConfig | undefined {
  const match = /^(\d+),(\d+),(\d+)$/.exec(value.trim());
  if (!match) return undefined;
  const [width, height, dpi] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (width <= 0 || height <= 0 || dpi <= 0) return undefined;
  // One option, three fields (reference §3.4).
  return { [CONFIG_KEYS.resolution]: { width, height }, [CONFIG_KEYS.resolutionDpi]: dpi };
}

function integerIn(key: string, allowed: (n: number) => boolean): OptionRule {
  return (value) => (/^\d+$/.test(value) && allowed(Number(value)) ? { [key]: Number(value) } : undefined);
}

function flag(key: string): OptionRule {
  return (value) => (value === '0' || value === '1' ? { [key]: value === '1' } : undefined);
}

function text(key: string): OptionRule {
  return (value) => ({ [key]: value });
}

function identity(key: string, format: RegExp, make: () => string): OptionRule {
  return (value) => {
    if (value === 'auto') return { [key]: make() };
    return format.test(value) ? { [key]: value } : undefined;
  };
}

const MODIFY_OPTIONS: Record<string, OptionRule> = {
  resolution,
  cpu: integerIn(CONFIG_KEYS.cpuCount, (n) => n >= 1 && n <= 4),
  memory: integerIn(CONFIG_KEYS.memorySize, (n) => MEMORY_SIZES.has(n)),
  manufacturer: text(CONFIG_KEYS.manufacturer),
  model: text(CONFIG_KEYS.model),
  pnumber: text(CONFIG_KEYS.phoneNumber),
  imei: identity(CONFIG_KEYS.imei, identityFormats.imei, generate.imei),
  imsi: identity(CONFIG_KEYS.imsi, identityFormats.imsi, generate.imsi),
  simserial: identity(CONFIG_KEYS.simSerial, identityFormats.simserial, generate.simSerial),
  androidid: identity(CONFIG_KEYS.androidId, identityFormats.androidid, generate.androidId),
  mac: identity(CONFIG_KEYS.mac, identityFormats.mac, () => generate.mac()),
  autorotate: flag(CONFIG_KEYS.autoRotate),
  lockwindow: flag(CONFIG_KEYS.lockWindow),
  root: flag(CONFIG_KEYS.rootMode),
};

/** All writes of the known options, or undefined if any value is invalid (then nothing is written). */
function collectWrites(ctx: CommandContext): InstanceConfig | undefined {
  let writes: InstanceConfig = {};
  for (const [name, value] of ctx.options) {
    const rule = MODIFY_OPTIONS[name];
    if (!rule) continue; // unknown options are ignored, as on the real tool
    const write = rule(value);
    if (!write) return undefined;
    writes = { ...writes, ...write };
  }
  return writes;
}

/**
 * Writes the config only. On a running instance the effective resolution stays until quit+launch
 * or reboot, because list2 shows the session's values.
 */
export const modify: InstanceHandler = (ctx, instance) => {
  const writes = collectWrites(ctx);
  if (!writes) return parameterError();
  if (Object.keys(writes).length === 0) return ok();
  return mutateInstance(ctx, instance.index, (fresh) => {
    ctx.store.writeConfig(fresh.index, { ...fresh.config, ...writes });
    return ok();
  });
};

/** `modify` on a missing instance is rc 0 with nothing changed, unlike every other Sel command. */
export const modifyMissing = () => ok();
