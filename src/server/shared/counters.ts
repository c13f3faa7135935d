import { sql } from 'kysely';
import type { Redis } from 'ioredis';
import type { Store } from '../store/index.js';

/**
 * Fixed-window counters every replica shares: rows of `rate_limits` (atomic upserts), or Redis
 * keys with a TTL when Redis is configured. Each method is one round trip.
 */
export interface WindowCounters {
  /** Counts one hit; returns the hits in the current window and the ms until it ends. */
  hit(key: string, windowMs: number, now: number): Promise<{ hits: number; endsInMs: number }>;
  /** The hits in the current window (0 when none) and the ms until it ends. */
  peek(key: string, now: number): Promise<{ hits: number; endsInMs: number }>;
  /** Forgets a key's window. */
  reset(key: string): Promise<void>;
  /** Takes back one hit of the current window. */
  refund(key: string, now: number): Promise<void>;
}

/** Expired rows are deleted by whichever replica makes the hundredth hit since its last sweep. */
const SWEEP_EVERY_HITS = 100;

export function storeCounters(store: Store): WindowCounters {
  const db = store.db;
  let hitsSinceSweep = 0;
  return {
    async hit(key, windowMs, now) {
      if (++hitsSinceSweep >= SWEEP_EVERY_HITS) {
        hitsSinceSweep = 0;
        await db.deleteFrom('rate_limits').where('window_ends_at', '<=', now).execute();
      }
      // One statement on both databases: a new key, an expired window restarted, or one more hit.
      const row = await db
        .insertInto('rate_limits')
        .values({ key, hits: 1, window_ends_at: now + windowMs })
        .onConflict((c) =>
          c.column('key').doUpdateSet({
            hits: sql<number>`case when rate_limits.window_ends_at <= ${now} then 1 else rate_limits.hits + 1 end`,
            window_ends_at: sql<number>`case when rate_limits.window_ends_at <= ${now} then ${now + windowMs} else rate_limits.window_ends_at end`,
          }),
        )
        .returning(['hits', 'window_ends_at'])
        .executeTakeFirstOrThrow();
      return { hits: Number(row.hits), endsInMs: Number(row.window_ends_at) - now };
    },
    async peek(key, now) {
      const row = await db.selectFrom('rate_limits').select(['hits', 'window_ends_at']).where('key', '=', key).executeTakeFirst();
      if (!row || Number(row.window_ends_at) <= now) return { hits: 0, endsInMs: 0 };
      return { hits: Number(row.hits), endsInMs: Number(row.window_ends_at) - now };
    },
    async reset(key) {
      await db.deleteFrom('rate_limits').where('key', '=', key).execute();
    },
    async refund(key, now) {
      await db
        .updateTable('rate_limits')
        .set({ hits: sql<number>`hits - 1` })
        .where('key', '=', key)
        .where('hits', '>', 0)
        .where('window_ends_at', '>', now)
        .execute();
    },
  };
}

const HIT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}`;
const REFUND_SCRIPT = `
local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
if hits > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

/** The same counters as Redis keys under `prefix`, expiring with their window. */
export function redisCounters(redis: Redis, prefix = 'ldfleet:rate:'): WindowCounters {
  return {
    async hit(key, windowMs) {
      const [hits, ttl] = (await redis.eval(HIT_SCRIPT, 1, prefix + key, windowMs)) as [number, number];
      return { hits, endsInMs: Math.max(0, ttl) };
    },
    async peek(key) {
      const [hits, ttl] = await redis.multi().get(prefix + key).pttl(prefix + key).exec().then((replies) => (replies ?? []).map(([, value]) => value));
      return { hits: Number(hits ?? 0), endsInMs: Math.max(0, Number(ttl ?? 0)) };
    },
    async reset(key) {
      await redis.del(prefix + key);
    },
    async refund(key) {
      await redis.eval(REFUND_SCRIPT, 1, prefix + key);
    },
  };
}
