import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

export const MIN_PASSWORD_LENGTH = 12;

/**
 * argon2id at OWASP's minimum (m=19 MiB, t=2, p=1): it meets the recommendation at a fraction
 * of the time scrypt needs for the same standing (scrypt N=2^17 or an equivalent takes ~5× its
 * old cost), so a login stays near 100 ms on a loaded workstation CPU. `@node-rs/argon2` ships
 * prebuilt binaries; hashes are PHC strings that carry their parameters.
 */
// 2 is `Algorithm.Argon2id` (an ambient const enum, which this build cannot import).
const ARGON2 = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const ARGON2_PREFIX = `$argon2id$v=19$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},p=${ARGON2.parallelism}$`;

export async function hashPassword(password: string): Promise<string> {
  return argon2Hash(password.normalize('NFC'), ARGON2);
}

/** Verifies argon2id hashes and the scrypt hashes of earlier versions (`scrypt$N$r$p$salt$hash`). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith('$argon2id$')) {
    try {
      return await argon2Verify(stored, password.normalize('NFC'));
    } catch {
      return false;
    }
  }
  return verifyScrypt(password, stored);
}

/** True when the hash is not today's kind and parameters (it is re-made at the next login). */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(ARGON2_PREFIX);
}

function deriveScrypt(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // A stored hash must not make us allocate without bound (a tampered row, a restored dump).
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p) || N > 2 ** 20 || r > 32 || p > 64) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (expected.length === 0) return false;
  const actual = await deriveScrypt(password, salt, N, r, p, expected.length);
  return timingSafeEqual(actual, expected);
}

/** A hash of a random password: login checks it for unknown users so that they take as long as known ones. */
export function makeDecoyHash(): Promise<string> {
  return hashPassword(randomBytes(18).toString('base64url'));
}

/** A random password for the first admin: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
