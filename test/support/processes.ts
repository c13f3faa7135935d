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
  // vitest's runner and workers end after the teardown; they are not the suite's to end.
  return processesWithEnvironment(`${TEST_RUN_VARIABLE}=${run}`).filter((proc) => !/node_modules\/(vitest|tinypool)\//.test(proc.command));
}

/** Live processes (zombies left out) whose environment holds `entry` (`NAME=value`); Linux /proc, none elsewhere. */
export function processesWithEnvironment(entry: string): RunProcess[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch (_noProc) {
    return [];
  }
  const found: RunProcess[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry)) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(pid), ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0), command });
    } catch (_gone) {
      // Exited while we looked, or not ours to read.
    }
  }
  return found;
}

/**
 * SIGKILLs the processes of the simulator home `dir` (those whose command line matches `command`,
 * e.g. the calls a hang fault left) and waits until they are gone; resolves with how many.
 */
export async function killSimProcesses(dir: string, command = /./, timeoutMs = 5_000): Promise<number> {
  const entry = `LDFLEET_SIM_HOME=${dir}`;
  const ofHome = () => processesWithEnvironment(entry).filter((proc) => command.test(proc.command));
  const victims = ofHome();
  for (const { pid } of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (_gone) {
      // Already exited.
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (ofHome().some((proc) => victims.some((victim) => victim.pid === proc.pid))) {
    if (Date.now() > deadline) throw new Error(`processes of ${dir} survived SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return victims.length;
}

/**
 * Lets the simulator calls still running on home `dir` finish (an agent's boot probe may outlive
 * its stop() for a moment), up to `graceMs`, then kills what is left; a home can be removed after.
 */
export async function settleSimProcesses(dir: string, graceMs = 5_000): Promise<void> {
  const entry = `LDFLEET_SIM_HOME=${dir}`;
  const deadline = Date.now() + graceMs;
  while (processesWithEnvironment(entry).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await killSimProcesses(dir);
}
