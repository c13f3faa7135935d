import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { LocalExecutor } from '../../src/exec/index.js';
import { LdConsole, type Codepage, type LdConsoleOptions } from '../../src/ldconsole/index.js';
import { SIM_BIN, SimHome, type SimHomeOptions } from '../../src/sim/index.js';

export interface SimDriver {
  readonly home: SimHome;
  readonly ld: LdConsole;
  /** A driver on the same home without installDir (no config fallback). */
  readonly bare: LdConsole;
  cleanup(): void;
}

const CODEPAGE_OF: Record<NonNullable<SimHomeOptions['encoding']>, Codepage> = { gbk: 'cp936', utf8: 'cp936', cp1251: 'cp1251' };

/** A fresh simulated install and a driver spawning the real simulator through LocalExecutor. */
export function simDriver(options: SimHomeOptions = {}, driverOptions: Partial<LdConsoleOptions> = {}): SimDriver {
  const dir = mkdtempSync(join(tmpdir(), 'ldfleet-ldconsole-'));
  const home = SimHome.create(dir, options);
  const base: LdConsoleOptions = {
    executor: new LocalExecutor(),
    path: SIM_BIN,
    codepage: CODEPAGE_OF[options.encoding ?? 'gbk'],
    env: home.env(),
    timeoutMs: 15_000,
    ...driverOptions,
  };
  return {
    home,
    ld: new LdConsole({ ...base, installDir: dir }),
    bare: new LdConsole(base),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A `setup` that makes a fresh simDriver for a test and cleans it up after the test. */
export function useSimDriver(): (...args: Parameters<typeof simDriver>) => SimDriver {
  let current: SimDriver | undefined;
  afterEach(() => {
    current?.cleanup();
    current = undefined;
  });
  return (...args) => {
    current = simDriver(...args);
    return current;
  };
}

/** Pids of live processes whose environment names this sim home (Linux /proc; empty elsewhere). */
export function processesUsingHome(dir: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch (_noProcfs) {
    return [];
  }
  return entries.map(Number).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) return false;
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`LDFLEET_SIM_HOME=${dir}`);
    } catch (_gone) {
      return false;
    }
  });
}
