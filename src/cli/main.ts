/** The `ldfleet` command. Each subcommand lives in its own module and adds itself here. */
import { Command } from 'commander';
import { addAgentCommand } from './agent.js';
import { addDemoCommand } from './demo.js';
import { addServerCommand } from './server-command.js';
import { VERSION } from '../package/index.js';

const program = new Command()
  .name('ldfleet')
  .description('Manage fleets of LDPlayer emulators across Windows workstations')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError();

addServerCommand(program);
addAgentCommand(program);
addDemoCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`ldfleet: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
