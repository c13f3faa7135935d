/**
 * The control server's public entry. Units: store, config, auth, workstations, http.
 * Another unit plugs in with `createServer(config, { units: [myUnit] })` and appends its
 * migrations to `src/server/migrations.ts`.
 */
export { createServer } from './server.js';
export type { Server, ServerOptions } from './server.js';
export type { ServerUnit, App } from './http/index.js';
export type { ServerContext } from './context.js';
export { loadConfig, ConfigError } from './config/index.js';
export type { Config } from './config/index.js';
