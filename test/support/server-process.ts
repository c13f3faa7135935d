/**
 * The real `ldfleet server` as a child process, for tests and benchmarks that must kill it
 * (SIGKILL mid-batch), keep its load apart from theirs, or run an installed copy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

export type ServerProcess = ChildProcess & { readonly url: string };

/**
 * Spawns `ldfleet server` (this repository's, or the `bin` given) with `env` over this process's
 * environment and `nodeArgs` before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses);
 * resolves once it listens, with the URL it printed.
 */
export async function startServerProcess(env: Record<string, string>, bin = LDFLEET_BIN, nodeArgs: readonly string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, bin, 'server'], {
    env: { ...process.env, LDFLEET_HOST: '127.0.0.1', LDFLEET_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening on (http\S+)/.exec(output);
      if (listening?.[1]) resolve(listening[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
  return Object.assign(child, { url });
}
