import * as apps from './cmd-apps.js';
import * as device from './cmd-device.js';
import * as lifecycle from './cmd-lifecycle.js';
import * as manage from './cmd-manage.js';
import { modify, modifyMissing } from './cmd-modify.js';
import { playerMissing, type CommandContext, type InstanceHandler, type PlainHandler } from './context.js';
import { helpLines } from './help.js';
import { ok, type CommandResult } from './output.js';
import type { Selector } from './store.js';

type CommandSpec =
  | { selector: 'none'; run: PlainHandler }
  /** `Sel` is required; a missing instance is `player don't exist!` unless `onMissing` says otherwise. */
  | { selector: 'required'; run: InstanceHandler; onMissing?: PlainHandler }
  /** `Sel` may be omitted (zoomIn/zoomOut); when given it must exist. */
  | { selector: 'optional'; run: PlainHandler };

const none = (run: PlainHandler): CommandSpec => ({ selector: 'none', run });
const sel = (run: InstanceHandler, onMissing?: PlainHandler): CommandSpec => ({ selector: 'required', run, onMissing });

/** Every command of reference §3, keyed by its lower-cased name (matching is case-insensitive). */
const COMMANDS: Record<string, CommandSpec> = {
  launch: sel(lifecycle.launch),
  launchex: sel(lifecycle.launchex),
  quit: sel(lifecycle.quit),
  quitall: none(lifecycle.quitall),
  reboot: sel(lifecycle.reboot),
  list: none(lifecycle.list),
  list2: none(lifecycle.list2),
  list3: sel(lifecycle.list3),
  runninglist: none(lifecycle.runninglist),
  isrunning: sel(lifecycle.isrunning),
  getprop: sel(lifecycle.getprop),
  add: none(manage.add),
  copy: none(manage.copy),
  remove: sel(manage.remove),
  rename: sel(manage.rename),
  backup: sel(manage.backup),
  restore: sel(manage.restore),
  modify: sel(modify, modifyMissing),
  globalsetting: none(device.globalsetting),
  installapp: sel(apps.installapp),
  uninstallapp: sel(apps.uninstallapp),
  runapp: sel(apps.runapp),
  killapp: sel(apps.killapp),
  backupapp: sel(apps.backupapp),
  restoreapp: sel(apps.restoreapp),
  setprop: sel(device.setprop),
  locate: sel(device.locate),
  adb: sel(device.adb),
  pull: sel(device.pull),
  push: sel(device.push),
  scan: sel(device.scan),
  downcpu: sel(device.downcpu),
  action: sel(device.action),
  operaterecord: sel(device.operaterecord),
  operatelist: sel(device.operatelist),
  operateinfo: sel(device.operateinfo),
  sortwnd: none(device.noop),
  zoomin: { selector: 'optional', run: device.noop },
  zoomout: { selector: 'optional', run: device.noop },
  rock: none(device.noop),
};

export function selectorOf(ctx: CommandContext): Selector {
  return { index: ctx.options.get('index'), name: ctx.options.get('name') };
}

function hasSelector(selector: Selector): boolean {
  return selector.index !== undefined || selector.name !== undefined;
}

/** Runs one ldconsole command line (without the program name). No or unknown command ⇒ help, rc 0. */
export function runCommand(command: string | undefined, ctx: CommandContext): CommandResult {
  const spec = command === undefined ? undefined : COMMANDS[command.toLowerCase()];
  if (!spec) return ok(...helpLines());
  if (spec.selector === 'none') return spec.run(ctx);
  const selector = selectorOf(ctx);
  const instance = ctx.store.select(selector);
  if (spec.selector === 'optional') return !hasSelector(selector) || instance ? spec.run(ctx) : playerMissing();
  if (!instance) return spec.onMissing ? spec.onMissing(ctx) : playerMissing();
  return spec.run(ctx, instance);
}

/** The index a call targets, for the call log and fault matching. */
export function targetIndex(command: string | undefined, ctx: CommandContext): number | undefined {
  const spec = command === undefined ? undefined : COMMANDS[command.toLowerCase()];
  if (!spec || spec.selector === 'none') return undefined;
  const selector = selectorOf(ctx);
  if (selector.index !== undefined) return /^\d+$/.test(selector.index) ? Number(selector.index) : undefined;
  return selector.name === undefined ? undefined : ctx.store.findByTitle(selector.name)?.index;
}
