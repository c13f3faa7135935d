/** `ldfleet agent`: the workstation agent, until SIGINT or SIGTERM. */
import type { Command } from 'commander';
import { TrustError, addTrustOptions, loadTrust, type Trust } from '../trust/index.js';
import { ServerListError, serverUrlsOf } from '../servers/index.js';

interface AgentFlags {
  server: string;
  token?: string;
  ldconsole?: string;
  ldplayerDir?: string;
  codepage?: string;
  logLevel: string;
  ca?: string;
  fingerprint?: string;
}

export function addAgentCommand(program: Command): void {
  const command = program.command('agent');
  addTrustOptions(command);
  command
    .description('run the workstation agent: connect to the server and drive this PC\'s LDPlayer')
    .requiredOption('--server <url>', 'the control server, e.g. http://fleet.example:8080, or its replicas comma-separated (URL1,URL2,…): the agent fails over to the next')
    .option('--token <token>', 'this workstation\'s enrollment token (or LDFLEET_AGENT_TOKEN, which keeps it out of process lists)')
    .option('--ldconsole <path>', 'ldconsole.exe or the simulator bin; found from the registry and usual folders on Windows when absent')
    .option('--ldplayer-dir <dir>', 'the LDPlayer install dir holding vms/config (default: the folder of --ldconsole; LDFLEET_SIM_HOME for the simulator)')
    .option('--codepage <cp>', 'code page of ldconsole output when it is not UTF-8 (default cp936)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (flags: AgentFlags) => {
      // Loaded only when the agent runs, so the operator commands start fast.
      const [{ pino }, { DiscoveryError, runAgent }, { isSupportedCodepage }] = await Promise.all([
        import('pino'),
        import('../agent/index.js'),
        import('../ldconsole/index.js'),
      ]);
      try {
        serverUrlsOf(flags.server, ['http:', 'https:', 'ws:', 'wss:']);
      } catch (error) {
        if (error instanceof ServerListError) fail(`--server: ${error.message}`);
        throw error;
      }
      const token = flags.token ?? process.env.LDFLEET_AGENT_TOKEN;
      if (!token) fail('give --token or set LDFLEET_AGENT_TOKEN');
      if (flags.codepage !== undefined && !isSupportedCodepage(flags.codepage)) fail(`unknown code page ${flags.codepage}`);
      let trust: Trust;
      try {
        trust = loadTrust({ ca: flags.ca, fingerprint: flags.fingerprint });
      } catch (error) {
        if (error instanceof TrustError) fail(error.message);
        throw error;
      }
      const logger = pino({ name: 'ldfleet-agent', level: flags.logLevel });
      try {
        await runAgent({
          server: flags.server,
          token,
          logger,
          trust,
          ...(flags.ldconsole !== undefined ? { ldconsole: flags.ldconsole } : {}),
          ...(flags.ldplayerDir !== undefined ? { ldplayerDir: flags.ldplayerDir } : {}),
          ...(flags.codepage !== undefined ? { codepage: flags.codepage } : {}),
        });
        // Stopped: every ldconsole call was ended; anything still holding the loop (a grandchild's
        // pipe) must not keep a stopped agent alive.
        setTimeout(() => process.exit(0), 2_000).unref();
      } catch (error) {
        if (error instanceof DiscoveryError) fail(error.message);
        throw error;
      }
    });
}

function fail(message: string): never {
  process.stderr.write(`ldfleet agent: ${message}\n`);
  process.exit(2);
}
