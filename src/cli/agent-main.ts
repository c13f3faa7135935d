/**
 * The entry of the self-contained agent bundle (`dist/agent/ldfleet-agent.mjs`): the `agent`
 * command alone, so a farm PC runs `node ldfleet-agent.mjs agent --server URL` with Node.js and
 * nothing else. It must not import the server: that would pull in the native SQLite module.
 */
import { Command } from 'commander';
import { addAgentCommand } from './agent.js';
import { VERSION } from '../package/index.js';

const program = new Command()
  .name('ldfleet-agent')
  .description('The ldfleet workstation agent')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError();

addAgentCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`ldfleet-agent: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
