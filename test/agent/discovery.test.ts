import { describe, expect, it } from 'vitest';
import {
  DiscoveryError,
  locateLdPlayer,
  parseRegQueryValue,
  registryInstallDirs,
} from '../../src/agent/discovery.js';
import iconv from 'iconv-lite';
import type { ExecResult, Executor } from '../../src/exec/index.js';

/** Answers `reg query KEY /v InstallDir` from a table, like reg.exe would; records what was asked. */
function fakeRegistry(values: Record<string, string>): Executor & { queried: string[] } {
  const queried: string[] = [];
  return {
    queried,
    run(_file, args): Promise<ExecResult> {
      const key = args[1] ?? '';
      queried.push(key);
      const value = values[key];
      const stdout = value === undefined ? '' : `\r\n${key}\r\n    InstallDir    REG_SZ    ${value}\r\n\r\n`;
      return Promise.resolve({
        exitCode: value === undefined ? 1 : 0,
        signal: null,
        stdout: Buffer.from(stdout),
        stderr: Buffer.from(value === undefined ? 'ERROR: The system was unable to find the specified registry key or value.' : ''),
        timedOut: false,
        truncated: false,
        durationMs: 1,
      });
    },
  };
}

const files = (...present: string[]) => (file: string) => present.includes(file);

describe('parseRegQueryValue', () => {
  it('reads a REG_SZ value with spaces in it', () => {
    const output = '\r\nHKEY_CURRENT_USER\\Software\\XuanZhi\\LDPlayer9\r\n    InstallDir    REG_SZ    E:\\Program Files\\leidian\\LDPlayer9\\\r\n\r\n';
    expect(parseRegQueryValue(output, 'InstallDir')).toBe('E:\\Program Files\\leidian\\LDPlayer9\\');
  });

  it('ignores other values and empty output', () => {
    expect(parseRegQueryValue('    DisplayName    REG_SZ    LDPlayer\r\n', 'InstallDir')).toBeUndefined();
    expect(parseRegQueryValue('', 'InstallDir')).toBeUndefined();
  });
});

describe('locateLdPlayer', () => {
  const executor = fakeRegistry({});

  it('takes --ldconsole as given, with its folder as the install dir by default', async () => {
    const location = await locateLdPlayer({ ldconsole: '/opt/sim/ldconsole.exe', platform: 'linux', executor, exists: files('/opt/sim/ldconsole.exe') });
    expect(location).toEqual({ ldconsolePath: '/opt/sim/ldconsole.exe', installDir: '/opt/sim' });
  });

  it('lets --ldplayer-dir override the install dir (the simulator bin lives elsewhere)', async () => {
    const location = await locateLdPlayer({ ldconsole: '/repo/bin/ldconsole-sim', ldplayerDir: '/tmp/home', platform: 'linux', executor, exists: files('/repo/bin/ldconsole-sim') });
    expect(location.installDir).toBe('/tmp/home');
  });

  it('refuses a --ldconsole that does not exist', async () => {
    await expect(locateLdPlayer({ ldconsole: '/nope/ldconsole.exe', platform: 'linux', executor, exists: files() })).rejects.toThrow(DiscoveryError);
  });

  it('asks for --ldconsole off Windows', async () => {
    await expect(locateLdPlayer({ platform: 'linux', executor, exists: files() })).rejects.toThrow(/--ldconsole/);
  });

  it('prefers the registry, HKCU before HKLM', async () => {
    const registry = fakeRegistry({
      'HKLM\\Software\\XuanZhi\\LDPlayer9': 'C:\\LDPlayer\\LDPlayer9\\',
      'HKCU\\SOFTWARE\\leidian\\ldplayer9': 'E:\\leidian\\LDPlayer9\\',
    });
    expect(await registryInstallDirs(registry)).toEqual(['E:\\leidian\\LDPlayer9', 'C:\\LDPlayer\\LDPlayer9']);
    const location = await locateLdPlayer({
      platform: 'win32',
      executor: registry,
      exists: files('E:\\leidian\\LDPlayer9\\ldconsole.exe', 'C:\\LDPlayer\\LDPlayer9\\ldconsole.exe'),
    });
    expect(location).toEqual({ ldconsolePath: 'E:\\leidian\\LDPlayer9\\ldconsole.exe', installDir: 'E:\\leidian\\LDPlayer9' });
    expect(registry.queried[0]).toMatch(/^HKCU\\/);
  });

  it('finds a 32-bit install under WOW6432Node and decodes a GBK path', async () => {
    const registry: Executor = {
      run: (_file, args) =>
        Promise.resolve({
          exitCode: args[1] === 'HKLM\\SOFTWARE\\WOW6432Node\\XuanZhi\\LDPlayer9' ? 0 : 1,
          signal: null,
          stdout: iconv.encode('    InstallDir    REG_SZ    D:\\雷电模拟器\\LDPlayer9\\\r\n', 'gbk'),
          stderr: Buffer.alloc(0),
          timedOut: false,
          truncated: false,
          durationMs: 1,
        }),
    };
    expect(await registryInstallDirs(registry, 'cp936')).toEqual(['D:\\雷电模拟器\\LDPlayer9']);
  });

  it('skips a registry entry whose folder has no console, then tries the usual folders', async () => {
    const registry = fakeRegistry({ 'HKCU\\Software\\XuanZhi\\LDPlayer9': 'C:\\Gone\\LDPlayer9' });
    const location = await locateLdPlayer({ platform: 'win32', executor: registry, exists: files('D:\\LDPlayer\\LDPlayer9\\dnconsole.exe') });
    expect(location).toEqual({ ldconsolePath: 'D:\\LDPlayer\\LDPlayer9\\dnconsole.exe', installDir: 'D:\\LDPlayer\\LDPlayer9' });
  });

  it('says what it tried when nothing is found', async () => {
    await expect(locateLdPlayer({ platform: 'win32', executor, exists: files() })).rejects.toThrow(/LDPlayer not found.*--ldconsole/);
  });
});
