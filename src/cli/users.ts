/** `ldfleet users list|add|edit|remove` (admin). */
import type { Command } from 'commander';
import type { LdfleetClient, Role, User } from '../sdk/index.js';
import { addPageOptions, listPage, readStdin, withSession } from './command.js';
import type { PageFlags } from './command.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';
import { ago, printList } from './output.js';
import type { Column } from './output.js';

const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

const COLUMNS: Column<User>[] = [
  { header: 'ID', value: (u) => u.id, shrink: true },
  { header: 'USERNAME', value: (u) => u.username },
  { header: 'ROLE', value: (u) => u.role },
  { header: 'DISABLED', value: (u) => (u.disabled ? 'yes' : 'no') },
  { header: 'CREATED', value: (u) => ago(u.createdAt) },
];

function role(text: string): Role {
  if (!(ROLES as readonly string[]).includes(text)) throw usageError(`--role must be one of ${ROLES.join(', ')}`);
  return text as Role;
}

async function resolveUser(client: LdfleetClient, ref: string): Promise<User> {
  const users = await client.all((page) => client.listUsers(page));
  const found = users.find((user) => user.id === ref || user.username === ref);
  if (!found) throw new CliError(ExitCode.notFound, `no user with id or name "${ref}"`);
  return found;
}

async function passwordFromStdin(flag: boolean | undefined): Promise<string | undefined> {
  if (!flag) return undefined;
  const secret = await readStdin();
  if (secret === '') throw usageError('--password-stdin read an empty password');
  return secret;
}

export function addUserCommands(program: Command): void {
  const users = program.command('users').description('users and their roles (admin)');

  addPageOptions(users.command('list').description('list users')).action(
    withSession(async (session, flags: PageFlags) => {
      printList(session.output, await listPage(session, flags, (p) => session.client.listUsers(p)), COLUMNS, 'users');
    }),
  );

  users
    .command('add <username>')
    .description('create a user; the password is read from stdin')
    .requiredOption('--role <role>', ROLES.join(', '))
    .option('--password-stdin', 'read the password from stdin (required)')
    .action(
      withSession(async (session, username: string, flags: { role: string; passwordStdin?: boolean }) => {
        const password = await passwordFromStdin(flags.passwordStdin);
        if (password === undefined) throw usageError('give the password on stdin with --password-stdin');
        const user = await session.client.createUser({ username, password, role: role(flags.role) });
        if (session.output.json) session.output.printJson(user);
        else session.output.out(`user ${user.username} (${user.role}) created, id ${user.id}`);
      }),
    );

  users
    .command('edit <user>')
    .description('change a user\'s role, password, or disable them (which ends their sessions)')
    .option('--role <role>', ROLES.join(', '))
    .option('--disable', 'disable (every token of the user stops working)')
    .option('--enable', 'enable again')
    .option('--password-stdin', 'a new password from stdin')
    .action(
      withSession(async (session, ref: string, flags: { role?: string; disable?: boolean; enable?: boolean; passwordStdin?: boolean }) => {
        if (flags.disable && flags.enable) throw usageError('give --disable or --enable, not both');
        const user = await resolveUser(session.client, ref);
        const password = await passwordFromStdin(flags.passwordStdin);
        const changes = {
          ...(flags.role ? { role: role(flags.role) } : {}),
          ...(flags.disable ? { disabled: true } : flags.enable ? { disabled: false } : {}),
          ...(password !== undefined ? { password } : {}),
        };
        if (Object.keys(changes).length === 0) throw usageError('nothing to change: give --role, --disable, --enable or --password-stdin');
        const updated = await session.client.updateUser(user.id, changes);
        if (session.output.json) session.output.printJson(updated);
        else session.output.out(`user ${updated.username} updated: ${updated.role}${updated.disabled ? ', disabled' : ''}`);
      }),
    );

  users
    .command('remove <user>')
    .alias('rm')
    .description('delete a user')
    .action(
      withSession(async (session, ref: string) => {
        const user = await resolveUser(session.client, ref);
        await session.client.deleteUser(user.id);
        if (session.output.json) session.output.printJson({ removed: user.id });
        else session.output.out(`user ${user.username} removed`);
      }),
    );
}
