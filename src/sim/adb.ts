import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readApkPackageNameSync } from '../apk/index.js';
import { appPid, apps, installedPackages } from './apps.js';
import { splitCommandLine } from './args.js';
import { adbSerial, getpropLines } from './guest.js';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';
import { ok, type CommandResult } from './output.js';
import { runShellScript, type ShellOutcome } from './shell.js';
import { screencapPng } from './screencap.js';
import type { Instance, SimStore } from './store.js';

/** What ldconsole prints when adb cannot reach the instance; rc stays 0 as ldconsole passes adb's text through. */
export function adbUnreachable(instance: Instance): CommandResult | undefined {
  if (!instance.runtime.session) return ok(`error: device '${adbSerial(instance.index)}' not found`);
  // The port is open but adbd never answers while ADB debugging was off at launch (reference §7.1).
  if ((instance.runtime.session.adbDebug ?? 1) === 0) return ok('error: device offline');
  return undefined;
}

/** `ldconsole adb Sel --command "<adb args>"`: a fake adb bound to the instance's serial. */
export function runAdb(store: SimStore, instance: Instance, commandLine: string): CommandResult {
  const words = splitCommandLine(commandLine);
  const [verb = '', ...rest] = words;
  if (verb === 'kill-server') return killServer(store);
  const fight = adbFight(store);
  if (fight) return fight;
  const blocked = adbUnreachable(instance);
  if (blocked) return blocked;
  switch (verb) {
    case 'shell':
      return ok(...runShellScript(shellText(commandLine), (program, args) => runShell(store, instance, [program, ...args])).lines);
    case 'exec-out':
      if (rest[0] === 'screencap') return screencap(store, instance);
      return ok(...runShell(store, instance, rest).lines);
    case 'install':
      return install(store, instance, rest.filter((word) => !word.startsWith('-')).pop());
    case 'uninstall':
      return uninstall(store, instance, rest.filter((word) => !word.startsWith('-')).pop());
    case 'push':
      return transfer('pushed', rest[0], guestPath(store, instance, rest[1]));
    case 'pull':
      return transfer('pulled', guestPath(store, instance, rest[0]), rest[1]);
    case 'get-state':
      return ok('device');
    case 'get-serialno':
      return ok(adbSerial(instance.index));
    default:
      return ok(`adb: unknown command ${verb}`.trimEnd());
  }
}

/** The guest script after `shell`, as adb hands it to the device's sh. */
function shellText(commandLine: string): string {
  return commandLine.replace(/^\s*shell\b\s*/, '');
}

/** What adb prints when a server of another version keeps killing ours (reference §8). */
function adbFight(store: SimStore): CommandResult | undefined {
  if (store.settings.modes.adbFight === 'off') return undefined;
  return ok(
    "adb server version (31) doesn't match this client (41); killing...",
    '* daemon started successfully',
    "error: protocol fault (couldn't read status): unknown data",
  );
}

/** Restarting our adb server wins a transient fight; a persistent one (the other adb keeps running) goes on. */
function killServer(store: SimStore): CommandResult {
  if (store.settings.modes.adbFight === 'transient') {
    store.mutate(() => {
      const current = readJsonIfExists<Record<string, unknown>>(store.paths.modes) ?? {};
      writeJsonAtomic(store.paths.modes, { ...current, adbFight: 'off' });
    });
  }
  return ok();
}

const done = (...lines: string[]): ShellOutcome => ({ lines, status: 0 });
const failed = (status: number, ...lines: string[]): ShellOutcome => ({ lines, status });

function runShell(store: SimStore, instance: Instance, words: string[]): ShellOutcome {
  const [program, ...args] = words;
  const session = instance.runtime.session!;
  switch (program) {
    case undefined:
      return done();
    case 'echo':
      return done(args.join(' '));
    case 'true':
      return done();
    case 'false':
      return failed(1);
    case 'getprop':
      return done(...getpropLines(store, instance, args[0]));
    case 'pm':
      return packageManager(store, instance, args);
    case 'am':
      return activityManager(store, instance, args);
    case 'ls':
      return listGuest(store, instance, args);
    case 'monkey': {
      const pkg = args[args.indexOf('-p') + 1];
      if (!args.includes('-p') || !pkg || !apps.start(store, instance.index, pkg)) {
        return failed(252, '** No activities found to run, monkey aborted.');
      }
      return done('Events injected: 1');
    }
    case 'pidof': {
      const running = args.filter((pkg) => session.runningApps.includes(pkg));
      return running.length ? done(running.map((pkg) => appPid(pkg, session.pidBox)).join(' ')) : failed(1);
    }
    case 'input':
      return done();
    case 'wm': {
      const { width, height, dpi } = session.effective;
      if (args[0] === 'size') return done(`Physical size: ${width}x${height}`);
      if (args[0] === 'density') return done(`Physical density: ${dpi}`);
      return done();
    }
    default:
      return failed(127, `/system/bin/sh: ${program}: not found`);
  }
}

