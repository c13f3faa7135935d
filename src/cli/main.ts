/** The `ldfleet` command. Each subcommand lives in its own module and adds itself here. */
import { Command, CommanderError } from 'commander';
import { addAgentCommand } from './agent.js';
import { addAppCommands } from './apps.js';
import { addAuditCommand } from './audit.js';
import { addAuthCommands } from './auth.js';
import { addBatchCommands } from './batches.js';
import { addCompletionCommand } from './completion.js';
import { addDemoCommand } from './demo.js';
import { addEmulatorCommands } from './emulators.js';
import { addEventsCommand } from './events.js';
import { ExitCode, exitCodeOf, messageOf } from './exit-codes.js';
import { addOperationCommands } from './operations.js';
import { addServerCommand } from './server-command.js';
import { addTokenCommands } from './tokens.js';
import { addUserCommands } from './users.js';
import { addWorkstationCommands } from './workstations.js';
import { VERSION } from '../package/index.js';

const program = new Command()
  .name('ldfleet')
  .description('Manage fleets of LDPlayer emulators across Windows workstations')
  .option('--profile <name>', 'which stored login to use (default: LDFLEET_PROFILE or "default")')
  .option('--json', 'print one JSON document (for scripts)')
  .option('-v, --verbose', 'more detail (per-workstation progress bars)')
  .option('--ca <file>', 'trust this CA certificate for the server (or LDFLEET_CA)')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  // Usage errors exit 2 (commander's own default is 1, which means "some targets failed" here).
  .exitOverride();

addServerCommand(program);
addAgentCommand(program);
addDemoCommand(program);
addAuthCommands(program);
addWorkstationCommands(program);
addEmulatorCommands(program);
addAppCommands(program);
addBatchCommands(program);
addOperationCommands(program);
addEventsCommand(program);
addUserCommands(program);
addTokenCommands(program);
addAuditCommand(program);
addCompletionCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander has printed the message already; help and --version are not errors.
    process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
  }
  process.stderr.write(`ldfleet: ${messageOf(error, process.env.LDFLEET_SERVER)}\n`);
  process.exit(exitCodeOf(error));
});
