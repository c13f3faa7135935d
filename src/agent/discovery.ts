/**
 * Finding LDPlayer on a workstation: the paths given on the command line, else (on Windows)
 * the install dir from the registry, else the usual install folders (reference §1).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Executor } from '../exec/index.js';
import { decodeOutput, type Codepage } from '../ldconsole/index.js';

export interface LdPlayerLocation {
  /** `ldconsole.exe` (or `dnconsole.exe`, or the simulator's bin). */
  readonly ldconsolePath: string;
  /** The install dir whose `vms/config` holds the instance configs. */
  readonly installDir: string;
  /** LDPlayer's own adb beside ldconsole (`adb.exe`; `adb-sim` beside the simulator), when there is one. */
  readonly adbPath?: string;
}

export interface DiscoveryOptions {
  readonly ldconsole?: string;
  readonly ldplayerDir?: string;
  readonly platform?: NodeJS.Platform;
  /** Runs `reg query` on Windows. */
  readonly executor: Executor;
  /** How `reg` output is decoded when it is not UTF-8 (install paths may hold CJK folder names). */
  readonly codepage?: Codepage;
  /** Injectable for tests. */
  readonly exists?: (file: string) => boolean;
  /** Read for `LDFLEET_SIM_HOME` when the ldconsole is the simulator; the process's by default. */
  readonly env?: NodeJS.ProcessEnv;
}

export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
}

/** Registry keys whose `InstallDir` value names an LDPlayer install, newest product first. */
export const REGISTRY_KEYS: readonly string[] = [
  'Software\\XuanZhi\\LDPlayer9',
  'Software\\XuanZhi\\LDPlayer',
  'SOFTWARE\\leidian\\ldplayer9',
  'SOFTWARE\\leidian\\ldplayer',
  'Software\\XuanZhi\\LDPlayer14',
  'Software\\Changzhi\\LDPlayer',
  'Software\\ChangZhi2\\dnplayer',
  'Software\\Changzhi\\dnplayer-tw',
];
/** HKCU first; a 32-bit installer's HKLM keys live under WOW6432Node on 64-bit Windows. */
const REGISTRY_ROOTS = ['HKCU', 'HKLM', 'HKLM\\SOFTWARE\\WOW6432Node'] as const;

/** Install folders seen in the wild, relative to a drive root. */
export const USUAL_INSTALL_FOLDERS: readonly string[] = [
  'LDPlayer\\LDPlayer9',
  'LDPlayer\\LDPlayer14',
  'LDPlayer\\LDPlayer4.0',
  'Program Files\\leidian\\LDPlayer9',
  'leidian\\LDPlayer9',
  'leidian\\LDPlayer14',
  'leidian\\LDPlayer4',
  'SoftWare\\leidian\\LDPlayer4',
  'ChangZhi\\dnplayer2',
  'LDPlayer3.0',
];
const USUAL_DRIVES = ['C:', 'D:', 'E:', 'F:'];

/** The CLI's names, current first; dnconsole is the same tool under its old name. */
const CONSOLE_NAMES = ['ldconsole.exe', 'dnconsole.exe'];

export async function locateLdPlayer(options: DiscoveryOptions): Promise<LdPlayerLocation> {
  const platform = options.platform ?? process.platform;
  const exists = options.exists ?? existsSync;
  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  if (options.ldconsole !== undefined) {
    const ldconsolePath = pathApi.resolve(options.ldconsole);
    if (!exists(ldconsolePath)) throw new DiscoveryError(`--ldconsole ${ldconsolePath} does not exist`);
    const installDir = options.ldplayerDir ?? simulatorHome(ldconsolePath, options.env ?? process.env) ?? pathApi.dirname(ldconsolePath);
    return withAdb({ ldconsolePath, installDir: pathApi.resolve(installDir) }, pathApi, exists);
  }
  if (platform !== 'win32') {
    throw new DiscoveryError(
      'LDPlayer can only be found automatically on Windows; give --ldconsole PATH (ldconsole.exe or the simulator bin)',
    );
  }
  const candidates = [...(await registryInstallDirs(options.executor, options.codepage)), ...usualInstallDirs()];
  const installDir = options.ldplayerDir ?? candidates.find((dir) => consoleIn(dir, exists) !== undefined);
  const ldconsolePath = installDir === undefined ? undefined : consoleIn(installDir, exists);
  if (installDir === undefined || ldconsolePath === undefined) {
    throw new DiscoveryError(
      `LDPlayer not found (looked in the registry and ${candidates.length} folders, e.g. C:\\LDPlayer\\LDPlayer9); give --ldconsole PATH`,
    );
  }
  return withAdb({ ldconsolePath, installDir }, path.win32, exists);
}

