/** `ldfleet events`: tails the live stream, one JSON line per event, until Ctrl-C (or --count). */
import type { Command } from 'commander';
import { subscribeEvents } from '../sdk/index.js';
import { positiveInt, withSession } from './command.js';
import { ApiError } from '../sdk/index.js';
import { CliError, ExitCode } from './exit-codes.js';

export function addEventsCommand(program: Command): void {
  program
    .command('events')
    .description('tail the live event stream as JSON lines {type, at, data}')
    .option('--topics <topics>', 'event types or families, e.g. emulator.*,batch.*')
    .option('--count <n>', 'stop after this many events')
    .action(
      withSession(async (session, flags: { topics?: string; count?: string }) => {
        const limit = flags.count !== undefined ? positiveInt(flags.count, '--count') : undefined;
        const topics = flags.topics?.split(',').map((topic) => topic.trim()).filter((topic) => topic !== '');
        const controller = new AbortController();
        let seen = 0;
        const Socket = await session.webSocket();
        return new Promise((resolve, reject) => {
          const stop = () => controller.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          const subscription = subscribeEvents(session.client, {
            ...(topics ? { topics } : {}),
            WebSocket: Socket,
            signal: controller.signal,
            onEvent: (event) => {
              if (limit !== undefined && seen >= limit) return;
              seen += 1;
              process.stdout.write(`${JSON.stringify(event)}\n`);
              if (limit !== undefined && seen >= limit) controller.abort();
            },
            onStatus: (status, detail) => {
              // On stderr, so stdout stays pure JSON lines; a script can wait for it before acting.
              if (status === 'open' && session.output.verbose) session.output.err('ldfleet: listening for events');
              if (status === 'reconnecting' && session.output.tty) session.output.err('ldfleet: event stream lost; reconnecting…');
              if (status !== 'closed') return;
              process.removeListener('SIGINT', stop);
              process.removeListener('SIGTERM', stop);
              if (controller.signal.aborted) resolve(ExitCode.ok);
              else if (detail?.error instanceof ApiError) reject(detail.error);
              else reject(new CliError(ExitCode.failed, `event stream closed: ${detail?.reason ?? detail?.code ?? 'unknown'}`));
            },
          });
          // A refused stream (bad topics: 400) only shows as a failed upgrade: say so once.
          subscription.opened.catch(() => undefined);
        });
      }),
    );
}
