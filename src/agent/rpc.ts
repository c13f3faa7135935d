/**
 * Runs the server's RPC calls against the ldconsole driver. State-changing ldconsole calls take
 * the host's mutation lock one at a time; reads (shell, screenshot, list2) and boot waits run
 * outside it. Every call answers with an `rpc.result`, whatever happens inside.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { isLdConsoleError, type CallOptions, type LdConsole, type LdConsoleError, type List2Row, type ModifySettings } from '../ldconsole/index.js';
import { RPC_PARAMS } from '../protocol/index.js';
import type { ObservedInstance, RpcCallMessage, RpcMethod, RpcMethods, RpcResultMessage, SettingsInput } from '../protocol/index.js';
import { readApkPackageName } from '../apk/index.js';
import type { Snapshot } from './inventory.js';
import { describeError, type AgentLogger } from './log.js';
import { Mutex } from './mutex.js';
import { RpcError, toActionError } from './rpc-error.js';
import type { TransferStore } from './transfers.js';

/** The driver calls RPCs use; `LdConsole` is the real one. */
export type RpcDriver = Pick<
  LdConsole,
  | 'instance'
  | 'add'
  | 'copy'
  | 'remove'
  | 'rename'
  | 'modify'
  | 'launch'
  | 'quit'
  | 'waitBooted'
  | 'installapp'
  | 'uninstallapp'
  | 'runapp'
  | 'killapp'
  | 'shell'
  | 'shellStatus'
  | 'killAdbServer'
  | 'readConfig'
  | 'enableAdbDebug'
  | 'screenshot'
>;

/** The inventory as RPCs see it: a refresh after a change both reads the result and tells the server. */
export interface RpcInventory {
  refresh(): Promise<Snapshot>;
  resync(): Promise<Snapshot>;
  markBooted(index: number): void;
}

export interface RpcDispatcherOptions {
  readonly driver: RpcDriver;
  readonly inventory: RpcInventory;
  readonly transfers: TransferStore;
  readonly logger: AgentLogger;
  /** Shared by everything that changes state on this host. */
  readonly mutex?: Mutex;
  /** How many finished results are kept to answer a repeated call id. */
  readonly rememberResults?: number;
  /** Told when adb servers keep fighting after a restart (a message), and when adb works again (undefined). */
  readonly onAdbHealth?: (problem: string | undefined) => void;
  /** How long after `launch` list2 must show the instance starting; default 5 s. */
  readonly launchConfirmMs?: number;
  /** Launches sent again when list2 still shows the instance stopped; default 2. */
  readonly launchRetries?: number;
}

/** What a handler gets besides its params: the call's deadline as a signal. */
interface CallContext {
  readonly signal: AbortSignal;
  readonly options: CallOptions;
}

type Handler<M extends RpcMethod> = (params: RpcMethods[M]['params'], context: CallContext) => Promise<RpcMethods[M]['result']>;
type Handlers = { [M in RpcMethod]: Handler<M> };

const PARAMS = RPC_PARAMS;
const PARAM_CHECKS = Object.fromEntries(Object.entries(PARAMS).map(([method, schema]) => [method, TypeCompiler.Compile(schema)]));

const DEFAULT_REMEMBERED_RESULTS = 1_000;
const DEFAULT_LAUNCH_CONFIRM_MS = 5_000;
const DEFAULT_LAUNCH_RETRIES = 2;
const LAUNCH_CONFIRM_POLL_MS = 200;
/**
 * Methods that change nothing on the host: safe to run again, so their results are not kept.
 * Not `shell`: its command may change things, so a re-sent id must replay, not re-run.
 */
