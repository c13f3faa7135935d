import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readApkPackageNameSync } from '../apk/index.js';
import { appPid, apps, installedPackages } from './apps.js';
import { splitCommandLine } from './args.js';
import { CONFIG_KEYS } from './config.js';
import { adbSerial, getpropLines } from './guest.js';
import { ok, type CommandResult } from './output.js';
import { screencapPng } from './screencap.js';
import type { Instance, SimStore } from './store.js';

/** What ldconsole prints when adb cannot reach the instance; rc stays 0 as ldconsole passes adb's text through. */
export function adbUnreachable(instance: Instance): CommandResult | undefined {
  if (!instance.runtime.session) return ok(`error: device '${adbSerial(instance.index)}' not found`);
  if (Number(instance.config[CONFIG_KEYS.adbDebug] ?? 1) === 0) return ok('error: device offline');
  return undefined;
}

/** `ldconsole adb Sel --command "<adb args>"`: a fake adb bound to the instance's serial. */
export function runAdb(store: SimStore, instance: Instance, commandLine: string): CommandResult {
  const blocked = adbUnreachable(instance);
  if (blocked) return blocked;
  const words = splitCommandLine(commandLine);
  const [verb, ...rest] = words;
  switch (verb) {
    case 'shell':
      return runShell(store, instance, shellWords(commandLine));
    case 'exec-out':
      if (rest[0] === 'screencap') return screencap(store, instance);
      return runShell(store, instance, rest);
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
      return ok(`adb: unknown command ${verb ?? ''}`.trimEnd());
  }
}

/** The words after `shell`, re-split from the raw text so quoting inside the shell command is honoured once. */
function shellWords(commandLine: string): string[] {
  return splitCommandLine(commandLine.replace(/^\s*shell\b/, ''));
}

function runShell(store: SimStore, instance: Instance, words: string[]): CommandResult {
  const [program, ...args] = words;
  const session = instance.runtime.session!;
  switch (program) {
    case undefined:
      return ok();
    case 'echo':
      return ok(args.join(' '));
    case 'getprop':
      return ok(...getpropLines(store, instance, args[0]));
    case 'pm':
      return packageManager(store, instance, args);
    case 'am':
      return activityManager(store, instance, args);
    case 'monkey': {
      const pkg = args[args.indexOf('-p') + 1];
      if (!args.includes('-p') || !pkg || !apps.start(store, instance.index, pkg)) {
        return ok('** No activities found to run, monkey aborted.');
      }
      return ok('Events injected: 1');
    }
    case 'pidof': {
      const running = args.filter((pkg) => session.runningApps.includes(pkg));
      return running.length ? ok(running.map((pkg) => appPid(pkg, session.pidBox)).join(' ')) : ok();
    }
    case 'input':
      return ok();
    case 'wm': {
      const { width, height, dpi } = session.effective;
      if (args[0] === 'size') return ok(`Physical size: ${width}x${height}`);
      if (args[0] === 'density') return ok(`Physical density: ${dpi}`);
      return ok();
    }
    case 'screencap':
      return screencap(store, instance);
    default:
      return ok(`/system/bin/sh: ${program}: not found`);
  }
}

function packageManager(store: SimStore, instance: Instance, args: string[]): CommandResult {
  if (args[0] !== 'list' || args[1] !== 'packages') return ok();
  const thirdPartyOnly = args.includes('-3');
  const filter = args.slice(2).find((word) => !word.startsWith('-'));
  const packages = (thirdPartyOnly ? instance.runtime.installedApps : installedPackages(instance.runtime.installedApps)).filter(
    (pkg) => filter === undefined || pkg.includes(filter),
  );
  return ok(...packages.map((pkg) => `package:${pkg}`));
}

function activityManager(store: SimStore, instance: Instance, args: string[]): CommandResult {
  if (args[0] === 'force-stop' && args[1]) {
    apps.stop(store, instance.index, args[1]);
    return ok();
  }
  if (args[0] === 'start') {
    const component = args[args.indexOf('-n') + 1];
    const pkg = component?.split('/')[0];
    if (!args.includes('-n') || !component || !pkg) return ok('Error: Activity not started, unknown intent');
    if (!apps.start(store, instance.index, pkg)) {
      return ok('Error type 3', `Error: Activity class {${component}} does not exist.`);
    }
    return ok(`Starting: Intent { cmp=${component} }`);
  }
  return ok();
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
