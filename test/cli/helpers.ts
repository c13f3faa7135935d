/**
 * Runs `bin/ldfleet` (from dist/) as a process, as an operator would: with its own config home
 * (so credentials never leak between tests), no inherited LDFLEET_* settings, and a deadline
 * after which the process (and, for `script`, its child) is killed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** XDG_CONFIG_HOME and HOME of the process. */
  home: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

export function newHome(): string {
  return mkdtempSync(join(tmpdir(), 'ldfleet-cli-home-'));
}

function cleanEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('LDFLEET_') && key !== 'NO_COLOR') env[key] = value;
  Object.assign(env, { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ...extra });
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
}

function collect(command: string, args: readonly string[], options: RunOptions): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: cleanEnv(options.home, options.env), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      // The whole process group: `script` and the ldfleet under it.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`ldfleet ${args.join(' ')} did not finish in ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** `ldfleet ARGS…` with stdout and stderr as pipes (not a terminal). */
export function ldfleet(args: readonly string[], options: RunOptions): Promise<Run> {
  return collect(process.execPath, [LDFLEET_BIN, ...args], options);
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** `ldfleet ARGS…` on a pseudo-terminal (util-linux `script`), so it sees a TTY; the output is the terminal's. */
export function ldfleetTty(args: readonly string[], options: RunOptions): Promise<Run> {
  const line = [process.execPath, LDFLEET_BIN, ...args].map(quote).join(' ');
  return collect('script', ['-qfec', line, '/dev/null'], options);
}

/** Runs `ldfleet login` for admin (password on stdin) into `home`. */
export async function login(home: string, server: string, username: string, password: string): Promise<Run> {
  const run = await ldfleet(['login', '--server', server, '--username', username, '--password-stdin'], { home, input: `${password}\n` });
  if (run.code !== 0) throw new Error(`login failed (${run.code}): ${run.stderr}`);
  return run;
}