const READ_ONLY: ReadonlySet<string> = new Set<RpcMethod>(['screenshot', 'listApps', 'inventory']);
/** Node fires longer timers at once; no RPC deadline needs more than these ~24 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class RpcDispatcher {
  private readonly mutex: Mutex;
  private readonly driver: RpcDriver;
  private readonly handlers: Handlers;
  /** Calls by id, running or finished: an id runs at most once (see the protocol). */
  private readonly calls = new Map<string, Promise<RpcResultMessage>>();
  /** When the last `launch` on this host returned (ms); the next one waits the interval from here. */
  private lastLaunchEndedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: RpcDispatcherOptions) {
    this.mutex = options.mutex ?? new Mutex();
    this.driver = options.driver;
    this.handlers = this.createHandlers();
  }

  /** Runs a call (or joins the run of the same id) and resolves with its result; never rejects. */
  dispatch(call: RpcCallMessage): Promise<RpcResultMessage> {
    const known = this.calls.get(call.id);
    if (known) return known;
    const result = this.execute(call);
    this.calls.set(call.id, result);
    // Reads are joined while they run but not remembered: repeating one is harmless, and
    // keeping their results (screenshots are megabytes) would grow the agent without need.
    if (READ_ONLY.has(call.method)) void result.finally(() => this.calls.delete(call.id));
    this.forgetOldResults();
    return result;
  }

  private async execute(call: RpcCallMessage): Promise<RpcResultMessage> {
    const started = Date.now();
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new RpcError('timeout', 'rpc_timeout', `${call.method} did not finish within ${call.timeoutMs} ms`)),
      Math.min(call.timeoutMs, MAX_TIMER_MS),
    );
    try {
      const result = await untilAborted(this.run(call, deadline.signal), deadline.signal);
      this.options.logger.info({ id: call.id, method: call.method, ms: Date.now() - started }, 'rpc succeeded');
      return { type: 'rpc.result', id: call.id, ok: true, result };
    } catch (thrown) {
      const error = toActionError(deadline.signal.aborted ? deadline.signal.reason : thrown);
      this.options.logger.warn({ id: call.id, method: call.method, ms: Date.now() - started, error }, 'rpc failed');
      return { type: 'rpc.result', id: call.id, ok: false, error };
    } finally {
      clearTimeout(timer);
    }
  }

  private run(call: RpcCallMessage, signal: AbortSignal): Promise<unknown> {
    if (!isRpcMethod(call.method)) {
      return Promise.reject(new RpcError('conflict', 'unknown_method', `this agent has no method ${JSON.stringify(call.method)}`));
    }
    const check = PARAM_CHECKS[call.method];
    if (check && !check.Check(call.params)) {
      const first = [...check.Errors(call.params)][0];
      const where = first ? `${first.path || '/'}: ${first.message}` : 'invalid';
      return Promise.reject(new RpcError('conflict', 'invalid_params', `${call.method} params ${where}`));
    }
    const handler = this.handlers[call.method] as Handler<RpcMethod>;
    // A handler is async, but a synchronous throw inside it must still become a result.
    return Promise.resolve().then(() => handler(call.params as never, { signal, options: { signal } }));
  }

  private forgetOldResults(): void {
    const limit = this.options.rememberResults ?? DEFAULT_REMEMBERED_RESULTS;
    for (const id of this.calls.keys()) {
      if (this.calls.size <= limit) break;
      this.calls.delete(id);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Handlers

  private createHandlers(): Handlers {
    const driver = this.driver;
    return {
      create: async ({ name, settings }, context) => {
        const index = await this.mutate(context, async () => {
          const created = await driver.add(name, context.options);
          if (settings !== undefined) await this.modifyOrUndo(created, settings, context);
          await this.enableAdb(created);
          return created;
        });
        return this.observed(index);
      },
      clone: async ({ sourceIndex, name }, context) => {
        const index = await this.mutate(context, async () => {
          const source = await this.requireInstance(sourceIndex, context);
          if (source.state !== 'stopped') {
            throw new RpcError('conflict', 'source_running', `index ${sourceIndex} must be stopped before it is cloned (it is ${source.state})`);
          }
          const copied = await driver.copy({ index: sourceIndex }, name, context.options);
          await this.enableAdb(copied);
          return copied;
        });
        return this.observed(index);
      },
      rename: async ({ index, name }, context) => {
        await this.mutate(context, () => driver.rename({ index }, name, context.options));
        return this.observed(index);
      },
      modify: async ({ index, settings }, context) => {
        await this.mutate(context, () => driver.modify({ index }, modifySettings(settings), context.options));
        return this.observed(index);
      },
      remove: async ({ index }, context) => {
        await this.mutate(context, async () => {
          const row = await driver.instance({ index }, context.options);
          // Already gone: a repeated remove has nothing left to do.
          if (row === undefined) return;
          if (row.state !== 'stopped') await driver.quit({ index }, context.options);
          await driver.remove({ index }, context.options);
        });
        await this.options.inventory.refresh();
        return { index };
      },
      start: async ({ index, bootTimeoutMs, launchIntervalMs }, context) => {
        await this.mutate(context, async () => {
          const row = await this.requireInstance(index, context);
          if (row.state === 'stopped') await this.launchConfirmed(index, launchIntervalMs ?? 0, context);
        });
        return this.bootedInstance(index, bootTimeoutMs, context);
      },
      stop: async ({ index }, context) => {
        await this.mutate(context, async () => {
          const row = await this.requireInstance(index, context);
          if (row.state !== 'stopped') await driver.quit({ index }, context.options);
        });
        return this.observed(index);
      },
      restart: async ({ index, bootTimeoutMs, launchIntervalMs }, context) => {
        await this.mutate(context, async () => {
          const row = await this.requireInstance(index, context);
          if (row.state !== 'stopped') await driver.quit({ index }, context.options);
          await this.launchConfirmed(index, launchIntervalMs ?? 0, context);
        });
        return this.bootedInstance(index, bootTimeoutMs, context);
      },
      installApp: (params, context) => this.installApp(params, context),
      uninstallApp: async ({ index, packageName }, context) => {
        await this.mutate(context, () => driver.uninstallapp({ index }, packageName, context.options));
        return { packageName };
      },
      launchApp: async ({ index, packageName }, context) => {
        await this.mutate(context, () => driver.runapp({ index }, packageName, context.options));
        return { packageName };
      },
      killApp: async ({ index, packageName }, context) => {
        await this.mutate(context, () => driver.killapp({ index }, packageName, context.options));
        return { packageName };
      },
      shell: ({ index, command }, context) => this.viaAdb(index, () => driver.shellStatus({ index }, command, context.options), context),
      listApps: async ({ index }, context) => ({
        packages: [...(await this.viaAdb(index, () => this.installedPackages(index, context), context))].sort(),
      }),
      screenshot: async ({ index }, context) => ({
        pngBase64: (await this.viaAdb(index, () => driver.screenshot({ index }, context.options), context)).toString('base64'),
      }),
      inventory: async () => ({ instances: [...(await this.options.inventory.resync()).values()] }),
    };
  }

  /** Runs a state-changing step under the host lock, unless the call timed out while it waited. */
  private mutate<T>(context: CallContext, step: () => Promise<T>): Promise<T> {
    return this.mutex.runExclusive(async () => {
      if (context.signal.aborted) throw context.signal.reason;
      return step();
    });
  }

  /** After `add`, settings that fail leave no half-made instance behind: a retry would make a second one. */
  private async modifyOrUndo(index: number, settings: SettingsInput, context: CallContext): Promise<void> {
    try {
      await this.driver.modify({ index }, modifySettings(settings), context.options);
    } catch (error) {
      await this.driver.remove({ index }).catch((undoError: unknown) => {
        this.options.logger.error({ index, error: describeError(undoError) }, 'could not remove the instance whose settings failed');
      });
      throw error;
    }
  }

  /**
   * Boot is awaited outside the lock: a 60-second boot must not hold up every other mutation.
   * adb answering `device offline` while the config has ADB debugging off fails at once
   * (`adb_disabled`); a boot that passes its timeout is quit first, so a hung VM holds no boot
   * slot and no RAM, and then fails `boot_timeout` with what was seen.
   */
  private async bootedInstance(index: number, bootTimeoutMs: number, context: CallContext): Promise<ObservedInstance> {
    try {
      await this.viaAdb(
        index,
        () => this.driver.waitBooted({ index }, { timeoutMs: bootTimeoutMs, signal: context.signal, onDeviceOffline: () => this.adbDisabledError(index) }),
        context,
      );
    } catch (error) {
      if (isLdConsoleError(error, 'boot_timeout')) throw await this.quitHungBoot(index, error, context);
      throw error;
    }
    this.options.inventory.markBooted(index);
    return this.observed(index);
  }

  private async quitHungBoot(index: number, error: LdConsoleError, context: CallContext): Promise<RpcError> {
    const quit = await this.mutex
      .runExclusive(() => this.driver.quit({ index }, context.options))
      .then(() => 'the instance was quit so it holds no boot slot or RAM')
      .catch((quitError: unknown) => `quitting it failed too: ${describeError(quitError)}`);
    await this.options.inventory.refresh().catch(() => undefined);
    this.options.logger.warn({ index, error: error.message, quit }, 'boot timed out');
    return new RpcError('timeout', 'boot_timeout', `${error.message}; ${quit}`);
  }

  /** `adb_disabled` when the instance's config has ADB debugging off (0), else undefined. */
  private async adbDisabledError(index: number): Promise<RpcError | undefined> {
    const adbDebug = await this.driver
      .readConfig(index)
      .then((config) => config.settings.adbDebug)
      .catch(() => undefined);
    if (adbDebug !== 0) return undefined;
    return new RpcError(
      'ldconsole',
      'adb_disabled',
      `index ${index} runs with ADB debugging off (basicSettings.adbDebug 0), so adb shows it offline; stop it and start it again ` +
        'through ldfleet (which turns ADB debugging on while it is stopped), or enable Settings > Other > ADB debugging in LDPlayer',
    );
  }

  /** Before a launch (and after create/clone): ADB debugging on in the config, edited only while stopped. */
  private async enableAdb(index: number): Promise<void> {
    try {
      if (await this.driver.enableAdbDebug(index)) this.options.logger.info({ index }, 'turned ADB debugging on in the instance config');
    } catch (error) {
      this.options.logger.warn({ index, error: describeError(error) }, 'could not check or turn on ADB debugging; launching anyway');
    }
  }

  /**
   * `launch`, kept at least `intervalMs` after the previous launch on this host returned, then
   * confirmed: LDPlayer drops launches silently (rc 0, nothing starts), so list2 must show the
   * instance starting within `launchConfirmMs`; otherwise it is launched again, up to
   * `launchRetries` times, before the call fails `launch_ignored`. Runs under the host lock.
   */
  private async launchConfirmed(index: number, intervalMs: number, context: CallContext): Promise<void> {
    await this.enableAdb(index);
    const retries = this.options.launchRetries ?? DEFAULT_LAUNCH_RETRIES;
    for (let attempt = 0; attempt <= retries; attempt++) {
      await sleepUntil(this.lastLaunchEndedAt + intervalMs, context.signal);
      try {
        await this.driver.launch({ index }, context.options);
      } finally {
        this.lastLaunchEndedAt = Date.now();
      }
      if (await this.seenStarting(index, context)) return;
      this.options.logger.warn({ index, attempt: attempt + 1 }, 'launch exited but list2 still shows the instance stopped; launching again');
    }
    throw new RpcError(
      'ldconsole',
      'launch_ignored',
      `ldconsole launch of index ${index} was ignored ${retries + 1} times (rc 0, list2 kept showing it stopped); ` +
        'check that LDPlayer is not stuck (a stale Ld9BoxSVC.exe) and that the PC has free RAM',
    );
  }

  private async seenStarting(index: number, context: CallContext): Promise<boolean> {
    const deadline = Date.now() + (this.options.launchConfirmMs ?? DEFAULT_LAUNCH_CONFIRM_MS);
    for (;;) {
      const row = await this.driver.instance({ index }, context.options);
      if (row !== undefined && row.state !== 'stopped') return true;
      if (Date.now() >= deadline) return false;
      await sleepUntil(Math.min(deadline, Date.now() + LAUNCH_CONFIRM_POLL_MS), context.signal);
    }
  }

  /**
   * An adb-backed call, with adb's two ways of failing made explicit: a fight between adb
   * servers is retried once after restarting ours, and reported (`onAdbHealth`) when it goes
   * on; `device offline` on an instance whose config has ADB off becomes `adb_disabled`.
   */
  private async viaAdb<T>(index: number, work: () => Promise<T>, context: CallContext): Promise<T> {
    try {
      const result = await this.retryAdbConflict(index, work, context);
      this.options.onAdbHealth?.(undefined);
      return result;
    } catch (error) {
      if (isLdConsoleError(error, 'device_offline')) throw (await this.adbDisabledError(index)) ?? error;
      throw error;
    }
  }

  private async retryAdbConflict<T>(index: number, work: () => Promise<T>, context: CallContext): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!isLdConsoleError(error, 'adb_conflict')) throw error;
      this.options.logger.warn({ index, error: error.message }, 'adb servers are fighting; restarting the adb server and trying once more');
      await this.driver.killAdbServer({ index }, context.options).catch(() => undefined);
      try {
        return await work();
      } catch (again) {
        if (!isLdConsoleError(again, 'adb_conflict')) throw again;
        const message =
          'adb calls fail with a version mismatch even after restarting the adb server: another adb (an Android SDK, another ' +
          "emulator's tools) is running on this PC; keep one adb on the PATH (LDPlayer's) and end the others";
        this.options.onAdbHealth?.(message);
        throw new RpcError('ldconsole', 'adb_conflict', `${message} (${again.message})`);
      }
    }
  }

  private async installApp(params: RpcMethods['installApp']['params'], context: CallContext): Promise<{ packageName: string }> {
    const { index, transferId, packageName } = params;
    if (transferId === undefined) {
      if (packageName === undefined) throw new RpcError('conflict', 'invalid_params', 'installApp needs a transferId or a packageName');
      await this.mutate(context, () => this.driver.installapp({ index }, { packageName }, context.options));
      return { packageName };
    }
    const file = await this.options.transfers.claim(transferId);
    try {
      const expected = packageName ?? (await readApkPackageName(file));
      return await this.mutate(context, async () => {
        const before = await this.installedPackages(index, context);
        await this.driver.installapp({ index }, { file }, context.options);
        const after = await this.installedPackages(index, context);
        return { packageName: installedPackage(before, after, expected) };
      });
    } finally {
      await this.options.transfers.release(transferId);
    }
  }

  private async installedPackages(index: number, context: CallContext): Promise<Set<string>> {
    return parsePackageList(await this.driver.shell({ index }, 'pm list packages', context.options));
  }

  private async requireInstance(index: number, context: CallContext): Promise<List2Row> {
    const row = await this.driver.instance({ index }, context.options);
    if (row === undefined) throw new RpcError('ldconsole', 'not_found', `no instance with index ${index}`);
    return row;
  }

  /** The instance as the inventory now shows it (the refresh also pushes the change to the server). */
  private async observed(index: number): Promise<ObservedInstance> {
    const instance = (await this.options.inventory.refresh()).get(index);
    if (instance === undefined) throw new RpcError('ldconsole', 'not_found', `index ${index} is not in the inventory after the change`);
    return instance;
  }
}

