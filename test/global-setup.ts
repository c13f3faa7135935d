import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Builds dist/ once per run: the simulator and CLI bins the tests spawn run compiled code.
 * In CI a type error fails the run here; locally it only warns, so one unit's half-written
 * change does not stop the tests of another.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch (error) {
    if (process.env.CI) throw error;
    console.warn('global-setup: the build reported errors; testing with what was emitted');
  }
}
