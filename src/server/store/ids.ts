import { randomBytes } from 'node:crypto';

/**
 * A new opaque id that sorts by creation time: 12 hex digits of epoch milliseconds then 16 random
 * hex digits. Keyset pagination orders by id, so lists come out in creation order.
 */
export function newId(now: number = Date.now()): string {
  return now.toString(16).padStart(12, '0') + randomBytes(8).toString('hex');
}

/** The current time as stored: ISO-8601 text, which compares correctly as a string. */
export function nowIso(now: number = Date.now()): string {
  return new Date(now).toISOString();
}