/** `ls` over the guest tree: `/sdcard/…` lives in sim-guestfs; a few system folders always exist. */
function listGuest(store: SimStore, instance: Instance, args: string[]): ShellOutcome {
  const targets = args.filter((arg) => !arg.startsWith('-'));
  const lines: string[] = [];
  let status = 0;
  for (const target of targets.length ? targets : ['/']) {
    const entries = guestEntries(store, instance, target);
    if (entries === undefined) {
      lines.push(`ls: ${target}: No such file or directory`);
      status = 1;
    } else lines.push(...entries);
  }
  return { lines, status };
}

const SYSTEM_TREE: Record<string, string[]> = {
  '/': ['data', 'sdcard', 'system'],
  '/system': ['app', 'bin', 'build.prop'],
  '/data': ['local'],
  '/data/local': ['tmp'],
};

function guestEntries(store: SimStore, instance: Instance, target: string): string[] | undefined {
  const normalized = `/${target.split('/').filter((part) => part !== '' && part !== '.').join('/')}`;
  const fixed = SYSTEM_TREE[normalized];
  if (fixed) return fixed;
  if (normalized !== '/sdcard' && !normalized.startsWith('/sdcard/')) return undefined;
  const local = guestPath(store, instance, normalized.slice('/sdcard'.length) || '/');
  try {
    const stats = statSync(local ?? '');
    return stats.isDirectory() ? readdirSync(local ?? '').sort() : [target];
  } catch {
    return normalized === '/sdcard' ? [] : undefined;
  }
}

function packageManager(store: SimStore, instance: Instance, args: string[]): ShellOutcome {
  if (args[0] === 'path') {
    const pkg = args[1];
    return pkg && installedPackages(instance.runtime.installedApps).includes(pkg) ? done(`package:/data/app/${pkg}-1/base.apk`) : failed(1);
  }
  if (args[0] !== 'list' || args[1] !== 'packages') return failed(1, 'Unknown command');
  const thirdPartyOnly = args.includes('-3');
  const filter = args.slice(2).find((word) => !word.startsWith('-'));
  const packages = (thirdPartyOnly ? instance.runtime.installedApps : installedPackages(instance.runtime.installedApps)).filter(
    (pkg) => filter === undefined || pkg.includes(filter),
  );
  return done(...packages.map((pkg) => `package:${pkg}`));
}

function activityManager(store: SimStore, instance: Instance, args: string[]): ShellOutcome {
  if (args[0] === 'force-stop' && args[1]) {
    apps.stop(store, instance.index, args[1]);
    return done();
  }
  if (args[0] === 'start') {
    const component = args[args.indexOf('-n') + 1];
    const pkg = component?.split('/')[0];
    if (!args.includes('-n') || !component || !pkg) return failed(1, 'Error: Activity not started, unknown intent');
    if (!apps.start(store, instance.index, pkg)) {
      return failed(1, 'Error type 3', `Error: Activity class {${component}} does not exist.`);
    }
    return done(`Starting: Intent { cmp=${component} }`);
  }
  return failed(1, 'Unknown command');
}

function install(store: SimStore, instance: Instance, apkPath: string | undefined): CommandResult {
  if (!apkPath) return ok('adb: need APK file on command line');
  const pkg = readApkPackageNameSync(resolve(apkPath));
  if (!pkg) return ok('Performing Streamed Install', 'adb: failed to install ' + apkPath + ': Failure [INSTALL_FAILED_INVALID_APK]');
  apps.install(store, instance.index, pkg);
  return ok('Performing Streamed Install', 'Success');
}

function uninstall(store: SimStore, instance: Instance, pkg: string | undefined): CommandResult {
  if (pkg && apps.uninstall(store, instance.index, pkg)) return ok('Success');
  return ok('Failure [DELETE_FAILED_INTERNAL_ERROR]');
}

function screencap(store: SimStore, instance: Instance): CommandResult {
  return { exitCode: 0, bytes: screencapPng(instance.index, store.displayedResolution(instance)) };
}

/** A guest path such as /sdcard/a.txt mapped into the instance's sim-guestfs folder. */
export function guestPath(store: SimStore, instance: Instance, remote: string | undefined): string | undefined {
  if (!remote) return undefined;
  const normalized = remote.replace(/\\/g, '/').split('/').filter((part) => part !== '' && part !== '..' && part !== '.');
  return join(store.paths.guestFs(instance.index), ...normalized);
}

/** Copies a file, adb-style: a summary line on success, adb's error text otherwise. */
export function transfer(verb: 'pushed' | 'pulled', from: string | undefined, to: string | undefined): CommandResult {
  if (!from || !to) return ok('adb: usage: need a source and a destination');
  try {
    const size = statSync(from).size;
    mkdirSync(dirname(resolve(to)), { recursive: true });
    copyFileSync(from, to);
    return ok(`${from}: 1 file ${verb}, 0 skipped. (${size} bytes in 0.001s)`);
  } catch {
    return ok(`adb: error: cannot stat '${from}': No such file or directory`);
  }
}
