import { sql } from 'kysely';
import type { SelectQueryBuilder } from 'kysely';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** The cursor could not be decoded: the client sent it, so it is a 400. */
export class InvalidCursorError extends Error {
  constructor(message = 'cursor is not one this server issued') {
    super(message);
  }
}

/** A cursor is the last id of the previous page, base64url-encoded so clients treat it as opaque. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    const after = (parsed as { after?: unknown } | null)?.after;
    if (typeof after === 'string' && after.length > 0 && after.length <= 200) return after;
  } catch {
    // fall through to the error below
  }
  throw new InvalidCursorError();
}

/**
 * Keyset pagination over a query whose rows have a text `id` (ids sort by creation time).
 * `query` must already carry every filter; it is used both for the page and for the total.
 */
export async function paginate<DB, TB extends keyof DB, Row extends { id: string }>(
  query: SelectQueryBuilder<DB, TB, Row>,
  idColumn: string,
  request: PageRequest,
  direction: 'asc' | 'desc' = 'asc',
): Promise<Page<Row>> {
  // Route schemas bound the limit already; this keeps a stray value from reaching SQL as Infinity or NaN.
  if (!Number.isSafeInteger(request.limit) || request.limit < 1 || request.limit > 1000) {
    throw new InvalidCursorError('limit must be an integer from 1 to 1000');
  }
  // Kysely's column-name types cannot follow a generic table: the id column goes in as a raw
  // reference (`sql.ref` quotes it as an identifier), checked by the caller.
  const id = sql.ref<string>(idColumn);
  const totalRow = await query
    .clearSelect()
    .select((eb) => eb.fn.countAll().as('total'))
    .executeTakeFirst();
  let pageQuery = query.orderBy(id, direction).limit(request.limit + 1);
  if (request.cursor !== undefined) {
    pageQuery = pageQuery.where(id, direction === 'asc' ? '>' : '<', decodeCursor(request.cursor));
  }
  const rows = (await pageQuery.execute()) as Row[];
  const hasMore = rows.length > request.limit;
  const items = hasMore ? rows.slice(0, request.limit) : rows;
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: hasMore && last ? encodeCursor(last.id) : null,
    total: Number((totalRow as { total?: unknown } | undefined)?.total ?? 0),
  };
}
