import { Type } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';

/** Shared pieces of route schemas. */

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })),
};

/** `{ items, nextCursor, total }` of one kind of item. */
export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
    total: Type.Integer(),
  });
}

/** Free text that both databases accept (PostgreSQL refuses NUL characters in text). */
export function Text(options: { minLength?: number; maxLength: number; description?: string }) {
  return Type.String({ minLength: options.minLength ?? 0, ...options, pattern: '^[^\\u0000]*$' });
}

/** A name: letters, digits, dot, dash, underscore; starting with a letter or digit. */
export function Name(maxLength = 64) {
  return Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
}

/** The error replies a route can give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorSchema]));
}
