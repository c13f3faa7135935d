/**
 * What each action does on the agent, with the rules for calls that make no sense in the
 * instance's current state (documented in the README):
 *  - start of a running, booted instance succeeds at once (`alreadyRunning: true`);
 *  - stop of a stopped instance succeeds at once (`alreadyStopped: true`);
 *  - restart of a stopped instance starts it;
 *  - modify of a running instance is refused (`conflict`/`emulator_running`) unless
 *    `params.restart` is true: then stop → modify → start, since LDPlayer applies settings only
 *    on the next boot;
 *  - clone of a running source is refused (`conflict`/`source_running`);
 *  - delete of a running instance stops it, then removes it;
 *  - apps and shell need a running instance (`conflict`/`emulator_stopped`);
 *  - launching or killing a package that is not installed fails (`conflict`/`app_not_installed`);
 *  - an emulator removed meanwhile fails with `conflict`/`emulator_gone` (a resumed delete
 *    whose emulator is gone has succeeded).
 */
import type { ObservedInstance, RpcMethod, RpcMethods, SettingsInput } from '../../protocol/index.js';
import type { EmulatorsTable } from '../fleet/index.js';
import { conflictFailure } from './errors.js';
import type { Action, ActionClass } from './types.js';

export interface ActionTimeouts {
  /** Any single ldconsole call. */
  callMs: number;
  /** From launch to `sys.boot_completed`. */
  bootMs: number;
}

/** What an action handler can do; the engine implements it (breaker, ids, cancellation). */
export interface ActionContext {
  readonly params: Record<string, unknown>;
  readonly workstationId: string;
  readonly emulatorId: string | undefined;
  /** The operation was running when the server lost track of it and is being resumed. */
  readonly resumed: boolean;
  readonly timeouts: ActionTimeouts;
  /** The workstation's launch spacing; the agent keeps it right before it spawns `launch`. */
  readonly launchIntervalMs: number;
  /** One agent call; `step` names it inside a multi-call action (its rpc id gets the suffix). */
  call<M extends RpcMethod>(method: M, params: RpcMethods[M]['params'], timeoutMs: number, step?: string): Promise<RpcMethods[M]['result']>;
  /** The emulator as stored now, or `conflict`/`emulator_gone`. */
  emulator(): Promise<EmulatorsTable>;
  findEmulator(id: string): Promise<EmulatorsTable | undefined>;
  /** Records an instance the agent returned; gives its emulator id. */
  observed(instance: ObservedInstance): Promise<string>;
  observedRemoved(row: EmulatorsTable): Promise<void>;
  /** An instance named `name` that appeared after the operation started, if any (create/clone recovery). */
  findCreatedSince(name: string): Promise<{ emulatorId: string; instance: ObservedInstance } | undefined>;
  sendUpload(transferId: string): Promise<void>;
  progress(text: string): Promise<void>;
  /** The start's launch went out: other mutations may use the lane again. */
  launched(): void;
  throwIfCancelled(): void;
}

/** Which of a workstation's limits an operation competes for. */
export function laneOf(action: Action, params: Record<string, unknown>): ActionClass {
  if (action === 'start' || action === 'restart') return 'boot';
  if (action === 'modify' && params.restart === true) return 'boot';
  if (action === 'shell') return 'read';
  return 'mutation';
}

/**
 * Whether running the action twice leaves the same result as once. Only these are retried
 * after a timeout, and only these are run again when a resumed call's outcome is unknown.
 */
export function isRepeatable(action: Action): boolean {
  return action !== 'create' && action !== 'clone' && action !== 'shell';
}

type Handler = (ctx: ActionContext) => Promise<unknown>;

const startTimeout = (ctx: ActionContext) => ctx.timeouts.bootMs + ctx.timeouts.callMs;

async function emulatorSummary(ctx: ActionContext, instance: ObservedInstance): Promise<Record<string, unknown>> {
  const emulatorId = await ctx.observed(instance);
  return { emulatorId, index: instance.index, name: instance.name, state: instance.state, booted: instance.booted };
}

