import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Every path of a simulated LDPlayer install. The layout mirrors `<install>\vms\…` of the real tool. */
export class SimPaths {
  constructor(readonly home: string) {}

  get vms(): string {
    return join(this.home, 'vms');
  }
  get configDir(): string {
    return join(this.vms, 'config');
  }
  get globalConfig(): string {
    return join(this.configDir, 'leidians.config');
  }
  get operationRecords(): string {
    return join(this.vms, 'operationRecords');
  }
  instanceConfig(index: number): string {
    return join(this.configDir, `leidian${index}.config`);
  }
  instanceDir(index: number): string {
    return join(this.vms, `leidian${index}`);
  }
  runtime(index: number): string {
    return join(this.instanceDir(index), 'sim-runtime.json');
  }
  /** The guest file system reachable through push/pull. */
  guestFs(index: number): string {
    return join(this.instanceDir(index), 'sim-guestfs');
  }
  get lockDir(): string {
    return join(this.home, 'sim.lock');
  }
  get clock(): string {
    return join(this.home, 'sim-clock.json');
  }
  /** Failure modes switched on for this home (see `SimModes`). */
  get modes(): string {
    return join(this.home, 'sim-modes.json');
  }
  get faults(): string {
    return join(this.home, 'sim-faults.json');
  }
  get callLog(): string {
    return join(this.home, 'sim-calls.log');
  }
  /** Marks a background `copy` in progress. */
  get copyMarker(): string {
    return join(this.home, 'sim-copy.json');
  }
}

/**
 * `LDFLEET_SIM_HOME`; else the folder of the invoked program when it looks like an install
 * (so a symlink `<home>/ldconsole.exe` → bin makes a home); else `./.sim`.
 */
export function resolveHome(env: NodeJS.ProcessEnv = process.env, argv1: string | undefined = process.argv[1]): string {
  const fromEnv = env.LDFLEET_SIM_HOME;
  if (fromEnv) return resolve(fromEnv);
  if (argv1) {
    const programDir = dirname(resolve(argv1));
    if (existsSync(join(programDir, 'vms'))) return programDir;
  }
  return resolve('.sim');
}
