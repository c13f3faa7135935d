import { Redis } from 'ioredis';

/**
 * Connects to Redis and checks it answers before the server starts: a replica that was told to
 * share its limits in Redis must not quietly count alone. Commands fail fast (no offline queue
 * beyond a short reconnect) so a login does not wait in silence on a lost Redis.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    commandTimeout: 5000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Errors reach the commands that fail; an 'error' without a listener would crash the process.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactedUrl(url)}: ${(error as Error).message}`);
  }
  return redis;
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