async function runningEmulator(ctx: ActionContext): Promise<EmulatorsTable> {
  const emulator = await ctx.emulator();
  if (emulator.state === 'stopped') throw conflictFailure('emulator_stopped', `emulator ${emulator.name} is stopped; start it first`);
  return emulator;
}

async function bootInstance(ctx: ActionContext, index: number, method: 'start' | 'restart', step?: string): Promise<ObservedInstance> {
  await ctx.progress('booting');
  const params = { index, bootTimeoutMs: ctx.timeouts.bootMs, launchIntervalMs: ctx.launchIntervalMs };
  const call = ctx.call(method, params, startTimeout(ctx) + ctx.launchIntervalMs, step);
  // The launch itself is quick; the lane is free again once it went out (the agent serialises it).
  ctx.launched();
  return call;
}

async function stopIfRunning(ctx: ActionContext, emulator: EmulatorsTable, step: string): Promise<void> {
  if (emulator.state === 'stopped') return;
  await ctx.progress('stopping');
  await ctx.observed(await ctx.call('stop', { index: emulator.idx }, ctx.timeouts.callMs, step));
  ctx.throwIfCancelled();
}

const create: Handler = async (ctx) => {
  const name = String(ctx.params.name);
  if (ctx.resumed) {
    const adopted = await ctx.findCreatedSince(name);
    if (adopted) return { ...(await emulatorSummary(ctx, adopted.instance)), adopted: true };
  }
  const settings = ctx.params.settings as SettingsInput | undefined;
  await ctx.progress('creating');
  const instance = await ctx.call('create', settings ? { name, settings } : { name }, ctx.timeouts.callMs * 2);
  return emulatorSummary(ctx, instance);
};

const clone: Handler = async (ctx) => {
  const name = String(ctx.params.name);
  if (ctx.resumed) {
    const adopted = await ctx.findCreatedSince(name);
    if (adopted) return { ...(await emulatorSummary(ctx, adopted.instance)), adopted: true };
  }
  const sourceId = String(ctx.params.cloneFrom);
  const source = await ctx.findEmulator(sourceId);
  if (!source) throw conflictFailure('emulator_gone', `the clone source ${sourceId} no longer exists`);
  if (source.state !== 'stopped') throw conflictFailure('source_running', `stop ${source.name} before cloning it: copying a running instance corrupts the copy`);
  await ctx.progress('copying');
  const instance = await ctx.call('clone', { sourceIndex: source.idx, name }, ctx.timeouts.callMs * 4);
  return emulatorSummary(ctx, instance);
};

const rename: Handler = async (ctx) => {
  const emulator = await ctx.emulator();
  return emulatorSummary(ctx, await ctx.call('rename', { index: emulator.idx, name: String(ctx.params.name) }, ctx.timeouts.callMs));
};

const modify: Handler = async (ctx) => {
  let emulator = await ctx.emulator();
  const settings = ctx.params.settings as SettingsInput | undefined;
  const newName = typeof ctx.params.name === 'string' ? ctx.params.name : undefined;
  const wasRunning = emulator.state !== 'stopped';
  if (wasRunning && settings !== undefined && ctx.params.restart !== true) {
    throw conflictFailure(
      'emulator_running',
      `emulator ${emulator.name} is running and LDPlayer applies settings only on the next boot; stop it first or pass "restart": true`,
    );
  }
  if (newName !== undefined) {
    await ctx.observed(await ctx.call('rename', { index: emulator.idx, name: newName }, ctx.timeouts.callMs, 'rename'));
  }
  if (settings === undefined) return { emulatorId: emulator.id, name: newName ?? emulator.name, restarted: false };
  if (wasRunning) await stopIfRunning(ctx, emulator, 'stop');
  await ctx.progress('modifying');
  let instance = await ctx.call('modify', { index: emulator.idx, settings }, ctx.timeouts.callMs, 'modify');
  await ctx.observed(instance);
  if (wasRunning) {
    ctx.throwIfCancelled();
    emulator = await ctx.emulator();
    instance = await bootInstance(ctx, emulator.idx, 'start', 'start');
  }
  return { ...(await emulatorSummary(ctx, instance)), settings: instance.settings, restarted: wasRunning };
};

