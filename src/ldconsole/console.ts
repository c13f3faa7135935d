/**
 * The ldconsole driver: a typed method for every command of the reference (§3), built on an
 * Executor. Mutations are confirmed by reading list2 (and the instance config) back, because
 * ldconsole's exit codes and silence both lie.
 */
import type { Executor } from '../exec/index.js';
import {
  actionArgs,
  copySourceArg,
  cpuRateArg,
  describeSelector,
  globalSettingArgs,
  modifyArgs,
  requireOptionValue,
  requireText,
  selectorArgs,
  validateGeoPoint,
  type Action,
  type GeoPoint,
  type GlobalSettings,
  type ModifySettings,
  type Selector,
} from './args.js';
import { CONFIG_KEYS, readInstanceConfig, setConfigNumber, type InstanceConfig, type InstanceSettings } from './config.js';
import { DEFAULT_CODEPAGE, decodeOutput, isSupportedCodepage, looksLossy, type Codepage } from './decode.js';
import { invalidArgument, LdConsoleError, isLdConsoleError } from './errors.js';
import { unconfirmedSettings } from './readback.js';
import {
  isPng,
  OutputParseError,
  parseGetprop,
  parseIsRunning,
  parseJsonOutput,
  parseList2,
  parseTitles,
  type List2Columns,
  type List2Row,
} from './parse.js';
import { failure, firstLine, Runner, throwIfFailed, throwIfOutputError, type CallOptions, type RawCall } from './runner.js';

export interface LdConsoleOptions {
  readonly executor: Executor;
  /** Full path of ldconsole.exe (or dnconsole.exe, or the simulator). */
  readonly path: string;
  /** The LDPlayer install folder; enables config reads (titles, settings, modify read-back). */
  readonly installDir?: string;
  /** The code page stdout falls back to when it is not UTF-8. Default cp936 (GBK). */
  readonly codepage?: Codepage;
  /** Per-call limit for ordinary commands. Default 30 s. */
  readonly timeoutMs?: number;
  /** Per-call limit for adb passthrough (screenshots, shell). Default 60 s. */
  readonly adbTimeoutMs?: number;
  /** Capture limit for text commands. Default 4 MiB. */
  readonly maxOutputBytes?: number;
  /** Capture limit for adb passthrough. Default 64 MiB. */
  readonly adbMaxOutputBytes?: number;
  /** list2 layout when known; detected per call otherwise. */
  readonly list2Columns?: List2Columns;
  /** Environment of the ldconsole process; inherited when absent. */
  readonly env?: NodeJS.ProcessEnv;
  /** Ends every call of this driver when aborted (the agent stopping), besides each call's own signal. */
  readonly signal?: AbortSignal;
  /**
   * LDPlayer's own `adb.exe` (beside ldconsole.exe). When given, shell, screenshot, boot probes
   * and adb restarts run it directly with an argv array (`-s emulator-N shell <command>`), so a
   * guest command is one argument that reaches the device's sh untouched and no host shell ever
   * parses it; without it they go through `ldconsole adb --command "<text>"`, whose handling
   * inside ldconsole is not documented.
   */
  readonly adbPath?: string;
}

export interface WaitBootedOptions {
  readonly timeoutMs: number;
  /** Pause between polls. Default 2 s. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Asked when adb says `device offline`: an error to fail with at once (ADB debugging off, say)
   * instead of waiting out the timeout, or undefined to keep waiting.
   */
  readonly onDeviceOffline?: () => Promise<Error | undefined>;
}

/** A guest command's output and exit status (null when the status line did not come back). */
export interface ShellResult {
  readonly output: string;
  readonly exitCode: number | null;
}

/** What one boot poll saw. */
type BootSight = 'booted' | 'booting' | 'device_offline' | 'not_running';

export type InstallSource = { readonly file: string } | { readonly packageName: string };

/** Paths on the instance and on the workstation for pull/push. */
export interface TransferPaths {
  readonly remote: string;
  readonly local: string;
}