/** The adb LDPlayer ships beside ldconsole (the simulator ships `adb-sim` beside its bin). */
function withAdb(location: LdPlayerLocation, pathApi: typeof path.posix, exists: (file: string) => boolean): LdPlayerLocation {
  const dir = pathApi.dirname(location.ldconsolePath);
  const adbPath = ['adb.exe', 'adb-sim'].map((name) => pathApi.join(dir, name)).find((file) => exists(file));
  return adbPath === undefined ? location : { ...location, adbPath };
}

/**
 * The simulator keeps its install where `LDFLEET_SIM_HOME` says, not beside its bin; an agent
 * driving it finds the same home there without a second flag.
 */
function simulatorHome(ldconsolePath: string, env: NodeJS.ProcessEnv): string | undefined {
  const home = env.LDFLEET_SIM_HOME;
  return home && /^ldconsole-sim(\.\w+)?$/i.test(path.basename(ldconsolePath)) ? home : undefined;
}

function consoleIn(dir: string, exists: (file: string) => boolean): string | undefined {
  return CONSOLE_NAMES.map((name) => path.win32.join(dir, name)).find((file) => exists(file));
}

export function usualInstallDirs(): string[] {
  return USUAL_DRIVES.flatMap((drive) => USUAL_INSTALL_FOLDERS.map((folder) => path.win32.join(`${drive}\\`, folder)));
}

/** `InstallDir` of every LDPlayer key that has one, HKCU before HKLM. */
export async function registryInstallDirs(executor: Executor, codepage?: Codepage): Promise<string[]> {
  const found: string[] = [];
  for (const root of REGISTRY_ROOTS) {
    for (const key of REGISTRY_KEYS) {
      const dir = await queryInstallDir(executor, registryPath(root, key), codepage);
      const normalized = dir === undefined ? undefined : path.win32.resolve(dir);
      if (normalized !== undefined && !found.includes(normalized)) found.push(normalized);
    }
  }
  return found;
}

/** Joins a root and a key; under WOW6432Node the key loses its own leading `Software`. */
function registryPath(root: string, key: string): string {
  return root.endsWith('WOW6432Node') ? `${root}\\${key.replace(/^software\\/i, '')}` : `${root}\\${key}`;
}

async function queryInstallDir(executor: Executor, key: string, codepage: Codepage | undefined): Promise<string | undefined> {
  try {
    const result = await executor.run('reg', ['query', key, '/v', 'InstallDir'], { timeoutMs: 5_000 });
    // A missing key exits 1 with an error on stderr; only a clean answer is worth parsing.
    return result.exitCode === 0 ? parseRegQueryValue(decodeOutput(result.stdout, codepage), 'InstallDir') : undefined;
  } catch (_regUnavailable) {
    return undefined;
  }
}

/**
 * Reads one value out of `reg query` output:
 * `    InstallDir    REG_SZ    C:\LDPlayer\LDPlayer9\`.
 */
export function parseRegQueryValue(output: string, name: string): string | undefined {
  for (const line of output.split(/\r?\n/)) {
    const match = /^\s+(\S.*?)\s{2,}REG_(?:EXPAND_)?SZ\s{2,}(.*?)\s*$/.exec(line);
    if (match && match[1]?.toLowerCase() === name.toLowerCase() && match[2]) return match[2];
  }
  return undefined;
}
