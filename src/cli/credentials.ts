/**
 * The per-user credentials file: one profile per server, holding the server URL, the user name
 * and the refresh token (never the password). Mode 0600 in a 0700 folder, written atomically.
 * Refresh tokens rotate on every use and a reused one revokes the session, so every refresh
 * happens under a lock file and reads the token the last process wrote.
 */
import { closeSync, chmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from './exit-codes.js';

export interface Profile {
  server: string;
  username?: string;
  refreshToken?: string;
  /** A CA certificate file that signs the server's TLS certificate. */
  ca?: string;
}

interface CredentialsFile {
  profiles: Record<string, Profile>;
}

const PROFILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `%APPDATA%\ldfleet` on Windows, else `$XDG_CONFIG_HOME/ldfleet` or `~/.config/ldfleet`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'ldfleet');
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.length > 0 ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'ldfleet');
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'credentials.json');
}

export function checkProfileName(name: string): string {
  if (!PROFILE_PATTERN.test(name)) throw new CliError(ExitCode.usage, `--profile "${name}" must be letters, digits, ".", "_" or "-"`);
  return name;
}

function readFile(path: string): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CredentialsFile>;
    return { profiles: parsed.profiles && typeof parsed.profiles === 'object' ? parsed.profiles : {} };
  } catch {
    throw new CliError(ExitCode.usage, `${path} is not valid JSON; remove it and log in again`);
  }
}

function writeFile(path: string, contents: CredentialsFile): void {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync is masked by the umask; the file must be 0600 whatever it is.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export function readProfile(name: string): Profile | undefined {
  return readFile(credentialsPath()).profiles[name];
}

export function saveProfile(name: string, profile: Profile): void {
  const path = credentialsPath();
  const file = readFile(path);
  file.profiles[name] = profile;
  writeFile(path, file);
}

export function removeProfile(name: string): void {
  const path = credentialsPath();
  const file = readFile(path);
  if (!(name in file.profiles)) return;
  const { [name]: _removed, ...rest } = file.profiles;
  writeFile(path, { profiles: rest });
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 20_000;

/** Runs `work` holding the credentials lock (a lock file, so it works across processes). */
export async function withCredentialsLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(configDir(), { recursive: true, mode: 0o700 });
  const lock = `${credentialsPath()}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A process killed while holding it leaves the file behind; a refresh never takes this long.
      if (isStale(lock)) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new CliError(ExitCode.failed, `${lock} is held by another ldfleet; remove it if none is running`);
      await new Promise((done) => setTimeout(done, delay));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

function isStale(lock: string): boolean {
  try {
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false;
  }
}
