/**
 * `ldfleet emulators …`: the inventory and every emulator action. An action takes one emulator
 * (id or `workstation/name`), several, or `--where k=v,…`; more than one runs as a batch.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { BatchInput, Emulator, Operation, SettingsInput } from '../sdk/index.js';
import { addPageOptions, addWaitOptions, listPage, positiveInt, withSession } from './command.js';
import type { PageFlags } from './command.js';
import { ExitCode, usageError } from './exit-codes.js';
import type { ExitCodeValue } from './exit-codes.js';
import { finishAction } from './follow.js';
import type { WaitFlags } from './follow.js';
import { ago, printList, renderDetails } from './output.js';
import type { Column } from './output.js';
import type { Session } from './session.js';
import { emulatorLabel, resolveEmulator, resolveTargets } from './targets.js';
import { resolveWorkstation } from './workstations.js';

const COLUMNS: Column<Emulator>[] = [
  { header: 'ID', value: (e) => e.id, shrink: true },
  { header: 'WORKSTATION', value: (e) => e.workstationName ?? e.workstationId, shrink: true },
  { header: 'INDEX', value: (e) => e.index },
  { header: 'NAME', value: (e) => e.name, shrink: true },
  { header: 'STATE', value: (e) => (e.state === 'running' && !e.booted ? 'booting' : e.state) },
  // Settings are null when the agent could not read the instance's config (see its `problem`).
  { header: 'CPU', value: (e) => e.settings?.cpu },
  { header: 'MEMORY', value: (e) => (e.settings?.memoryMb ? `${e.settings.memoryMb} MB` : '') },
  { header: 'RESOLUTION', value: (e) => resolutionText(e.settings?.resolution) },
  { header: 'CHANGED', value: (e) => ago(e.observedAt) },
];

function resolutionText(resolution: { width: number; height: number; dpi: number } | undefined): string {
  return resolution ? `${resolution.width}x${resolution.height}@${resolution.dpi}` : '';
}

export interface TargetFlags extends WaitFlags {
  where?: string;
}

/** `--where` and the wait options, on every action that takes targets. */
export function addTargetOptions(command: Command): Command {
  return addWaitOptions(command.option('--where <filter>', 'every emulator matching state=…,workstation=…,tag=…,q=… (runs as a batch)'));
}

/**
 * Runs one action on the targets: the emulator's own route for one, a batch for several.
 * `single` gives the one-emulator request; `batch` the same action as batch input.
 */
export async function runOnTargets(
  session: Session,
  refs: readonly string[],
  flags: TargetFlags,
  single: (emulator: Emulator) => Promise<Operation>,
  batch: Omit<BatchInput, 'target'>,
): Promise<ExitCodeValue> {
  const resolved = await resolveTargets(session.client, refs, flags.where);
  if (resolved.kind === 'one') {
    return finishAction(session, flags, await single(resolved.emulator), emulatorLabel(resolved.emulator));
  }
  return finishAction(session, flags, await session.client.createBatch({ ...batch, target: resolved.target }));
}

interface SettingsFlags {
  cpu?: string;
  memory?: string;
  resolution?: string;
  manufacturer?: string;
  model?: string;
  phoneNumber?: string;
  imei?: string;
  imsi?: string;
  simSerial?: string;
  androidId?: string;
  mac?: string;
  root?: boolean;
  autoRotate?: boolean;
  lockWindow?: boolean;
}

function addSettingsOptions(command: Command): Command {
  return command
    .option('--cpu <n>', 'CPU cores: 1–4')
    .option('--memory <mb>', 'memory in MB: 256, 512, 768, 1024, 1536, 2048, 4096 or 8192')
    .option('--resolution <WxH@DPI>', 'screen, e.g. 1280x720@240')
    .option('--manufacturer <name>', 'device manufacturer, or auto')
    .option('--model <name>', 'device model, or auto')
    .option('--phone-number <number>', 'phone number, or auto')
    .option('--imei <imei>', 'IMEI, or auto')
    .option('--imsi <imsi>', 'IMSI, or auto')
    .option('--sim-serial <serial>', 'SIM serial, or auto')
    .option('--android-id <id>', 'Android id, or auto')
    .option('--mac <mac>', 'MAC address, or auto')
    .option('--root', 'root on')
    .option('--no-root', 'root off')
    .option('--auto-rotate', 'auto-rotate on')
    .option('--no-auto-rotate', 'auto-rotate off')
    .option('--lock-window', 'lock the window size')
    .option('--no-lock-window', 'unlock the window size');
}