export function isRpcMethod(method: string): method is RpcMethod {
  return Object.hasOwn(PARAMS, method);
}

/**
 * The protocol's settings as the driver's `modify` takes them. The names are the same; the
 * value ranges (cpu 1–4, the memory sizes, identity formats) are the driver's to check.
 */
export function modifySettings(settings: SettingsInput): ModifySettings {
  return settings as ModifySettings;
}

/** `pm list packages` prints `package:com.example` per line. */
export function parsePackageList(output: string): Set<string> {
  const packages = new Set<string>();
  for (const line of output.split(/\r?\n/)) {
    const match = /^package:(\S+)/.exec(line.trim());
    if (match?.[1]) packages.add(match[1]);
  }
  return packages;
}

/**
 * Which package an APK install produced. ldconsole's installapp reports failures inconsistently
 * (the simulator prints `Failure [...]` with rc 0), so success is judged by the package list:
 * the expected package (from the params or the APK's manifest) must be present, or, when the
 * APK could not be read, exactly one package must be new.
 */
export function installedPackage(before: ReadonlySet<string>, after: ReadonlySet<string>, expected: string | undefined): string {
  if (expected !== undefined) {
    if (after.has(expected)) return expected;
    throw new RpcError('ldconsole', 'install_failed', `${expected} is not installed after installapp`);
  }
  const added = [...after].filter((name) => !before.has(name));
  const [only] = added;
  if (only !== undefined && added.length === 1) return only;
  if (added.length > 1) throw new RpcError('ldconsole', 'install_unconfirmed', `several packages appeared during the install: ${added.join(', ')}`);
  throw new RpcError(
    'ldconsole',
    'install_unconfirmed',
    'no new package after installapp and the APK names none: the install failed, or it replaced an installed app',
  );
}

/** Resolves at `atMs` (wall clock), or at once when that has passed or the signal aborts. */
function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  const waitMs = atMs - Date.now();
  if (waitMs <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
