/**
 * Runs the server's RPC calls against the ldconsole driver. State-changing ldconsole calls take
 * the host's mutation lock one at a time; reads (shell, screenshot, list2) and boot waits run
 * outside it. Every call answers with an `rpc.result`, whatever happens inside.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { CallOptions, LdConsole, List2Row, ModifySettings } from '../ldconsole/index.js';
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
/** Node fires longer timers at once; no RPC deadline needs more than these ~24 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class RpcDispatcher {
  private readonly mutex: Mutex;
  private readonly driver: RpcDriver;
  private readonly handlers: Handlers;
  /** Calls by id, running or finished: an id runs at most once (see the protocol). */
  private readonly calls = new Map<string, Promise<RpcResultMessage>>();

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
          return driver.copy({ index: sourceIndex }, name, context.options);
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
      start: async ({ index, bootTimeoutMs }, context) => {
        await this.mutate(context, async () => {
          const row = await this.requireInstance(index, context);
          if (row.state === 'stopped') await driver.launch({ index }, context.options);
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
      restart: async ({ index, bootTimeoutMs }, context) => {
        await this.mutate(context, async () => {
          const row = await this.requireInstance(index, context);
          if (row.state !== 'stopped') await driver.quit({ index }, context.options);
          await driver.launch({ index }, context.options);
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
      shell: async ({ index, command }, context) => ({ output: await driver.shell({ index }, command, context.options) }),
      listApps: async ({ index }, context) => ({ packages: [...(await this.installedPackages(index, context))].sort() }),
      screenshot: async ({ index }, context) => ({ pngBase64: (await driver.screenshot({ index }, context.options)).toString('base64') }),
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

  /** Boot is awaited outside the lock: a 60-second boot must not hold up every other mutation. */
  private async bootedInstance(index: number, bootTimeoutMs: number, context: CallContext): Promise<ObservedInstance> {
    await this.driver.waitBooted({ index }, { timeoutMs: bootTimeoutMs, signal: context.signal });
    this.options.inventory.markBooted(index);
    return this.observed(index);
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

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
