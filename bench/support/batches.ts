/** What the benchmarks read back of a batch. */
import type { LdfleetClient } from '../../src/sdk/index.js';

/** Failed children by `category/code`, with one message each, so a bad run explains itself. */
export async function failureBreakdown(client: LdfleetClient, batchId: string): Promise<Record<string, { count: number; example: string }>> {
  const failed = await client.all((page) => client.listOperations({ ...page, batch: batchId, status: 'failed' }), 1000);
  const breakdown: Record<string, { count: number; example: string }> = {};
  for (const operation of failed) {
    const key = `${operation.error?.category ?? '?'}/${operation.error?.code ?? '?'}`;
    const entry = (breakdown[key] ??= { count: 0, example: operation.error?.message ?? '' });
    entry.count += 1;
  }
  return breakdown;
}
