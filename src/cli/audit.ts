/** `ldfleet audit`: the audit log (admin), newest entries as the server orders them. */
import type { Command } from 'commander';
import type { AuditEntry, AuditQuery } from '../sdk/index.js';
import { addPageOptions, listPage, withSession } from './command.js';
import type { PageFlags } from './command.js';
import { usageError } from './exit-codes.js';
import { printList } from './output.js';
import type { Column } from './output.js';

const COLUMNS: Column<AuditEntry>[] = [
  { header: 'AT', value: (e) => e.at },
  { header: 'ACTOR', value: (e) => e.actorName ?? e.actorId, shrink: true },
  { header: 'ACTION', value: (e) => e.action },
  { header: 'TARGET', value: (e) => (e.target ? `${e.target.type} ${e.target.name ?? e.target.id ?? ''}`.trim() : null), shrink: true },
  { header: 'OUTCOME', value: (e) => e.outcome },
  { header: 'STATUS', value: (e) => e.statusCode },
  { header: 'IP', value: (e) => e.ip },
];

const OUTCOMES = ['success', 'failure', 'denied'];

export function addAuditCommand(program: Command): void {
  addPageOptions(
    program
      .command('audit')
      .description('the audit log of logins and changes (admin)')
      .option('--actor <id>', 'by this user id')
      .option('--action <action>', 'e.g. auth.login, workstations.create')
      .option('--target <target>', 'on this target (an id or a name)')
      .option('--target-type <type>', 'user, api_token, workstation, emulator, batch…')
      .option('--outcome <outcome>', OUTCOMES.join(', '))
      .option('--since <time>', 'ISO time')
      .option('--until <time>', 'ISO time'),
  ).action(
    withSession(async (session, flags: PageFlags & Omit<AuditQuery, 'limit' | 'cursor'>) => {
      if (flags.outcome !== undefined && !OUTCOMES.includes(flags.outcome)) throw usageError(`--outcome must be one of ${OUTCOMES.join(', ')}`);
      const query: AuditQuery = {};
      for (const key of ['actor', 'action', 'target', 'targetType', 'outcome', 'since', 'until'] as const) {
        if (flags[key] !== undefined) Object.assign(query, { [key]: flags[key] });
      }
      printList(session.output, await listPage(session, flags, (p) => session.client.listAudit({ ...p, ...query })), COLUMNS, 'audit entries');
    }),
  );
}
