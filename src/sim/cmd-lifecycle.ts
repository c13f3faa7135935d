import { apps } from './apps.js';
import { mutateInstance, option, usageError, type InstanceHandler, type PlainHandler } from './context.js';
import { getpropLines } from './guest.js';
import { ok } from './output.js';
import { InstanceState, type Instance, type SimStore } from './store.js';

/** Launch and quit are no-ops on an instance already in the target state (rc 0). */
export const launch: InstanceHandler = (ctx, instance) =>
  mutateInstance(ctx, instance.index, (fresh) => {
    ctx.store.launch(fresh);
    return ok();
  });

/** Launches, then starts the app; it shows as running once the guest is up (pidof). */
export const launchex: InstanceHandler = (ctx, instance) => {
  const pkg = option(ctx, 'packagename');
  if (!pkg) return usageError();
  const result = launch(ctx, instance);
  apps.start(ctx.store, instance.index, pkg);
  return result;
};

export const quit: InstanceHandler = (ctx, instance) =>
  mutateInstance(ctx, instance.index, (fresh) => {
    ctx.store.quit(fresh);
    return ok();
  });

export const quitall: PlainHandler = (ctx) =>
  ctx.store.mutate(() => {
    for (const instance of ctx.store.all()) ctx.store.quit(instance);
    return ok();
  });

/** quit + launch: new PIDs, and pending `modify` values take effect. */
export const reboot: InstanceHandler = (ctx, instance) =>
  mutateInstance(ctx, instance.index, (fresh) => {
    ctx.store.quit(fresh);
    ctx.store.launch(fresh);
    return ok();
  });

export const list: PlainHandler = (ctx) => ok(...ctx.store.all().map((instance) => instance.title));

export const runninglist: PlainHandler = (ctx) =>
  ok(...ctx.store.all().filter((instance) => instance.runtime.session).map((instance) => instance.title));

/** One list2 row; stopped: `idx,title,0,0,0,-1,-1,w,h,dpi`. */
export function list2Row(store: SimStore, instance: Instance, now: number): string {
  const session = instance.runtime.session;
  const state = store.stateOf(instance, now);
  const processColumns = session
    ? [session.hwndTop, session.hwndBind, state, session.pidPlayer, session.pidBox]
    : [0, 0, InstanceState.Stopped, -1, -1];
  const columns: (string | number)[] = [instance.index, instance.title, ...processColumns];
  if (store.settings.list2Columns === 10) {
    const { width, height, dpi } = store.displayedResolution(instance);
    columns.push(width, height, dpi);
  }
  return columns.join(',');
}

export const list2: PlainHandler = (ctx) => {
  const now = ctx.store.now();
  return ok(...ctx.store.all().map((instance) => list2Row(ctx.store, instance, now)));
};

/** Only one (possibly abbreviated) sample exists, `0,LDPlayer,0,1280,720,240`; read here as index,title,state,w,h,dpi. */
export const list3: InstanceHandler = (ctx, instance) => {
  const { width, height, dpi } = ctx.store.displayedResolution(instance);
  return ok([instance.index, instance.title, ctx.store.stateOf(instance), width, height, dpi].join(','));
};

export const isrunning: InstanceHandler = (_ctx, instance) => ok(instance.runtime.session ? 'running' : 'stop');

export const getprop: InstanceHandler = (ctx, instance) => {
  if (!instance.runtime.session) return ok('player is not running!');
  return ok(...getpropLines(ctx.store, instance, option(ctx, 'key')));
};
