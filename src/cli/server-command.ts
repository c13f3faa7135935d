import type { Command } from 'commander';
// The server is loaded only when this command runs, so the operator commands start fast.
import type { Config, Server } from '../server/index.js';

interface ServerFlags {
  port?: string;
  host?: string;
  config?: string;
  checkConfig?: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

/** `ldfleet server`: runs the control server until SIGINT or SIGTERM. */
export function addServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the control server (REST API, WebSocket, docs)')
    .option('--port <port>', 'port to listen on (default 8080, LDFLEET_PORT)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1, LDFLEET_HOST)')
    .option('--config <file>', 'JSON file of settings; the environment and flags override it')
    .option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS and WSS (LDFLEET_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (LDFLEET_TLS_KEY)')
    .option('--check-config', 'validate the configuration, print it without secrets and exit')
    .action(async (flags: ServerFlags) => {
      const config = await readConfig(flags);
      if (flags.checkConfig) {
        process.stdout.write(`configuration is valid:\n${JSON.stringify(withoutSecrets(config), null, 2)}\n`);
        return;
      }
      await runServer(config);
    });
}

async function readConfig(flags: ServerFlags): Promise<Config> {
  const { ConfigError, loadConfig } = await import('../server/index.js');
  try {
    return loadConfig({ env: process.env, file: flags.config, overrides: { port: flags.port, host: flags.host, tlsCert: flags.tlsCert, tlsKey: flags.tlsKey } });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`ldfleet server: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

function withoutSecrets(config: Config): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...config };
  for (const key of ['jwtSecret', 'adminPassword', 'metricsToken'] as const) if (shown[key] !== undefined) shown[key] = '(set)';
  if (typeof shown.databaseUrl === 'string') shown.databaseUrl = shown.databaseUrl.replace(/\/\/[^@/]*@/, '//***@');
  return shown;
}

async function runServer(config: Config): Promise<void> {
  const running: { server?: Server; signal?: string } = {};
  const stop = (signal: string) => {
    if (running.signal !== undefined) return;
    running.signal = signal;
    if (running.server) void shutDown(running.server, signal);
  };
  // Installed before start-up so that a signal arriving during it is handled too, not fatal.
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const { createServer } = await import('../server/index.js');
  const server = await createServer(config);
  running.server = server;
  // A signal while the server was being created found nothing to shut down; one from now on
  // shuts it down itself.
  if (running.signal !== undefined) return shutDown(server, `${running.signal} during start-up`);
  const url = await server.listen();
  process.stdout.write(`ldfleet server listening on ${url} (API ${url}/api/v1, docs ${url}/docs)\n`);
}

async function shutDown(server: Server, reason: string): Promise<void> {
  server.app.log.info({ reason }, 'shutting down');
  // A stuck connection must not keep the process alive forever.
  const deadline = setTimeout(() => process.exit(1), 10_000);
  deadline.unref();
  try {
    await server.close();
    process.exit(0);
  } catch (error) {
    server.app.log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
