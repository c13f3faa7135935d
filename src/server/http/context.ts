import type { App } from './type-provider.js';

/**
 * A unit of the server. `routes` is called inside the /api/v1 prefix with what the unit needs
 * from the server's assembly (`C`, a part of `ServerContext` in `src/server/context.ts`); each
 * route must carry `config: { auth: 'public' | 'viewer' | 'operator' | 'admin' }`. The http unit
 * names no other unit: the units import it, not the other way round.
 */
export interface ServerUnit<C = unknown> {
  readonly name: string;
  routes(api: App, context: C): void | Promise<void>;
}
