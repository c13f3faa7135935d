import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface Secrets {
  jwtSecret: string;
}

export const SECRETS_FILE = 'secrets.json';

/**
 * Returns the server's secrets: those given in the configuration, else the ones kept in
 * `<dataDir>/secrets.json`, generated on first start. The file is 0600 in a 0700 directory
 * because it lets anyone who reads it mint tokens.
 */
export function loadOrCreateSecrets(dataDir: string, given: Partial<Secrets>): Secrets {
  if (given.jwtSecret !== undefined) return { jwtSecret: given.jwtSecret };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const path = join(dataDir, SECRETS_FILE);
  const existing = readSecretsFile(path);
  if (existing) return existing;
  const secrets: Secrets = { jwtSecret: randomBytes(48).toString('base64url') };
  // 'wx' fails if another process created the file meanwhile; then we read theirs.
  try {
    writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  } catch {
    const raced = readSecretsFile(path);
    if (raced) return raced;
    throw new Error(`cannot create ${path}`);
  }
  chmodSync(path, 0o600);
  return secrets;
}

function readSecretsFile(path: string): Secrets | undefined {
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
  chmodSync(path, 0o600);
  return { jwtSecret: parsed.jwtSecret };
}