const DEFAULTS = {
  timeoutMs: 30_000,
  adbTimeoutMs: 60_000,
  maxOutputBytes: 4 * 1024 * 1024,
  adbMaxOutputBytes: 64 * 1024 * 1024,
  pollMs: 2_000,
};

/** Precedes `$?` on the line `shellStatus` appends; unlikely in any real output. */
const EXIT_MARKER = '__ldfleet_exit_status=';

/** Splits `shellStatus` output into the command's output and the status from the marker line. */
export function parseShellStatus(text: string): ShellResult {
  const pattern = new RegExp(`(\\r?\\n)?${EXIT_MARKER}(\\d+)\\s*$`);
  const match = pattern.exec(text);
  if (!match) return { output: text, exitCode: null };
  // The line end before the marker belongs to the command's last line.
  return { output: text.slice(0, match.index) + (match[1] ?? ''), exitCode: Number(match[2]) };
}

/** The first wait of `waitBooted`; later waits double up to `pollMs`. */
const FIRST_BOOT_POLL_MS = 100;

export class LdConsole {
  private readonly runner: Runner;
  private readonly adbRunner: Runner | undefined;
  private readonly codepage: Codepage;
  private readonly installDir: string | undefined;
  private readonly limits: typeof DEFAULTS;
  private readonly list2Columns: List2Columns | undefined;

