/** `ldfleet login`, `logout`, `whoami`: the stored session of a profile. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { LdfleetClient } from '../sdk/index.js';
import { withSession, readStdin } from './command.js';
import { credentialsPath, readProfile, removeProfile, saveProfile } from './credentials.js';
import { ExitCode, usageError } from './exit-codes.js';
import { createOutput } from './output.js';
import { caOf, connectionTo, globalFlags, profileNameOf, serversOf } from './session.js';

interface LoginFlags {
  server?: string;
  username?: string;
  passwordStdin?: boolean;
}

export function addAuthCommands(program: Command): void {
  program
    .command('login')
    .description('log in to a server and keep the session (refresh token, never the password) in the credentials file')
    .option('--server <url>', 'the server, e.g. http://fleet.example:8080, or its replicas comma-separated, tried in turn when one is unreachable (default: the profile\'s, LDFLEET_SERVER)')
    .option('--username <name>', 'user name (asked for on a terminal when absent)')
    .option('--password-stdin', 'read the password from stdin (else it is asked for without echo)')
    .action(async (flags: LoginFlags, command: Command) => {
      const global = globalFlags(command);
      const output = createOutput(global);
      const profileName = profileNameOf(global);
      const stored = readProfile(profileName);
      const server = normaliseServer(flags.server ?? process.env.LDFLEET_SERVER ?? stored?.server);
      const username = flags.username ?? stored?.username ?? (await ask('user name: '));
      if (!username) throw usageError('give --username');
      const secret = await readPassword(flags.passwordStdin === true);
      const ca = caOf(global, stored);
      const client = new LdfleetClient((await connectionTo(server, ca)).base);
      const pair = await client.login(username, secret);
      saveProfile(profileName, { server, username, refreshToken: pair.refreshToken, ...(ca !== undefined ? { ca } : {}) });
      if (output.json) output.printJson({ server, profile: profileName, user: pair.user });
      else output.out(`logged in to ${server} as ${pair.user.username} (${pair.user.role}); session kept in ${credentialsPath()}${profileName === 'default' ? '' : ` [${profileName}]`}`);
    });

  program
    .command('logout')
    .description('end the stored session on the server and forget it')
    .action(async (_flags: unknown, command: Command) => {
      const global = globalFlags(command);
      const output = createOutput(global);
      const profileName = profileNameOf(global);
      const profile = readProfile(profileName);
      if (profile?.refreshToken === undefined) {
        output.out('not logged in');
        return;
      }
      const client = new LdfleetClient((await connectionTo(profile.server, caOf(global, profile))).base);
      let revoked = true;
      try {
        // Logging out needs a valid access token; the refresh gives one and the logout revokes that session.
        await client.refresh(profile.refreshToken);
        await client.logout();
      } catch (error) {
        revoked = false;
        output.err(`ldfleet: the server did not end the session (${error instanceof Error ? error.message : String(error)}); forgetting it here anyway`);
      }
      removeProfile(profileName);
      if (output.json) output.printJson({ server: profile.server, profile: profileName, revoked });
      else output.out(`logged out of ${profile.server}`);
    });

  program
    .command('whoami')
    .description('the user and role of the current credential')
    .action(
      withSession(async (session) => {
        const me = await session.client.me();
        if (session.output.json) session.output.printJson({ server: session.server, ...me });
        else session.output.out(`${me.user.username} (${me.role}) on ${session.server}${me.via === 'api-token' ? ' via an API token' : ''}`);
        return ExitCode.ok;
      }),
    );
}

/** The server, or its replicas comma-separated, as the profile keeps them. */
function normaliseServer(server: string | undefined): string {
  if (server === undefined) throw usageError('give --server URL (or set LDFLEET_SERVER)');
  return serversOf(server).join(',');
}

/** A question on the terminal, or undefined when stdin is not one. */
async function ask(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(question)).trim();
    return answer === '' ? undefined : answer;
  } finally {
    rl.close();
  }
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const secret = await readStdin();
    if (secret === '') throw usageError('--password-stdin read an empty password');
    return secret;
  }
  if (!process.stdin.isTTY) throw usageError('no terminal to ask for the password: pipe it with --password-stdin');
  const { default: password } = await import('@inquirer/password');
  return password({ message: 'password:', mask: true }, { output: process.stderr });
}
