/** `ldfleet workstations list|show|add|edit|remove|rotate-token`. */
import type { Command } from 'commander';
import { ApiError } from '../sdk/index.js';
import type { LdfleetClient, Workstation, WorkstationLimits } from '../sdk/index.js';
import { addPageOptions, listPage, nonNegativeInt, positiveInt, withSession } from './command.js';
import type { PageFlags } from './command.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';
import { ago, printList, renderDetails } from './output.js';
import type { Column } from './output.js';
import type { Session } from './session.js';
import { InstallScriptError, renderAgentInstallScript } from '../install/index.js';

const COLUMNS: Column<Workstation>[] = [
  { header: 'ID', value: (w) => w.id, shrink: true },
  { header: 'NAME', value: (w) => w.name },
  { header: 'STATUS', value: (w) => w.status },
  { header: 'REASON', value: (w) => w.statusReason ?? '', shrink: true },
  { header: 'EMULATORS', value: (w) => emulatorCounts(w) },
  { header: 'TAGS', value: (w) => w.tags.join(','), shrink: true },
  { header: 'SEEN', value: (w) => ago(w.lastSeenAt) },
];

function emulatorCounts(workstation: Workstation): string {
  const counts = workstation.emulators as { total?: number; running?: number } | undefined;
  return counts?.total === undefined ? '' : `${counts.running ?? 0}/${counts.total} running`;
}

interface LimitFlags {
  tag?: string[];
  maxBoots?: string;
  launchInterval?: string;
  maxInstances?: string;
}

function limitsOf(flags: LimitFlags): WorkstationLimits | undefined {
  const limits: WorkstationLimits = {
    ...(flags.maxBoots !== undefined ? { maxConcurrentBoots: positiveInt(flags.maxBoots, '--max-boots') } : {}),
    ...(flags.launchInterval !== undefined ? { launchIntervalMs: nonNegativeInt(flags.launchInterval, '--launch-interval') } : {}),
    ...(flags.maxInstances !== undefined ? { maxInstances: positiveInt(flags.maxInstances, '--max-instances') } : {}),
  };
  return Object.keys(limits).length > 0 ? limits : undefined;
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter((tag) => tag !== '')];

function addLimitOptions(command: Command): Command {
  return command
    .option('--tag <tag>', 'a tag (repeat or comma-separate)', collect)
    .option('--max-boots <n>', 'emulators booting at once')
    .option('--launch-interval <ms>', 'least time between two launches')
    .option('--max-instances <n>', 'most LDPlayer instances on it');
}

