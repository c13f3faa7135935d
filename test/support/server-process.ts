/**
 * The real `ldfleet server` as a child process, for tests and benchmarks that must kill it
 * (SIGKILL mid-batch) or keep its load apart from theirs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

/** Spawns `ldfleet server` with `env` over this process's environment; resolves once it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [LDFLEET_BIN, 'server'], {
    env: { ...process.env, LDFLEET_HOST: '127.0.0.1', LDFLEET_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
  return child;
}
