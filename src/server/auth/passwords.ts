import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

export const MIN_PASSWORD_LENGTH = 12;

/**
 * scrypt cost at OWASP's minimum: N=2^14, r=8, p=5 is its listed equivalent of N=2^17, r=8,
 * p=1 at an eighth of the memory (16 MiB a hash), so concurrent logins cannot exhaust RAM.
 * Hashes made with older parameters still verify and are upgraded at the next login.
 */
const PARAMS = { N: 16_384, r: 8, p: 5, keyLength: 32 } as const;

function deriveKey(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url): the parameters travel with the hash so they can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await deriveKey(password, salt, PARAMS.N, PARAMS.r, PARAMS.p, PARAMS.keyLength);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // A stored hash must not make us allocate without bound (a tampered row, a restored dump).
  if (N > 2 ** 20 || r > 32 || p > 64) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p) || expected.length === 0) return false;
  const actual = await deriveKey(password, salt, N, r, p, expected.length);
  return timingSafeEqual(actual, expected);
}

/** True when the hash was made with other parameters than today's (it is re-made at the next login). */
export function needsRehash(stored: string): boolean {
  const [scheme, N, r, p] = stored.split('$');
  return scheme !== 'scrypt' || Number(N) !== PARAMS.N || Number(r) !== PARAMS.r || Number(p) !== PARAMS.p;
}

/** A hash of a random password: login checks it for unknown users so that they take as long as known ones. */
export function makeDecoyHash(): Promise<string> {
  return hashPassword(randomBytes(18).toString('base64url'));
}

/** A random password for the first admin: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