  constructor(options: LdConsoleOptions) {
    this.codepage = options.codepage ?? DEFAULT_CODEPAGE;
    if (!isSupportedCodepage(this.codepage)) throw invalidArgument('(options)', `unknown code page ${JSON.stringify(this.codepage)}`);
    requireText('(options)', 'path', options.path);
    this.runner = new Runner({ executor: options.executor, path: options.path, codepage: this.codepage, env: options.env, signal: options.signal });
    this.adbRunner =
      options.adbPath === undefined
        ? undefined
        : new Runner({ executor: options.executor, path: options.adbPath, codepage: this.codepage, env: options.env, signal: options.signal });
    this.installDir = options.installDir;
    this.list2Columns = options.list2Columns;
    this.limits = {
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      adbTimeoutMs: options.adbTimeoutMs ?? DEFAULTS.adbTimeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULTS.maxOutputBytes,
      adbMaxOutputBytes: options.adbMaxOutputBytes ?? DEFAULTS.adbMaxOutputBytes,
      pollMs: DEFAULTS.pollMs,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  /** Starts the instance. Returns before Android has booted: see `waitBooted`. */
  async launch(selector: Selector, options?: CallOptions): Promise<void> {
    await this.simple('launch', selectorArgs('launch', selector), options);
  }

  /** Starts the instance and then the app. */
  async launchex(selector: Selector, packageName: string, options?: CallOptions): Promise<void> {
    requireOptionValue('launchex', 'packageName', packageName);
    await this.simple('launchex', [...selectorArgs('launchex', selector), '--packagename', packageName], options);
  }

  async quit(selector: Selector, options?: CallOptions): Promise<void> {
    await this.simple('quit', selectorArgs('quit', selector), options);
  }

  async quitall(options?: CallOptions): Promise<void> {
    await this.simple('quitall', [], options);
  }

  async reboot(selector: Selector, options?: CallOptions): Promise<void> {
    await this.simple('reboot', selectorArgs('reboot', selector), options);
  }

  // ------------------------------------------------------------------------------------------
  // Queries

  /** Titles of every instance (obsolete in ldconsole; prefer list2). */
  async list(options?: CallOptions): Promise<string[]> {
    return parseTitles((await this.simple('list', [], options)).stdout);
  }

  /**
   * Every instance, stopped ones included. With an installDir, any title that is not plain
   * ASCII is taken from the config's `statusSettings.playerName`: through a code page it may
   * have become `?`, and a short GBK or CP1251 title can even pass as (wrong) UTF-8.
   */
  async list2(options?: CallOptions): Promise<List2Row[]> {
    const call = await this.simple('list2', [], options);
    const rows = parseOrFail(call, () => parseList2(call.stdout, this.list2Columns));
    return Promise.all(rows.map((row) => this.withTrueTitle(row)));
  }

  /**
   * One instance's info (LD9+). The format is known from a single sample
   * (`0,LDPlayer,0,1280,720,240`), so the trimmed text is returned as printed.
   */
  async list3(selector: Selector, options?: CallOptions): Promise<string> {
    return (await this.simple('list3', selectorArgs('list3', selector), options)).stdout.trim();
  }

  async runninglist(options?: CallOptions): Promise<string[]> {
    return parseTitles((await this.simple('runninglist', [], options)).stdout);
  }

  async isrunning(selector: Selector, options?: CallOptions): Promise<boolean> {
    const call = await this.simple('isrunning', selectorArgs('isrunning', selector), options);
    return parseOrFail(call, () => parseIsRunning(call.stdout));
  }

  /**
   * An Android property (or, without a key, the full property dump). On a stopped instance
   * ldconsole prints an error with rc 0 whose wording is unknown, so the instance state is
   * checked after the call: output from a stopped instance is never returned as a value.
   */
  async getprop(selector: Selector, key?: string, options?: CallOptions): Promise<string> {
    if (key !== undefined) requireText('getprop', 'key', key);
    const args = [...selectorArgs('getprop', selector), ...(key !== undefined ? ['--key', key] : [])];
    const call = await this.simple('getprop', args, options);
    const row = await this.requireInstance('getprop', selector, options);
    if (row.state === 'stopped') throw failure('not_running', call, `getprop: ${describeSelector(selector)} is not running`);
    return parseGetprop(call.stdout);
  }

  /** The instance list2 shows for a selector, or undefined. */
  async instance(selector: Selector, options?: CallOptions): Promise<List2Row | undefined> {
    return findRow(await this.list2(options), selector);
  }

  // ------------------------------------------------------------------------------------------
  // Instance management

  /** Creates an instance and returns its index, confirmed by list2. */
  async add(name?: string, options?: CallOptions): Promise<number> {
    if (name !== undefined) requireOptionValue('add', 'name', name);
    const before = await this.list2(options);
    const call = await this.runner.invoke('add', name !== undefined ? ['--name', name] : [], this.invokeOptions(options));
    throwIfOutputError(call);
    return this.confirmNewInstance(call, before, options);
  }

  /** Clones an instance (quit the source first) and returns the new index, confirmed by list2. */
  async copy(source: Selector, name?: string, options?: CallOptions): Promise<number> {
    const from = copySourceArg(source);
    if (name !== undefined) requireOptionValue('copy', 'name', name);
    const before = await this.list2(options);
    const args = [...(name !== undefined ? ['--name', name] : []), '--from', from];
    const call = await this.runner.invoke('copy', args, this.invokeOptions(options));
    if (call.stdout.trim() !== '' && findRow(before, source) === undefined) {
      // A missing source makes ldconsole print its whole help text; say what it means.
      throw failure('not_found', call, `copy: source ${describeSelector(source)} does not exist`);
    }
    throwIfOutputError(call);
    return this.confirmNewInstance(call, before, options);
  }

  /** Deletes an instance; confirmed by its absence from list2. */
  async remove(selector: Selector, options?: CallOptions): Promise<void> {
    const index = 'index' in selector ? selector.index : (await this.requireInstance('remove', selector, options)).index;
    const call = await this.simple('remove', selectorArgs('remove', { index }), options);
    if ((await this.list2(options)).some((row) => row.index === index)) {
      throw failure('no_effect', call, `remove: index ${index} is still listed after removal`);
    }
  }

  /** Sets the title; confirmed by list2 (and the config where list2 is lossy). */
  async rename(selector: Selector, title: string, options?: CallOptions): Promise<void> {
    requireOptionValue('rename', 'title', title);
    const index = (await this.requireInstance('rename', selector, options)).index;
    const call = await this.simple('rename', [...selectorArgs('rename', { index }), '--title', title], options);
    const row = (await this.list2(options)).find((candidate) => candidate.index === index);
    if (row === undefined) throw failure('not_found', call, `rename: index ${index} disappeared`);
    if (row.title !== title && !(looksLossy(row.title) && this.installDir === undefined)) {
      throw failure('no_effect', call, `rename: index ${index} is titled ${JSON.stringify(row.title)}, not ${JSON.stringify(title)}`);
    }
  }

  /** Full backup to a `.ldbk` file. */
  async backup(selector: Selector, file: string, options?: CallOptions): Promise<void> {
    requireLdbk('backup', file);
    await this.simple('backup', [...selectorArgs('backup', selector), '--file', file], options);
  }

  async restore(selector: Selector, file: string, options?: CallOptions): Promise<void> {
    requireLdbk('restore', file);
    await this.simple('restore', [...selectorArgs('restore', selector), '--file', file], options);
  }

  // ------------------------------------------------------------------------------------------
  // Configuration

  /**
   * Changes settings (validated before anything runs). A missing index is a silent rc-0 no-op
   * in ldconsole, so the instance is looked up first; with an installDir the config is read
   * back and every concrete value checked. Takes effect at the next start.
   */
  async modify(selector: Selector, settings: ModifySettings, options?: CallOptions): Promise<void> {
    const settingArgs = modifyArgs(settings);
    const index = (await this.requireInstance('modify', selector, options)).index;
    const call = await this.simple('modify', [...selectorArgs('modify', { index }), ...settingArgs], options);
    if (this.installDir === undefined) return;
    const unconfirmed = unconfirmedSettings(settings, (await this.readConfig(index)).settings);
    if (unconfirmed.length > 0) {
      throw failure('no_effect', call, `modify: index ${index} config does not show ${unconfirmed.join(', ')} after the call`);
    }
  }

  /** Workstation-wide settings (no selector). */
  async globalsetting(settings: GlobalSettings, options?: CallOptions): Promise<void> {
    await this.simple('globalsetting', globalSettingArgs(settings), options);
  }

  /** The instance's config file, parsed; needs `installDir`. */
  async readConfig(index: number, defaults?: Partial<InstanceSettings>): Promise<InstanceConfig> {
    if (this.installDir === undefined) throw invalidArgument('readConfig', 'no installDir configured');
    selectorArgs('readConfig', { index });
    try {
      return await readInstanceConfig(this.installDir, index, defaults);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LdConsoleError('not_found', `no config file for index ${index}`, { command: 'readConfig', cause: error });
      }
      throw new LdConsoleError('failed', `cannot read the config of index ${index}: ${(error as Error).message}`, { command: 'readConfig', cause: error });
    }
  }

  /**
   * Turns ADB debugging on in the instance's config (`basicSettings.adbDebug` 1, local) unless it
   * is on already; returns whether the file changed. Call only while the instance is stopped:
   * LDPlayer reads the value at launch and rewrites the file from memory when it quits.
   */
  async enableAdbDebug(index: number): Promise<boolean> {
    const config = await this.readConfig(index);
    if (config.settings.adbDebug === 1 || config.settings.adbDebug === 2) return false;
    return setConfigNumber(this.installDir ?? '', index, CONFIG_KEYS.adbDebug, 1);
  }

  /** Typed settings of an instance: the config, with list2's effective resolution as the default. */
  async settings(selector: Selector, options?: CallOptions): Promise<InstanceSettings> {
    const row = await this.requireInstance('settings', selector, options);
    return (await this.readConfig(row.index, row.resolution ? { resolution: row.resolution } : {})).settings;
  }

  // ------------------------------------------------------------------------------------------
  // Apps

  /** Installs a local APK (`{file}`) or, through the LD Store, a package (`{packageName}`). */
  async installapp(selector: Selector, source: InstallSource, options?: CallOptions): Promise<void> {
    const sourceArgs = 'file' in source ? ['--filename', nonEmpty('installapp', 'file', source.file)] : ['--packagename', optionValue('installapp', 'packageName', source.packageName)];
    await this.simple('installapp', [...selectorArgs('installapp', selector), ...sourceArgs], { timeoutMs: this.limits.adbTimeoutMs, ...options });
  }

  async uninstallapp(selector: Selector, packageName: string, options?: CallOptions): Promise<void> {
    await this.packageCommand('uninstallapp', selector, packageName, [], options);
  }

  async runapp(selector: Selector, packageName: string, options?: CallOptions): Promise<void> {
    await this.packageCommand('runapp', selector, packageName, [], options);
  }

  async killapp(selector: Selector, packageName: string, options?: CallOptions): Promise<void> {
    await this.packageCommand('killapp', selector, packageName, [], options);
  }

  async backupapp(selector: Selector, packageName: string, file: string, options?: CallOptions): Promise<void> {
    await this.packageCommand('backupapp', selector, packageName, ['--file', nonEmpty('backupapp', 'file', file)], options);
  }

  async restoreapp(selector: Selector, packageName: string, file: string, options?: CallOptions): Promise<void> {
    await this.packageCommand('restoreapp', selector, packageName, ['--file', nonEmpty('restoreapp', 'file', file)], options);
  }

  // ------------------------------------------------------------------------------------------
  // Device and IO

  /** Runs `adb <command>` against the instance and returns stdout as raw bytes. */
  async adbRaw(selector: Selector, command: string, options?: CallOptions): Promise<Buffer> {
    requireText('adb', 'command', command);
    const call = await this.runner.invoke('adb', [...selectorArgs('adb', selector), '--command', command], {
      timeoutMs: options?.timeoutMs ?? this.limits.adbTimeoutMs,
      maxOutputBytes: this.limits.adbMaxOutputBytes,
      binary: true,
      ...(options?.signal ? { signal: options.signal } : {}),
    });
    throwIfOutputError(call, this.runner.decodeStderr(call));
    return call.stdoutBytes;
  }

  /** `adb <command>` with stdout decoded. */
  async adb(selector: Selector, command: string, options?: CallOptions): Promise<string> {
    return decodeOutput(await this.adbRaw(selector, command, options), this.codepage);
  }

  /** A guest shell command through `adb shell`. */
  async shell(selector: Selector, command: string, options?: CallOptions): Promise<string> {
    requireText('shell', 'command', command);
    return decodeOutput(await this.adbWords(selector, ['shell', command], options), this.codepage);
  }

  /**
   * adb with its words: through `adb.exe -s <serial> …` as an argv array when `adbPath` is set,
   * else joined into ldconsole's `--command` text.
   */
  private async adbWords(selector: Selector, words: readonly string[], options?: CallOptions): Promise<Buffer> {
    if (this.adbRunner === undefined) return this.adbRaw(selector, words.join(' '), options);
    const index = 'index' in selector ? selector.index : (await this.requireInstance('adb', selector, options)).index;
    selectorArgs('adb', { index });
    const call = await this.adbRunner.invokeArgv('adb', ['-s', `emulator-${5554 + 2 * index}`, ...words], {
      timeoutMs: options?.timeoutMs ?? this.limits.adbTimeoutMs,
      maxOutputBytes: this.limits.adbMaxOutputBytes,
      binary: true,
      ...(options?.signal ? { signal: options.signal } : {}),
    });
    const stderr = this.adbRunner.decodeStderr(call);
    throwIfOutputError(call, stderr);
    if (call.exitCode !== 0) throw failure('failed', call, `adb ${words[0] ?? ''} exited with ${String(call.exitCode)}: ${firstLine(stderr) || firstLine(call.stdout) || '(no output)'}`);
    return call.stdoutBytes;
  }

  /**
   * A guest shell command and its exit status. adb's shell channel (protocol v1, which
   * LDPlayer's bundled adb speaks) drops the status, so the command runs in a subshell followed
   * by an `echo` of `$?` on a marker line, which is taken off the output.
   */
  async shellStatus(selector: Selector, command: string, options?: CallOptions): Promise<ShellResult> {
    requireText('shell', 'command', command);
    return parseShellStatus(await this.shell(selector, `(${command}); echo ${EXIT_MARKER}$?`, options));
  }

  /** Restarts this host's adb server (`adb kill-server`; the next adb call starts it again). */
  async killAdbServer(selector: Selector, options?: CallOptions): Promise<void> {
    await this.adbWords(selector, ['kill-server'], options);
  }

  /** A PNG of the screen, untouched (`exec-out`, since the `shell` channel corrupts binaries on Windows). */
  async screenshot(selector: Selector, options?: CallOptions): Promise<Buffer> {
    const png = await this.adbWords(selector, ['exec-out', 'screencap', '-p'], options);
    if (!isPng(png)) {
      const text = decodeOutput(png.subarray(0, 200), this.codepage);
      throw new LdConsoleError('failed', `screenshot of ${describeSelector(selector)} is not a PNG: ${firstLine(text) || '(empty)'}`, {
        command: 'adb',
        stdout: text,
      });
    }
    return png;
  }

  /** True once Android reports `sys.boot_completed=1`; false while stopped or booting. */
  async bootCompleted(selector: Selector, options?: CallOptions): Promise<boolean> {
    return (await this.bootSight(selector, options)) === 'booted';
  }

  private async bootSight(selector: Selector, options?: CallOptions): Promise<BootSight> {
    try {
      return (await this.shell(selector, 'getprop sys.boot_completed', options)).trim() === '1' ? 'booted' : 'booting';
    } catch (error) {
      if (isLdConsoleError(error, 'not_running') || isLdConsoleError(error, 'device_offline')) return error.code as BootSight;
      throw error;
    }
  }

  /**
   * Polls until Android reports `sys.boot_completed=1`; past the deadline a `boot_timeout`
   * error says how long it waited and what it saw last (window up or not, adb offline, boot flag).
   */
  async waitBooted(selector: Selector, options: WaitBootedOptions): Promise<void> {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const pollMs = options.pollMs ?? this.limits.pollMs;
    // Short first polls catch a fast boot (an instance that was nearly up) without holding the
    // caller a whole interval; doubling up to pollMs keeps a long boot from flooding adb.
    let waitMs = Math.min(FIRST_BOOT_POLL_MS, pollMs);
    let sight: BootSight = 'not_running';
    for (;;) {
      throwIfAborted('waitBooted', options.signal);
      const remaining = deadline - Date.now();
      const callOptions = { timeoutMs: Math.max(1, Math.min(this.limits.adbTimeoutMs, remaining)), ...(options.signal ? { signal: options.signal } : {}) };
      try {
        sight = await this.bootSight(selector, callOptions);
      } catch (error) {
        // A probe cut short by the deadline is the boot running out of time, not a failed call.
        if (!isLdConsoleError(error, 'timeout') || Date.now() < deadline) throw error;
      }
      if (sight === 'booted') return;
      if (sight === 'device_offline' && options.onDeviceOffline) {
        const fatal = await options.onDeviceOffline();
        if (fatal) throw fatal;
      }
      if (Date.now() + waitMs > deadline) {
        const row = await this.instance(selector, { timeoutMs: this.limits.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) }).catch(() => undefined);
        const window = row === undefined ? 'instance not listed' : row.state === 'stopped' ? 'window down (list2 shows it stopped)' : `window up (list2 state ${row.state})`;
        const adb = { booting: 'adb answered, sys.boot_completed not 1', device_offline: 'adb: device offline', not_running: 'adb: device not found' }[sight];
        throw new LdConsoleError(
          'boot_timeout',
          `${describeSelector(selector)} did not finish booting within ${options.timeoutMs} ms (waited ${Date.now() - started} ms); last seen: ${window}, ${adb}`,
          { command: 'waitBooted' },
        );
      }
      await sleep(waitMs, options.signal);
      waitMs = Math.min(waitMs * 2, pollMs);
    }
  }