function settingsOf(flags: SettingsFlags): SettingsInput | undefined {
  const settings: Record<string, unknown> = {};
  if (flags.cpu !== undefined) settings.cpu = positiveInt(flags.cpu, '--cpu');
  if (flags.memory !== undefined) settings.memoryMb = positiveInt(flags.memory, '--memory');
  if (flags.resolution !== undefined) {
    const match = /^(\d+)x(\d+)@(\d+)$/.exec(flags.resolution);
    if (!match) throw usageError(`--resolution "${flags.resolution}" is not WIDTHxHEIGHT@DPI, e.g. 1280x720@240`);
    settings.resolution = { width: Number(match[1]), height: Number(match[2]), dpi: Number(match[3]) };
  }
  for (const key of ['manufacturer', 'model', 'phoneNumber', 'imei', 'imsi', 'simSerial', 'androidId', 'mac'] as const) {
    if (flags[key] !== undefined) settings[key] = flags[key];
  }
  for (const key of ['root', 'autoRotate', 'lockWindow'] as const) if (flags[key] !== undefined) settings[key] = flags[key];
  return Object.keys(settings).length > 0 ? settings : undefined;
}

export function addEmulatorCommands(program: Command): void {
  const emulators = program.command('emulators').alias('em').description('LDPlayer instances across the fleet, and their actions');

  addPageOptions(
    emulators
      .command('list')
      .description('list emulators')
      .option('--workstation <w>', 'on this workstation (id or name)')
      .option('--state <state>', 'stopped, starting or running')
      .option('--tag <tag>', 'on workstations with this tag')
      .option('--query <q>', 'name contains this (case-insensitive)'),
  ).action(
    withSession(async (session, flags: PageFlags & { workstation?: string; state?: Emulator['state']; tag?: string; query?: string }) => {
      const filter = {
        ...(flags.workstation ? { workstation: flags.workstation } : {}),
        ...(flags.state ? { state: flags.state } : {}),
        ...(flags.tag ? { tag: flags.tag } : {}),
        ...(flags.query ? { q: flags.query } : {}),
      };
      const page = await listPage(session, flags, (p) => session.client.listEmulators({ ...p, ...filter }));
      printList(session.output, page, COLUMNS, 'emulators');
    }),
  );

  emulators
    .command('show <emulator>')
    .description('one emulator (id or workstation/name) with its settings')
    .action(
      withSession(async (session, ref: string) => {
        const emulator = await resolveEmulator(session.client, ref);
        if (session.output.json) return void session.output.printJson(emulator);
        const s: Partial<NonNullable<Emulator['settings']>> = emulator.settings ?? {};
        session.output.out(
          renderDetails(session.output, [
            ['id', emulator.id],
            ['name', emulator.name],
            ['workstation', emulator.workstationName ?? emulator.workstationId],
            ['index', emulator.index],
            ['state', `${emulator.state}${emulator.state === 'running' ? (emulator.booted ? ' (booted)' : ' (booting)') : ''}`],
            ['adb serial', emulator.adbSerial],
            ['cpu', s.cpu],
            ['memory', s.memoryMb ? `${s.memoryMb} MB` : null],
            ['resolution', resolutionText(s.resolution)],
            ['device', [s.manufacturer, s.model].filter(Boolean).join(' ')],
            ['imei', s.imei],
            ['android id', s.androidId],
            ['root', s.root],
            ['problem', (emulator as { problem?: unknown }).problem],
            ['observed', emulator.observedAt],
          ]),
        );
      }),
    );

  addWaitOptions(
    addSettingsOptions(
      emulators
        .command('create <name>')
        .description('create emulators (with --count, a batch named name-1, name-2, …)')
        .option('--count <n>', 'how many')
        .option('--workstation <w>', 'on this workstation (default: the one with most room)'),
    ),
  ).action(
    withSession(async (session, name: string, flags: SettingsFlags & WaitFlags & { count?: string; workstation?: string }) => {
      const settings = settingsOf(flags);
      const workstationId = flags.workstation ? (await resolveWorkstation(session.client, flags.workstation)).id : undefined;
      const accepted = await session.client.createEmulators({
        name,
        ...(flags.count !== undefined ? { count: positiveInt(flags.count, '--count') } : {}),
        ...(settings ? { settings } : {}),
        ...(workstationId ? { workstationId } : {}),
      });
      return finishAction(session, flags, accepted, name);
    }),
  );

  addWaitOptions(
    emulators
      .command('clone <source> <name>')
      .description('copy an emulator (id or workstation/name) on its workstation')
      .option('--count <n>', 'how many copies'),
  ).action(
    withSession(async (session, sourceRef: string, name: string, flags: WaitFlags & { count?: string }) => {
      const source = await resolveEmulator(session.client, sourceRef);
      const accepted = await session.client.createEmulators({
        name,
        cloneFrom: source.id,
        ...(flags.count !== undefined ? { count: positiveInt(flags.count, '--count') } : {}),
      });
      return finishAction(session, flags, accepted, name);
    }),
  );

  addWaitOptions(emulators.command('rename <emulator> <name>').description('rename one emulator')).action(
    withSession(async (session, ref: string, name: string, flags: WaitFlags) => {
      const emulator = await resolveEmulator(session.client, ref);
      return finishAction(session, flags, await session.client.updateEmulator(emulator.id, { name }), emulatorLabel(emulator));
    }),
  );

  addTargetOptions(
    addSettingsOptions(
      emulators
        .command('modify [emulators...]')
        .description('change settings (a running emulator needs --restart)')
        .option('--restart', 'stop, modify and start again when running'),
    ),
  ).action(
    withSession(async (session, refs: string[], flags: SettingsFlags & TargetFlags & { restart?: boolean }) => {
      const settings = settingsOf(flags);
      if (!settings) throw usageError('nothing to change: give a setting such as --cpu, --memory or --resolution');
      const restart = flags.restart === true ? { restart: true } : {};
      return runOnTargets(session, refs, flags, (e) => session.client.updateEmulator(e.id, { settings, ...restart }), {
        action: 'modify',
        params: { settings, ...restart },
      });
    }),
  );

  const lifecycle = [
    ['start', 'start', 'boot emulators'],
    ['stop', 'stop', 'shut emulators down'],
    ['restart', 'restart', 'reboot emulators'],
    ['remove', 'delete', 'delete emulators (running ones are stopped first)'],
  ] as const;
  for (const [name, action, description] of lifecycle) {
    const command = addTargetOptions(emulators.command(`${name} [emulators...]`).description(description));
    if (name === 'remove') command.alias('rm');
    command.action(
      withSession(async (session, refs: string[], flags: TargetFlags) =>
        runOnTargets(
          session,
          refs,
          flags,
          (e) => (action === 'delete' ? session.client.deleteEmulator(e.id) : session.client.emulatorAction(e.id, action)),
          { action },
        ),
      ),
    );
  }

  emulators
    .command('screenshot <emulator>')
    .description('save a PNG of the screen now')
    .requiredOption('-o, --output <file>', 'where to write the PNG')
    .action(
      withSession(async (session, ref: string, flags: { output: string }) => {
        const emulator = await resolveEmulator(session.client, ref);
        const png = await session.client.screenshot(emulator.id);
        writeFileSync(flags.output, png);
        if (session.output.json) session.output.printJson({ emulator: emulator.id, file: flags.output, bytes: png.length });
        else session.output.out(`screenshot of ${emulatorLabel(emulator)} saved to ${flags.output} (${png.length} bytes)`);
        return ExitCode.ok;
      }),
    );

  addTargetOptions(
    emulators
      .command('shell [args...]')
      .description('run an adb shell command: ldfleet emulators shell EMULATOR… -- COMMAND (or --where … -- COMMAND)')
      .usage('[options] [emulators...] -- <command...>'),
  ).action(
    withSession(async (session, args: string[], flags: TargetFlags) => {
      const { refs, commandText } = splitShellArgs(args);
      return runOnTargets(session, refs, flags, (e) => session.client.shell(e.id, commandText), { action: 'shell', params: { command: commandText } });
    }),
  );
}

/** Targets before `--`, the command after it (or, without `--`, the last word is the command). */
function splitShellArgs(args: readonly string[]): { refs: string[]; commandText: string } {
  const dash = process.argv.indexOf('--');
  const afterDash = dash >= 0 ? process.argv.slice(dash + 1) : undefined;
  if (afterDash && afterDash.length > 0) {
    const refs = args.slice(0, args.length - afterDash.length);
    return { refs, commandText: afterDash.join(' ') };
  }
  if (args.length === 0) throw usageError('give a command: ldfleet emulators shell EMULATOR -- COMMAND');
  return { refs: args.slice(0, -1), commandText: args[args.length - 1]! };
}