const remove: Handler = async (ctx) => {
  let emulator: EmulatorsTable;
  try {
    emulator = await ctx.emulator();
  } catch (error) {
    // A resumed delete whose emulator is gone did its work before the server lost track of it.
    if (ctx.resumed) return { emulatorId: ctx.emulatorId, removed: true, alreadyGone: true };
    throw error;
  }
  await stopIfRunning(ctx, emulator, 'stop');
  await ctx.progress('removing');
  await ctx.call('remove', { index: emulator.idx }, ctx.timeouts.callMs, 'remove');
  await ctx.observedRemoved(emulator);
  return { emulatorId: emulator.id, removed: true };
};

const start: Handler = async (ctx) => {
  const emulator = await ctx.emulator();
  if (emulator.state === 'running' && emulator.booted === 1) {
    return { emulatorId: emulator.id, state: 'running', booted: true, alreadyRunning: true };
  }
  return emulatorSummary(ctx, await bootInstance(ctx, emulator.idx, 'start'));
};

const stop: Handler = async (ctx) => {
  const emulator = await ctx.emulator();
  if (emulator.state === 'stopped') return { emulatorId: emulator.id, state: 'stopped', alreadyStopped: true };
  return emulatorSummary(ctx, await ctx.call('stop', { index: emulator.idx }, ctx.timeouts.callMs));
};

const restart: Handler = async (ctx) => {
  const emulator = await ctx.emulator();
  const method = emulator.state === 'stopped' ? 'start' : 'restart';
  return emulatorSummary(ctx, await bootInstance(ctx, emulator.idx, method));
};

const installApp: Handler = async (ctx) => {
  const emulator = await runningEmulator(ctx);
  const transferId = typeof ctx.params.transferId === 'string' ? ctx.params.transferId : undefined;
  if (transferId !== undefined) {
    await ctx.progress('uploading');
    await ctx.sendUpload(transferId);
    await ctx.progress('installing');
    return ctx.call('installApp', { index: emulator.idx, transferId }, ctx.timeouts.callMs * 3);
  }
  await ctx.progress('installing');
  return ctx.call('installApp', { index: emulator.idx, packageName: String(ctx.params.packageName) }, ctx.timeouts.callMs * 3);
};

function appHandler(method: 'uninstallApp' | 'launchApp' | 'killApp'): Handler {
  return async (ctx) => {
    const emulator = await runningEmulator(ctx);
    const packageName = String(ctx.params.packageName);
    // ldconsole's runapp and killapp say nothing about a package that is not there.
    if (method !== 'uninstallApp') await requireInstalled(ctx, emulator, packageName);
    return ctx.call(method, { index: emulator.idx, packageName }, ctx.timeouts.callMs);
  };
}

async function requireInstalled(ctx: ActionContext, emulator: EmulatorsTable, packageName: string): Promise<void> {
  const { packages } = await ctx.call('listApps', { index: emulator.idx }, ctx.timeouts.callMs, 'apps');
  if (!packages.includes(packageName)) {
    throw conflictFailure('app_not_installed', `${packageName} is not installed on ${emulator.name}`);
  }
}

const shell: Handler = async (ctx) => {
  const emulator = await runningEmulator(ctx);
  return ctx.call('shell', { index: emulator.idx, command: String(ctx.params.command) }, ctx.timeouts.callMs);
};

export const HANDLERS: Readonly<Record<Action, Handler>> = {
  create,
  clone,
  rename,
  modify,
  delete: remove,
  start,
  stop,
  restart,
  installApp,
  uninstallApp: appHandler('uninstallApp'),
  launchApp: appHandler('launchApp'),
  killApp: appHandler('killApp'),
  shell,
};
