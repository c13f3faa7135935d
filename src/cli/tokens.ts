/** `ldfleet tokens list|create|revoke`: your API tokens, for scripts and CI (`LDFLEET_TOKEN`). */
import type { Command } from 'commander';
import type { ApiToken, Role } from '../sdk/index.js';
import { addPageOptions, listPage, positiveInt, withSession } from './command.js';
import type { PageFlags } from './command.js';
import { usageError } from './exit-codes.js';
import { ago, printList } from './output.js';
import type { Column } from './output.js';

const COLUMNS: Column<ApiToken>[] = [
  { header: 'ID', value: (t) => t.id, shrink: true },
  { header: 'NAME', value: (t) => t.name, shrink: true },
  { header: 'ROLE', value: (t) => t.role },
  { header: 'EXPIRES', value: (t) => t.expiresAt ?? 'never' },
  { header: 'LAST USED', value: (t) => (t.lastUsedAt ? `${ago(t.lastUsedAt)} ago` : 'never') },
  { header: 'CREATED', value: (t) => ago(t.createdAt) },
];

/** `30d`, `12h` or an ISO time. */
function expiryOf(text: string): string {
  const relative = /^(\d+)([dh])$/.exec(text);
  if (relative) {
    const hours = positiveInt(relative[1]!, '--expires') * (relative[2] === 'd' ? 24 : 1);
    return new Date(Date.now() + hours * 3_600_000).toISOString();
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw usageError(`--expires "${text}" is not like 30d, 12h or 2027-01-31T00:00:00Z`);
  return new Date(at).toISOString();
}

export function addTokenCommands(program: Command): void {
  const tokens = program.command('tokens').description('your API tokens');

  addPageOptions(tokens.command('list').description('list your API tokens')).action(
    withSession(async (session, flags: PageFlags) => {
      printList(session.output, await listPage(session, flags, (p) => session.client.listTokens(p)), COLUMNS, 'tokens');
    }),
  );

  tokens
    .command('create <name>')
    .description('create a token; it is shown once')
    .option('--role <role>', 'act with a lower role than yours: viewer, operator or admin')
    .option('--expires <when>', 'e.g. 30d, 12h or an ISO time (default: never)')
    .action(
      withSession(async (session, name: string, flags: { role?: string; expires?: string }) => {
        const created = await session.client.createToken({
          name,
          ...(flags.role ? { role: flags.role as Role } : {}),
          ...(flags.expires ? { expiresAt: expiryOf(flags.expires) } : {}),
        });
        if (session.output.json) return void session.output.printJson(created);
        session.output.out(`token ${created.name} (${created.role}) created, id ${created.id}\n${created.token}\n(shown once; use it as LDFLEET_TOKEN)`);
      }),
    );

  tokens
    .command('revoke <id>')
    .description('revoke one of your tokens')
    .action(
      withSession(async (session, id: string) => {
        await session.client.revokeToken(id);
        if (session.output.json) session.output.printJson({ revoked: id });
        else session.output.out(`token ${id} revoked`);
      }),
    );
}
