import type { Options } from './args.js';
import { helpLines } from './help.js';
import { ERRORS, RC, fail, ok, type CommandResult } from './output.js';
import type { Instance, SimStore } from './store.js';

export interface CommandContext {
  store: SimStore;
  options: Options;
}

/** A handler for a command that takes `Sel`; the dispatcher has already found the instance. */
export type InstanceHandler = (ctx: CommandContext, instance: Instance) => CommandResult;
export type PlainHandler = (ctx: CommandContext) => CommandResult;

export const playerMissing = (): CommandResult => fail(RC.playerMissing, ERRORS.playerMissing);
export const parameterError = (): CommandResult => fail(RC.parameter, ERRORS.parameter);
export const notRunning = (): CommandResult => ok(ERRORS.notRunning);
/** A required option is missing: the real tool answers with its usage text. */
export const usageError = (): CommandResult => fail(RC.usage, ...helpLines());

/** A non-empty option value, or undefined. */
export function option(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.options.get(name);
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Re-reads the instance under the home lock and runs a mutation on the fresh copy, so a
 * concurrent call cannot be overwritten with stale state.
 */
export function mutateInstance(ctx: CommandContext, index: number, work: (fresh: Instance) => CommandResult): CommandResult {
  return ctx.store.mutate(() => {
    const fresh = ctx.store.get(index);
    return fresh ? work(fresh) : playerMissing();
  });
}
