import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TEST_RUN_VARIABLE, processesOfRun, describeProcess } from './support/processes.js';

/** How long processes of the run get to finish exiting after the last test before they count as left behind. */
const EXIT_GRACE_MS = 5_000;

/**
 * Builds dist/ once per run (tsc, then the agent bundle): the simulator, CLI bins and bundle the
 * tests spawn run built code. In CI a build error fails the run here; locally it only warns, so
 * one unit's half-written change does not stop the tests of another.
 *
 * Every process the suite starts inherits `LDFLEET_TEST_RUN`; the teardown fails the run when
 * one is still alive (an orphan reparented to PID 1 included), after killing it.
 */
export default function setup(): (() => Promise<void>) | undefined {
  // Vitest calls this once for the root config and once per project, in one process.
  if (process.env[TEST_RUN_VARIABLE] !== undefined) return undefined;
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    execFileSync(process.execPath, [`${root}scripts/bundle-agent.mjs`], { cwd: root, stdio: 'inherit' });
  } catch (error) {
    if (process.env.CI) throw error;
    console.warn('global-setup: the build reported errors; testing with what was emitted');
  }
  const run = randomUUID();
  process.env[TEST_RUN_VARIABLE] = run;
  return async () => {
    const left = await processesOfRun(run, EXIT_GRACE_MS);
    if (left.length === 0) return;
    for (const proc of left) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch (_gone) {
        // It exited meanwhile.
      }
    }
    // Vitest reports an error thrown here but still exits 0, so the exit code is set as well.
    process.exitCode = 1;
    throw new Error(`the suite left ${left.length} process(es) running (now killed):\n${left.map(describeProcess).join('\n')}`);
  };
}