/** A workstation by id or by name. */
export async function resolveWorkstation(client: LdfleetClient, ref: string): Promise<Workstation> {
  try {
    return await client.getWorkstation(ref);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  const all = await client.all((page) => client.listWorkstations(page));
  const found = all.find((workstation) => workstation.name === ref);
  if (!found) throw new CliError(ExitCode.notFound, `no workstation with id or name "${ref}"`);
  return found;
}

/** The agent's command line, with the token in the environment (out of process lists). */
export function agentCommandLine(server: string, token: string): string {
  return `$env:LDFLEET_AGENT_TOKEN = '${token}'; ldfleet agent --server ${server}`;
}

/** The PowerShell block that installs the agent bundle on the PC, or undefined when the URL cannot be carried. */
function installScript(server: string, token: string): string | undefined {
  try {
    return renderAgentInstallScript({ serverUrl: server, token });
  } catch (error) {
    if (error instanceof InstallScriptError) return undefined;
    throw error;
  }
}

function printEnrollment(session: Session, workstation: Workstation, token: string, verb: string): void {
  const { output } = session;
  const script = installScript(session.server, token);
  if (output.json) {
    output.printJson({ workstation, enrollmentToken: token, agentCommand: agentCommandLine(session.server, token), installScript: script ?? null });
    return;
  }
  output.out(
    [
      `workstation ${workstation.name} ${verb} (id ${workstation.id})`,
      `enrollment token (shown once, keep it secret): ${output.colors.bold(token)}`,
      ...(script
        ? ['install and start its agent: run this in a PowerShell of the user who runs LDPlayer on the PC', '', script.trimEnd(), '']
        : []),
      `or, with ldfleet installed on the PC, start the agent by hand (PowerShell):`,
      `  ${agentCommandLine(session.server, token)}`,
    ].join('\n'),
  );
}

export function addWorkstationCommands(program: Command): void {
  const workstations = program.command('workstations').alias('ws').description('the registered Windows PCs');

  addPageOptions(
    workstations
      .command('list')
      .description('list workstations')
      .option('--tag <tag>', 'only those with this tag')
      .option('--status <status>', 'online, offline or degraded'),
  ).action(
    withSession(async (session, flags: PageFlags & { tag?: string; status?: Workstation['status'] }) => {
      const { client } = session;
      const filter = { ...(flags.tag ? { tag: flags.tag } : {}), ...(flags.status ? { status: flags.status } : {}) };
      const page = await listPage(session, flags, (p) => client.listWorkstations({ ...p, ...filter }));
      printList(session.output, page, COLUMNS, 'workstations');
    }),
  );

  workstations
    .command('show <workstation>')
    .description('one workstation (id or name)')
    .action(
      withSession(async (session, ref: string) => {
        const workstation = await resolveWorkstation(session.client, ref);
        if (session.output.json) return void session.output.printJson(workstation);
        session.output.out(
          renderDetails(session.output, [
            ['id', workstation.id],
            ['name', workstation.name],
            ['status', workstation.status],
            ['reason', [workstation.statusReason, workstation.statusMessage].filter(Boolean).join(': ')],
            ['tags', workstation.tags],
            ['limits', workstation.limits],
            ['emulators', emulatorCounts(workstation)],
            ['hostname', workstation.hostname],
            ['os', workstation.os],
            ['agent', workstation.agentVersion],
            ['ldplayer', workstation.ldplayer ? `${workstation.ldplayer.version ?? '?'} at ${workstation.ldplayer.path ?? '?'}` : null],
            ['last seen', workstation.lastSeenAt ? `${workstation.lastSeenAt} (${ago(workstation.lastSeenAt)} ago)` : null],
            ['created', workstation.createdAt],
          ]),
        );
      }),
    );

  addLimitOptions(workstations.command('add <name>').description('register a workstation; prints its enrollment token once')).action(
    withSession(async (session, name: string, flags: LimitFlags) => {
      const limits = limitsOf(flags);
      const created = await session.client.createWorkstation({ name, ...(flags.tag ? { tags: flags.tag } : {}), ...(limits ? { limits } : {}) });
      printEnrollment(session, created.workstation, created.enrollmentToken, 'added');
    }),
  );

  addLimitOptions(
    workstations
      .command('edit <workstation>')
      .description('rename, retag or change the limits of a workstation')
      .option('--name <name>', 'a new name')
      .option('--no-tags', 'remove every tag'),
  ).action(
    withSession(async (session, ref: string, flags: LimitFlags & { name?: string; tags?: boolean }) => {
      const workstation = await resolveWorkstation(session.client, ref);
      const limits = limitsOf(flags);
      const changes = {
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.tag ? { tags: flags.tag } : flags.tags === false ? { tags: [] } : {}),
        ...(limits ? { limits: { ...workstation.limits, ...limits } } : {}),
      };
      if (Object.keys(changes).length === 0) throw usageError('nothing to change: give --name, --tag, --no-tags or a limit');
      const updated = await session.client.updateWorkstation(workstation.id, changes);
      if (session.output.json) session.output.printJson(updated);
      else session.output.out(`workstation ${updated.name} updated`);
    }),
  );

  workstations
    .command('remove <workstation>')
    .alias('rm')
    .description('unregister a workstation (its agent is disconnected; its emulators leave the inventory)')
    .action(
      withSession(async (session, ref: string) => {
        const workstation = await resolveWorkstation(session.client, ref);
        await session.client.deleteWorkstation(workstation.id);
        if (session.output.json) session.output.printJson({ removed: workstation.id });
        else session.output.out(`workstation ${workstation.name} removed`);
      }),
    );

  workstations
    .command('rotate-token <workstation>')
    .description('issue a new enrollment token (the old one stops working; its agent is disconnected)')
    .action(
      withSession(async (session, ref: string) => {
        const workstation = await resolveWorkstation(session.client, ref);
        const { enrollmentToken } = await session.client.rotateEnrollmentToken(workstation.id);
        printEnrollment(session, workstation, enrollmentToken, 'has a new token');
      }),
    );
}