  async setprop(selector: Selector, key: string, value: string, options?: CallOptions): Promise<void> {
    requireText('setprop', 'key', key);
    requireText('setprop', 'value', value);
    await this.simple('setprop', [...selectorArgs('setprop', selector), '--key', key, '--value', value], options);
  }

  /** Sets the GPS position (`--LLI longitude,latitude`, WGS-84). */
  async locate(selector: Selector, point: GeoPoint, options?: CallOptions): Promise<void> {
    validateGeoPoint('locate', point);
    await this.simple('locate', [...selectorArgs('locate', selector), '--LLI', `${point.longitude},${point.latitude}`], options);
  }

  async action(selector: Selector, action: Action, options?: CallOptions): Promise<void> {
    await this.simple('action', [...selectorArgs('action', selector), ...actionArgs(action)], options);
  }

  async pull(selector: Selector, paths: TransferPaths, options?: CallOptions): Promise<void> {
    await this.transfer('pull', selector, paths, options);
  }

  async push(selector: Selector, paths: TransferPaths, options?: CallOptions): Promise<void> {
    await this.transfer('push', selector, paths, options);
  }

  /** Feeds an image (a QR code) to the instance's camera. */
  async scan(selector: Selector, file: string, options?: CallOptions): Promise<void> {
    await this.simple('scan', [...selectorArgs('scan', selector), '--file', nonEmpty('scan', 'file', file)], options);
  }

