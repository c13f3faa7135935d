import { parseOptions } from './args.js';
import { apkCommand } from './apk-command.js';
import { appendCall } from './calllog.js';
import { runCommand, targetIndex } from './commands.js';
import type { CommandContext } from './context.js';
import { planFaults, type FaultPlan } from './faults.js';
import { SimPaths, resolveHome } from './home.js';
import { renderResult, type CommandResult } from './output.js';
import { settingsFromEnv, withHomeModes } from './settings.js';
import { SimStore } from './store.js';

/** Sleeps on a timer so the process stays killable; Infinity means until killed. */
function sleep(ms: number): Promise<void> {
  if (ms === Number.POSITIVE_INFINITY) return new Promise<void>(() => setInterval(() => undefined, 1 << 30));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The VM dies under a running instance: it drops to stopped. */
function crash(store: SimStore, index: number): void {
  store.mutate(() => {
    const instance = store.get(index);
    if (instance) store.quit(instance);
  });
}

function replacementResult(plan: FaultPlan): CommandResult | undefined {
  if (!plan.replacement) return undefined;
  const lines = plan.replacement.output.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return { exitCode: plan.replacement.exitCode, lines };
}

async function main(): Promise<void> {
  // A tool for users, not an ldconsole command: it touches no simulator home.
  if (process.argv[2] === 'apk') {
    process.exitCode = apkCommand(process.argv.slice(3));
    return;
  }
  const start = Date.now();
  const paths = new SimPaths(resolveHome());
  const store = new SimStore(paths, withHomeModes(paths, settingsFromEnv()));
  const simStart = store.now();
  const [command, ...args] = process.argv.slice(2);
  const ctx: CommandContext = { store, options: parseOptions(args) };
  const index = targetIndex(command, ctx);

  const plan = planFaults(paths, command ?? '', index);
  if (plan.delayMs > 0) await sleep(plan.delayMs);
  for (const crashIndex of plan.crashIndexes) crash(store, crashIndex);
  if (plan.hangMs !== undefined) await sleep(plan.hangMs);

  const result = replacementResult(plan) ?? runCommand(command, ctx);
  process.stdout.write(renderResult(result, store.settings.encoding));
  appendCall(paths, {
    pid: process.pid,
    command: command ?? '',
    args,
    // add's exit code is the new index
    index: index ?? (command?.toLowerCase() === 'add' ? result.exitCode : undefined),
    start,
    end: Date.now(),
    simStart,
    simEnd: store.now(),
    exitCode: result.exitCode,
  });
  // A Windows exit code is a signed 32-bit value; a POSIX one is its low byte.
  process.exitCode = result.exitCode & 0xff;
}

main().catch((error: unknown) => {
  process.stderr.write(`ldconsole-sim: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
