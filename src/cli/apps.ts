/** `ldfleet apps list|install|uninstall|launch|kill` on one emulator or a target. */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { Operation } from '../sdk/index.js';
import { withSession } from './command.js';
import { ExitCode, usageError } from './exit-codes.js';
import { finishAction, followOperations } from './follow.js';
import { printList } from './output.js';
import { addTargetOptions, runOnTargets } from './emulators.js';
import type { TargetFlags } from './emulators.js';
import { emulatorLabel, resolveEmulator, resolveTargets } from './targets.js';
import type { Session } from './session.js';

const PACKAGE_PATTERN = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/;

function checkPackage(name: string): string {
  if (!PACKAGE_PATTERN.test(name)) throw usageError(`"${name}" is not a package name like com.example.app`);
  return name;
}

export function addAppCommands(program: Command): void {
  const apps = program.command('apps').description('Android apps on emulators');

  apps
    .command('list <emulator>')
    .description('packages installed on a running emulator (asked of its agent now)')
    .action(
      withSession(async (session, ref: string) => {
        const emulator = await resolveEmulator(session.client, ref);
        const page = await session.client.listApps(emulator.id);
        printList(session.output, page, [{ header: 'PACKAGE', value: (app) => app.packageName }], 'apps');
        return ExitCode.ok;
      }),
    );

  addTargetOptions(
    apps.command('install <apk-or-package> [emulators...]').description('install FILE.apk (uploaded) or a package name (from the LD Store)'),
  ).action(
    withSession(async (session, source: string, refs: string[], flags: TargetFlags) => {
      const isFile = source.toLowerCase().endsWith('.apk') || existsSync(source);
      if (!isFile) {
        const packageName = checkPackage(source);
        return runOnTargets(session, refs, flags, (e) => session.client.installApp(e.id, packageName), { action: 'installApp', params: { packageName } });
      }
      return installFile(session, source, refs, flags);
    }),
  );

  const verbs = [
    ['uninstall', 'uninstallApp', 'remove an app'],
    ['launch', 'launchApp', 'start an app'],
    ['kill', 'killApp', 'force-stop an app'],
  ] as const;
  for (const [name, action, description] of verbs) {
    addTargetOptions(apps.command(`${name} <package> [emulators...]`).description(description)).action(
      withSession(async (session, pkg: string, refs: string[], flags: TargetFlags) => {
        const packageName = checkPackage(pkg);
        const verb = name;
        return runOnTargets(session, refs, flags, (e) => session.client.appAction(e.id, packageName, verb), { action, params: { packageName } });
      }),
    );
  }
}

/**
 * An APK file goes up once per target emulator (the batch route takes package names only), and
 * the resulting operations are followed together.
 */
async function installFile(session: Session, file: string, refs: readonly string[], flags: TargetFlags) {
  let apk: Uint8Array;
  try {
    apk = readFileSync(file);
  } catch (error) {
    throw usageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const resolved = await resolveTargets(session.client, refs, flags.where);
  const { client } = session;
  if (resolved.kind === 'one') {
    return finishAction(session, flags, await client.uploadApp(resolved.emulator.id, apk, basename(file)), emulatorLabel(resolved.emulator));
  }
  const targets =
    'ids' in resolved.target
      ? await Promise.all(resolved.target.ids.map((id) => client.getEmulator(id)))
      : await client.all((page) => client.listEmulators({ ...page, ...('filter' in resolved.target ? resolved.target.filter : {}) }));
  if (targets.length === 0) throw usageError('no emulator matches');
  const operations: Operation[] = [];
  for (const emulator of targets) operations.push(await client.uploadApp(emulator.id, apk, basename(file)));
  return followOperations(session, flags, operations, targets.map(emulatorLabel));
}