  /** Caps the instance's CPU use at `rate` percent. */
  async downcpu(selector: Selector, rate: number, options?: CallOptions): Promise<void> {
    await this.simple('downcpu', [...selectorArgs('downcpu', selector), '--rate', cpuRateArg(rate)], options);
  }

  // ------------------------------------------------------------------------------------------
  // Windows and macros

  async sortWnd(options?: CallOptions): Promise<void> {
    await this.simple('sortWnd', [], options);
  }

  /** Sources disagree on whether zoom takes a selector; it is passed only when given. */
  async zoomIn(selector?: Selector, options?: CallOptions): Promise<void> {
    await this.simple('zoomIn', selector ? selectorArgs('zoomIn', selector) : [], options);
  }

  async zoomOut(selector?: Selector, options?: CallOptions): Promise<void> {
    await this.simple('zoomOut', selector ? selectorArgs('zoomOut', selector) : [], options);
  }

  /** Listed in the command set of two wrappers; what it does is unknown. */
  async rock(options?: CallOptions): Promise<void> {
    await this.simple('rock', [], options);
  }

  /** Plays a macro given as the JSON body of a `.record` file; returns ldconsole's JSON reply, if any. */
  async operaterecord(selector: Selector, content: string | object, options?: CallOptions): Promise<unknown> {
    const json = typeof content === 'string' ? content : JSON.stringify(content);
    requireText('operaterecord', 'content', json);
    const call = await this.simple('operaterecord', [...selectorArgs('operaterecord', selector), '--content', json], options);
    return call.stdout.trim() === '' ? undefined : parseOrFail(call, () => parseJsonOutput(call.stdout));
  }

