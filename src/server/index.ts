/**
 * The control server's public entry. Units: store, config, auth, workstations, http.
 * Another unit plugs in with `createServer(config, { units: [myUnit] })` and appends its
 * migrations to `store/migrations/index.ts`.
 */
export { createServer } from './server.js';
export type { Server, ServerOptions } from './server.js';
export type { ServerContext, ServerUnit, App } from './http/index.js';
export { loadConfig, ConfigError } from './config/index.js';
export type { Config } from './config/index.js';
