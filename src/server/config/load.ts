import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema, ENV_NAMES } from './schema.js';
import type { Config, ConfigKey } from './schema.js';

/** A setting was refused; `problems` name each bad key and what it allows. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** Usually `process.env`; only `LDFLEET_*` names are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of a JSON file whose keys are the config keys (`port`, `dataDir`…). */
  readonly file?: string | undefined;
  /** Command-line flags; they win over the environment, which wins over the file. */
  readonly overrides?: Partial<Record<ConfigKey, unknown>>;
}

/** Reads defaults < file < environment < overrides, checks the result and returns it. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const problems: string[] = [];
  const merged: Record<string, unknown> = {
    ...readConfigFile(sources.file, problems),
    ...readEnvironment(sources.env ?? {}),
  };
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    if (value !== undefined) merged[key] = value;
  }
  const withDefaults = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, merged)) as Record<string, unknown>;
  problems.push(...describeProblems(withDefaults));
  if ((withDefaults.tlsCert === undefined) !== (withDefaults.tlsKey === undefined)) problems.push('tlsCert and tlsKey: give both (HTTPS) or neither');
  if (problems.length > 0) throw new ConfigError(problems);
  return withDefaults as Config;
}

function readConfigFile(path: string | undefined, problems: string[]): Record<string, unknown> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`--config: cannot read ${path}: ${(error as Error).message}`);
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    problems.push(`--config: ${path} must hold a JSON object of settings`);
  } catch (error) {
    problems.push(`--config: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return {};
}

function readEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES) as [ConfigKey, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    values[key] = key === 'corsOrigins' ? splitList(raw) : raw;
  }
  return values;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** One line per bad key: `port (LDFLEET_PORT): must be an integer 0–65535, got "abc"`. */
function describeProblems(value: Record<string, unknown>): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const error of Value.Errors(ConfigSchema, value)) {
    const key = error.path.split('/')[1] ?? '';
    if (seen.has(key)) continue;
    seen.add(key);
    if (!(key in ConfigSchema.properties)) {
      lines.push(`${key}: unknown setting; allowed keys are ${Object.keys(ConfigSchema.properties).join(', ')}`);
      continue;
    }
    const schema = ConfigSchema.properties[key as ConfigKey] as TSchema;
    const shown = key === 'jwtSecret' || key === 'secretsKey' || key === 'redisUrl' || key === 'adminPassword' || key === 'metricsToken' ? '(hidden)' : JSON.stringify(value[key]);
    lines.push(`${key} (${ENV_NAMES[key as ConfigKey]}): must be ${schema.description ?? error.message}, got ${shown}`);
  }
  return lines;
}