  /** The instance's macro records (a JSON array). */
  async operatelist(selector: Selector, options?: CallOptions): Promise<unknown> {
    const call = await this.simple('operatelist', selectorArgs('operatelist', selector), options);
    return parseOrFail(call, () => parseJsonOutput(call.stdout));
  }

  /** One macro record's info (JSON). */
  async operateinfo(selector: Selector, file: string, options?: CallOptions): Promise<unknown> {
    const call = await this.simple('operateinfo', [...selectorArgs('operateinfo', selector), '--file', nonEmpty('operateinfo', 'file', file)], options);
    return parseOrFail(call, () => parseJsonOutput(call.stdout));
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  /** A command whose success is rc 0 and whose failures are announced on stdout. */
  private async simple(command: string, args: readonly string[], options?: CallOptions): Promise<RawCall> {
    const call = await this.runner.invoke(command, args, this.invokeOptions(options));
    throwIfFailed(call);
    return call;
  }

  private invokeOptions(options?: CallOptions) {
    return {
      timeoutMs: options?.timeoutMs ?? this.limits.timeoutMs,
      maxOutputBytes: this.limits.maxOutputBytes,
      ...(options?.signal ? { signal: options.signal } : {}),
    };
  }

  private async packageCommand(command: string, selector: Selector, packageName: string, extra: string[], options?: CallOptions): Promise<void> {
    requireOptionValue(command, 'packageName', packageName);
    await this.simple(command, [...selectorArgs(command, selector), '--packagename', packageName, ...extra], options);
  }

  private async transfer(command: 'pull' | 'push', selector: Selector, paths: TransferPaths, options?: CallOptions): Promise<void> {
    const args = ['--remote', nonEmpty(command, 'remote', paths.remote), '--local', nonEmpty(command, 'local', paths.local)];
    await this.simple(command, [...selectorArgs(command, selector), ...args], { timeoutMs: this.limits.adbTimeoutMs, ...options });
  }

  private async requireInstance(command: string, selector: Selector, options?: CallOptions): Promise<List2Row> {
    const row = await this.instance(selector, options);
    if (row === undefined) throw new LdConsoleError('not_found', `${command}: no instance with ${describeSelector(selector)}`, { command });
    return row;
  }

  /**
   * The index a successful add/copy created. The exit code names it on real builds; it is
   * trusted only when list2 shows that index as new. Otherwise the one new row decides.
   */
  private async confirmNewInstance(call: RawCall, before: readonly List2Row[], options?: CallOptions): Promise<number> {
    const known = new Set(before.map((row) => row.index));
    const created = (await this.list2(options)).filter((row) => !known.has(row.index)).map((row) => row.index);
    if (call.exitCode !== null && created.includes(call.exitCode)) return call.exitCode;
    const [only, ...others] = created;
    if (only !== undefined && others.length === 0) return only;
    if (only !== undefined) throw failure('failed', call, `${call.command}: several new instances appeared (${created.join(', ')}); cannot tell which is ours`);
    if (call.command === 'copy' && call.exitCode !== 0 && call.stdout.trim() === '') {
      throw failure('busy', call, `copy was refused (exit ${String(call.exitCode)}, no output): another copy is probably running`);
    }
    throw failure('no_effect', call, `${call.command} reported ${String(call.exitCode)} but list2 shows no new instance`);
  }

  private async withTrueTitle(row: List2Row): Promise<List2Row> {
    if (this.installDir === undefined || !mayBeMisdecoded(row.title)) return row;
    let title: string | undefined;
    try {
      title = (await readInstanceConfig(this.installDir, row.index)).title;
    } catch (_unreadable) {
      return row;
    }
    // No playerName: the instance keeps its default title, which the lossy text may still reveal.
    title ??= defaultTitleShownAs(row.title, row.index);
    return title === undefined ? row : { ...row, title };
  }
}

/** Default titles: CN builds `雷电模拟器[-n]`, international `LDPlayer[-n]` (index 0 has no suffix). */
function defaultTitles(index: number): string[] {
  const suffix = index === 0 ? '' : `-${index}`;
  return [`雷电模拟器${suffix}`, `LDPlayer${suffix}`];
}

/** The default title a lossy list2 title stands for: same length, `?` only where a character was lost. */
function defaultTitleShownAs(shown: string, index: number): string | undefined {
  const matches = (candidate: string) =>
    [...candidate].length === [...shown].length && [...shown].every((char, i) => char === '?' || char === '\uFFFD' || char === [...candidate][i]);
  return defaultTitles(index).find(matches);
}

/** Plain ASCII survives every code page; anything else may not have. */
function mayBeMisdecoded(title: string): boolean {
  return looksLossy(title) || /[^\x20-\x7e]/.test(title);
}

function findRow(rows: readonly List2Row[], selector: Selector): List2Row | undefined {
  return rows.find((row) => ('index' in selector ? row.index === selector.index : row.title === selector.name));
}

function parseOrFail<T>(call: RawCall, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof OutputParseError) throw failure('failed', call, `ldconsole ${call.command}: ${error.message}`);
    throw error;
  }
}

function optionValue(command: string, what: string, value: string): string {
  requireOptionValue(command, what, value);
  return value;
}

function nonEmpty(command: string, what: string, value: string): string {
  requireText(command, what, value);
  return value;
}

function requireLdbk(command: string, file: string): void {
  requireText(command, 'file', file);
  if (!/\.ldbk$/i.test(file)) throw invalidArgument(command, 'backup files must end in .ldbk');
}

function throwIfAborted(command: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LdConsoleError('aborted', `${command} aborted`, { command, cause: signal.reason });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
