/** Running the agent as a process: find LDPlayer, start, and stop cleanly on SIGINT/SIGTERM. */
import { LocalExecutor } from '../exec/index.js';
import type { Codepage } from '../ldconsole/index.js';
import { Agent } from './agent.js';
import { locateLdPlayer } from './discovery.js';
import type { AgentLogger } from './log.js';
import type { Trust } from '../trust/index.js';

export interface RunAgentOptions {
  readonly server: string;
  readonly token: string;
  readonly ldconsole?: string;
  readonly ldplayerDir?: string;
  readonly codepage?: Codepage;
  readonly logger: AgentLogger;
  readonly trust?: Trust;
}

/** Resolves once the agent has stopped after a signal; rejects when LDPlayer cannot be found. */
export async function runAgent(options: RunAgentOptions): Promise<void> {
  const executor = new LocalExecutor();
  const location = await locateLdPlayer({
    executor,
    ...(options.ldconsole !== undefined ? { ldconsole: options.ldconsole } : {}),
    ...(options.ldplayerDir !== undefined ? { ldplayerDir: options.ldplayerDir } : {}),
    ...(options.codepage !== undefined ? { codepage: options.codepage } : {}),
  });
  const agent = new Agent({
    serverUrl: options.server,
    token: options.token,
    ldconsolePath: location.ldconsolePath,
    installDir: location.installDir,
    ...(location.adbPath !== undefined ? { adbPath: location.adbPath } : {}),
    executor,
    logger: options.logger,
    // The simulator finds its install through this variable; the real ldconsole ignores it.
    ldconsoleEnv: { ...process.env, LDFLEET_SIM_HOME: process.env.LDFLEET_SIM_HOME ?? location.installDir },
    ...(options.codepage !== undefined ? { codepage: options.codepage } : {}),
    ...(options.trust ? { trust: options.trust } : {}),
  });
  agent.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      options.logger.info({ signal }, 'stopping');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void agent.stop().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
