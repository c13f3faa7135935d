/**
 * The shared unit: state every replica of the server shares through the database (or Redis):
 * the generated secrets, encrypted at rest; and fixed-window counters (login throttling).
 */
import type { Store } from '../store/index.js';
import { connectRedis } from './redis.js';
import { redisCounters, storeCounters } from './counters.js';
import type { WindowCounters } from './counters.js';

export { sharedStateMigration } from './schema.js';
export { loadSecrets } from './secrets.js';
export type { Secrets, SecretsOptions } from './secrets.js';
export type { WindowCounters } from './counters.js';

export interface SharedLimits {
  readonly counters: WindowCounters;
  close(): Promise<void>;
}

/** The counters in Redis when `redisUrl` is set, else in the store's `rate_limits` table. */
export async function openSharedLimits(store: Store, redisUrl: string | undefined): Promise<SharedLimits> {
  if (redisUrl === undefined) return { counters: storeCounters(store), close: async () => undefined };
  const redis = await connectRedis(redisUrl);
  return {
    counters: redisCounters(redis),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
