/** The config unit: one TypeBox schema for the file, the `LDFLEET_*` environment and CLI flags. */
export { ConfigSchema, ENV_NAMES } from './schema.js';
export type { Config, ConfigKey } from './schema.js';
export { loadConfig, ConfigError } from './load.js';
export type { ConfigSources } from './load.js';
