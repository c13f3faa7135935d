/** Ending the processes a test spawned, hung ones included, and finding any that outlived the suite. */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Set by the global setup to one id per run; every process the suite starts inherits it. */
export const TEST_RUN_VARIABLE = 'LDFLEET_TEST_RUN';

/** The marker, for a test that spawns a child with an environment built from scratch. */
export function testRunMarker(): Record<string, string> {
  const run = process.env[TEST_RUN_VARIABLE];
  return run ? { [TEST_RUN_VARIABLE]: run } : {};
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

export interface RunProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
}

export function describeProcess(proc: RunProcess): string {
  return `  pid ${proc.pid} (ppid ${proc.ppid}): ${proc.command}`;
}

/**
 * The live processes carrying `run` in their environment, other than vitest's own (the runner
 * and its workers, which end after the teardown). Waits up to `graceMs` for them to go.
 * Linux only (/proc); elsewhere it finds none.
 */
export async function processesOfRun(run: string, graceMs: number): Promise<RunProcess[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const found = scan(run);
    if (found.length === 0 || Date.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function scan(run: string): RunProcess[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch (_noProc) {
    return [];
  }
  const marker = `${TEST_RUN_VARIABLE}=${run}`;
  const found: RunProcess[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (!environ.includes(marker)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (/node_modules\/(vitest|tinypool)\//.test(command)) continue;
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      found.push({ pid: Number(pid), ppid, command });
    } catch (_gone) {
      // Exited while we looked, or not ours to read.
    }
  }
  return found;
}
