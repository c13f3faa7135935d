import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/index.js';
import { nowIso } from '../store/index.js';

export interface Secrets {
  jwtSecret: string;
}

/** The file earlier versions kept the secrets in; read once into the table, then removed. */
export const LEGACY_SECRETS_FILE = 'secrets.json';
/** The key file a server generates in its data directory when it is given no key. */
export const GENERATED_KEY_FILE = 'secrets.key';
const MIN_KEY_LENGTH = 32;

export interface SecretsOptions {
  readonly store: Store;
  readonly dataDir: string;
  /** A JWT key given in the configuration wins over the stored one (nothing is stored then). */
  readonly jwtSecret?: string | undefined;
  /** The secrets key itself (`LDFLEET_SECRETS_KEY`). */
  readonly secretsKey?: string | undefined;
  /** A file holding the secrets key (`secretsKeyFile`). */
  readonly secretsKeyFile?: string | undefined;
}

export class SecretsKeyError extends Error {}

/**
 * Returns the server's secrets from the `secrets` table, generating each one once. Replicas that
 * start together race on `insert … on conflict do nothing` and then all read the winner's row, so
 * every replica handed the same key holds the same JWT key. Values are AES-256-GCM encrypted:
 * a database dump alone does not let anyone mint tokens.
 */
export async function loadSecrets(options: SecretsOptions): Promise<Secrets> {
  if (options.jwtSecret !== undefined) return { jwtSecret: options.jwtSecret };
  const key = deriveKey(readSecretsKey(options));
  const legacy = readLegacySecrets(options.dataDir);
  const jwtSecret = await storedSecret(options.store, key, 'jwt', () => legacy?.jwtSecret ?? randomBytes(48).toString('base64url'));
  // The plaintext copy goes once the table holds the same value: it is no longer the source.
  if (legacy && legacy.jwtSecret === jwtSecret) rmSync(join(options.dataDir, LEGACY_SECRETS_FILE), { force: true });
  return { jwtSecret };
}

async function storedSecret(store: Store, key: Buffer, name: string, generate: () => string): Promise<string> {
  const existing = await readRow(store, name);
  if (existing !== undefined) return decrypt(key, name, existing);
  await store.db
    .insertInto('secrets')
    .values({ name, value: encrypt(key, name, generate()), created_at: nowIso() })
    .onConflict((c) => c.column('name').doNothing())
    .execute();
  const stored = await readRow(store, name);
  if (stored === undefined) throw new Error(`secret ${name} could not be stored`);
  return decrypt(key, name, stored);
}

async function readRow(store: Store, name: string): Promise<string | undefined> {
  const row = await store.db.selectFrom('secrets').select('value').where('name', '=', name).executeTakeFirst();
  return row?.value;
}

function readSecretsKey(options: SecretsOptions): string {
  if (options.secretsKey !== undefined) return checkedKey(options.secretsKey, 'LDFLEET_SECRETS_KEY');
  if (options.secretsKeyFile !== undefined) return checkedKey(readKeyFile(options.secretsKeyFile), options.secretsKeyFile);
  return checkedKey(generatedKeyFile(options.dataDir), join(options.dataDir, GENERATED_KEY_FILE));
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new SecretsKeyError(`cannot read the secrets key file ${path}: ${(error as Error).message}`);
  }
}

function checkedKey(key: string, source: string): string {
  if (key.length < MIN_KEY_LENGTH) throw new SecretsKeyError(`the secrets key from ${source} is shorter than ${MIN_KEY_LENGTH} characters`);
  return key;
}

/** A single server's key: generated once in the data directory, 0600 in a 0700 directory. */
function generatedKeyFile(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const path = join(dataDir, GENERATED_KEY_FILE);
  try {
    // 'wx' fails when another process created the file meanwhile; then theirs is read.
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  chmodSync(path, 0o600);
  return readKeyFile(path);
}

function deriveKey(secretsKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretsKey, 'ldfleet-secrets', 'aes-256-gcm v1', 32));
}

function encrypt(key: Buffer, name: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(name));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

function decrypt(key: Buffer, name: string, value: string): string {
  const [version, iv, tag, ciphertext] = value.split('.');
  if (version !== 'v1' || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new SecretsKeyError(`the stored secret ${name} is not in a format this version reads`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretsKeyError(
      `the secrets in the database were encrypted with another secrets key: give this server the key the others use (LDFLEET_SECRETS_KEY or secretsKeyFile)`,
    );
  }
}

function readLegacySecrets(dataDir: string): Secrets | undefined {
  const path = join(dataDir, LEGACY_SECRETS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Partial<Secrets>;
  if (typeof parsed.jwtSecret !== 'string' || parsed.jwtSecret.length < 32) {
    throw new Error(`${path} has no usable jwtSecret; remove the file to generate a new one`);
  }
  return { jwtSecret: parsed.jwtSecret };
}
