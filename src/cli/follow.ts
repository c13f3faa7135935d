/**
 * After an action is accepted: `--no-wait` prints its id; `--wait` (the default on a terminal)
 * follows it over the event stream to its end (a spinner for one operation, a progress bar for a
 * batch), printing failures as they come. Ctrl-C stops waiting and leaves the work running,
 * unless `--cancel-on-interrupt`.
 */
import yoctoSpinner from 'yocto-spinner';
import { subscribeEvents, waitForBatch, waitForOperation, isFinalOperation } from '../sdk/index.js';
import type { Batch, BatchCounts, Emulator, Operation } from '../sdk/index.js';
import { ExitCode } from './exit-codes.js';
import type { ExitCodeValue } from './exit-codes.js';
import { createProgress } from './progress.js';
import type { ProgressView } from './progress.js';
import type { Session } from './session.js';
import { emulatorLabel } from './targets.js';

export interface WaitFlags {
  wait?: boolean;
  cancelOnInterrupt?: boolean;
}

export function shouldWait(session: Session, flags: WaitFlags): boolean {
  return flags.wait ?? session.output.tty;
}

const isBatch = (value: Operation | Batch): value is Batch => 'counts' in value;

/** Prints or follows what an action returned; the exit code says how it ended. */
export async function finishAction(session: Session, flags: WaitFlags, accepted: Operation | Batch, label?: string): Promise<ExitCodeValue> {
  if (!shouldWait(session, flags)) {
    if (session.output.json) session.output.printJson(accepted);
    else if (isBatch(accepted)) session.output.out(`batch ${accepted.id} queued: ${accepted.total} ${accepted.action} operations`);
    else session.output.out(`operation ${accepted.id} queued: ${accepted.action}${label ? ` ${label}` : ''}`);
    return ExitCode.ok;
  }
  return isBatch(accepted) ? followBatch(session, flags, accepted) : followOperation(session, flags, accepted, label);
}

/** Ctrl-C aborts the wait instead of killing the process, so it can say what goes on. */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onSignal) };
}

async function onInterrupt(session: Session, flags: WaitFlags, kind: 'batch' | 'operation', ids: readonly string[]): Promise<ExitCodeValue> {
  const { client, output } = session;
  if (flags.cancelOnInterrupt) {
    for (const id of ids) {
      if (kind === 'batch') await client.cancelBatch(id);
      else await client.cancelOperation(id).catch(() => undefined); // already final
    }
    output.err(`stopped waiting and cancelled ${kind} ${ids.join(', ')}`);
  } else {
    const show = kind === 'batch' ? `ldfleet batches show ${ids[0]}` : `ldfleet operations show ${ids[0]}`;
    output.err(`stopped waiting; ${kind} ${ids.join(', ')} goes on (${show}; cancel with ldfleet ${kind === 'batch' ? 'batches' : 'operations'} cancel …)`);
  }
  return ExitCode.interrupted;
}

const wasInterrupted = (signal: AbortSignal) => signal.aborted;

/** One failure line: where, the category and code, and the message. */
export function failureLine(session: Session, operation: Operation, label: string): string {
  const c = session.output.colors;
  const error = operation.error;
  const reason = error ? `${error.category}/${error.code}: ${error.message}` : operation.status;
  return `${c.red('✗')} ${label} ${operation.action} ${operation.status}: ${reason}`;
}

/** `workstation/name` of an operation's emulator, looked up once per emulator. */
function labeller(session: Session): (operation: Operation) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (operation) => {
    const id = operation.emulatorId;
    if (id === undefined) return Promise.resolve(operation.id);
    let label = cache.get(id);
    if (!label) {
      label = session.client.getEmulator(id).then(
        (emulator: Emulator) => emulatorLabel(emulator),
        () => id,
      );
      cache.set(id, label);
    }
    return label;
  };
}

async function followOperation(session: Session, flags: WaitFlags, accepted: Operation, label?: string): Promise<ExitCodeValue> {
  const { client, output } = session;
  const c = output.colors;
  const what = `${accepted.action}${label ? ` ${label}` : ''}`;
  const spinner = output.fancy
    ? yoctoSpinner({ text: `${what}: ${accepted.status}`, stream: process.stdout, handleSignals: false }).start()
    : undefined;
  if (!spinner && !output.json) output.out(`operation ${accepted.id}: waiting for ${what} (Ctrl-C stops waiting)`);
  const { signal, dispose } = interruptible();
  let final: Operation;
  try {
    final = await waitForOperation(client, accepted.id, {
      WebSocket: await session.webSocket(),
      signal,
      onUpdate: (operation) => {
        if (spinner) spinner.text = `${what}: ${describeState(operation)}`;
      },
    });
  } catch (error) {
    spinner?.stop();
    if (wasInterrupted(signal)) return onInterrupt(session, flags, 'operation', [accepted.id]);
    throw error;
  } finally {
    dispose();
  }
  spinner?.stop();
  if (output.json) output.printJson(final);
  else if (final.status === 'succeeded') {
    output.out(`${c.green('✓')} ${what} succeeded${elapsed(final)}`);
    printResult(session, final);
  } else output.out(failureLine(session, final, label ?? final.emulatorId ?? final.id));
  return operationExit(final);
}

function describeState(operation: Operation): string {
  const waiting = (operation as { waiting?: { message?: string } | null }).waiting;
  if (operation.status === 'queued' && waiting?.message) return `queued (${waiting.message})`;
  return operation.progress ? `${operation.status} (${operation.progress})` : operation.status;
}

function elapsed(operation: Operation): string {
  if (!operation.startedAt || !operation.finishedAt) return '';
  return ` in ${((Date.parse(operation.finishedAt) - Date.parse(operation.startedAt)) / 1000).toFixed(1)} s`;
}

/** A shell operation's output, as it came (its exit code, where adb gives one, decides ours). */
function printResult(session: Session, operation: Operation): void {
  if (operation.action !== 'shell') return;
  const output = shellOutput(operation);
  if (output.length > 0) process.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
}

/** A shell command's output; '' when the result carries none. */
function shellOutput(operation: Operation): string {
  const output = (operation.result as { output?: unknown } | undefined)?.output;
  return typeof output === 'string' ? output : '';
}

/** A shell command's own exit code, when the server reports one. */
function shellExitCode(operation: Operation): number | null {
  const code = (operation.result as { exitCode?: unknown } | undefined)?.exitCode;
  return typeof code === 'number' ? code : null;
}

function operationExit(operation: Operation): ExitCodeValue {
  if (operation.status !== 'succeeded') return ExitCode.failed;
  const code = shellExitCode(operation);
  return code !== null && code !== 0 ? ExitCode.failed : ExitCode.ok;
}

async function followBatch(session: Session, flags: WaitFlags, accepted: Batch): Promise<ExitCodeValue> {
  const { client, output } = session;
  const progress = createProgress(output, `${accepted.action} batch`, accepted.total);
  if (!output.fancy && !output.json) output.out(`batch ${accepted.id}: waiting for ${accepted.total} ${accepted.action} operations (Ctrl-C stops waiting)`);
  progress.counts(accepted.counts, accepted.total);
  const reporter = failureReporter(session, progress);
  const perWorkstation = output.verbose && output.fancy ? await workstationTracker(session, accepted.id, progress) : undefined;
  const { signal, dispose } = interruptible();
  let final: Batch;
  try {
    final = await waitForBatch(client, accepted.id, {
      WebSocket: await session.webSocket(),
      signal,
      onUpdate: (batch) => progress.counts(batch.counts, batch.total),
      onOperation: (operation) => {
        perWorkstation?.(operation);
        reporter.see(operation);
      },
    });
  } catch (error) {
    progress.stop();
    if (wasInterrupted(signal)) return onInterrupt(session, flags, 'batch', [accepted.id]);
    throw error;
  } finally {
    dispose();
  }
  // Events can be missed over a reconnect: the failed children are read back once at the end.
  const failed = await client.all((page) => client.listOperations({ ...page, batch: accepted.id, status: 'failed' }));
  for (const operation of failed) reporter.see(operation);
  await reporter.flush();
  progress.counts(final.counts, final.total);
  progress.stop();
  const outputs = accepted.action === 'shell' ? await client.all((page) => client.listOperations({ ...page, batch: accepted.id })) : [];
  if (output.json) {
    const { operations: _page, nextCursor: _cursor, ...batch } = final;
    output.printJson({ ...batch, failures: failed, ...(accepted.action === 'shell' ? { operations: outputs } : {}) });
  } else {
    await printShellOutputs(session, outputs);
    output.out(batchSummary(session, final));
  }
  const exitCodes = outputs.map(shellExitCode).filter((code) => code !== null && code !== 0);
  return final.counts.failed + final.counts.cancelled > 0 || exitCodes.length > 0 ? ExitCode.failed : ExitCode.ok;
}

async function printShellOutputs(session: Session, operations: readonly Operation[]): Promise<void> {
  const label = labeller(session);
  for (const operation of operations) {
    if (operation.status !== 'succeeded') continue;
    const text = shellOutput(operation).trimEnd();
    session.output.out(`${session.output.colors.bold(`== ${await label(operation)}`)}\n${text}`);
  }
}

export function batchSummary(session: Session, batch: Batch): string {
  const c = session.output.colors;
  const { succeeded, failed, cancelled } = batch.counts;
  const mark = failed + cancelled > 0 ? c.red('✗') : c.green('✓');
  const parts = [`${succeeded} succeeded`, `${failed} failed`, ...(cancelled > 0 ? [`${cancelled} cancelled`] : [])];
  return `${mark} batch ${batch.id} ${batch.action}: ${parts.join(', ')} of ${batch.total}`;
}

/** Prints each failed operation once, in the order they fail, with its emulator's name. */
function failureReporter(session: Session, progress: ProgressView): { see: (operation: Operation) => void; flush: () => Promise<void> } {
  const label = labeller(session);
  const printed = new Set<string>();
  let chain = Promise.resolve();
  return {
    see(operation) {
      if (operation.status !== 'failed' || printed.has(operation.id)) return;
      printed.add(operation.id);
      chain = chain.then(async () => progress.log(failureLine(session, operation, await label(operation))));
    },
    flush: () => chain,
  };
}

/** Per-workstation bars (`--verbose`): the batch's children by workstation, updated from events. */
async function workstationTracker(session: Session, batchId: string, progress: ProgressView): Promise<(operation: Operation) => void> {
  const { client } = session;
  const [children, workstations] = await Promise.all([
    client.all((page) => client.listOperations({ ...page, batch: batchId })),
    client.all((page) => client.listWorkstations(page)),
  ]);
  const names = new Map(workstations.map((workstation) => [workstation.id, workstation.name]));
  const status = new Map(children.map((operation) => [operation.id, operation]));
  const draw = (workstationId: string) => {
    const mine = [...status.values()].filter((operation) => operation.workstationId === workstationId);
    const finished = mine.filter(isFinalOperation);
    progress.workstation(names.get(workstationId) ?? workstationId, finished.length, mine.length, mine.filter((o) => o.status === 'failed').length);
  };
  for (const workstationId of new Set(children.map((operation) => operation.workstationId))) draw(workstationId);
  return (operation) => {
    status.set(operation.id, operation);
    draw(operation.workstationId);
  };
}

/**
 * Several single operations followed as one (an APK uploaded to each target): one stream for
 * all of them, each fetched again whenever the stream (re)opens so no final state is missed.
 */
export async function followOperations(session: Session, flags: WaitFlags, operations: readonly Operation[], labels: readonly string[]): Promise<ExitCodeValue> {
  const { client, output } = session;
  if (!shouldWait(session, flags)) {
    if (output.json) output.printJson({ items: operations });
    else for (const operation of operations) output.out(`operation ${operation.id} queued: ${operation.action}`);
    return ExitCode.ok;
  }
  const labelOf = new Map(operations.map((operation, i) => [operation.id, labels[i] ?? operation.id]));
  const current = new Map(operations.map((operation) => [operation.id, operation]));
  const progress = createProgress(output, `${operations[0]?.action ?? 'operations'}`, operations.length);
  const printed = new Set<string>();
  const countsOf = (): BatchCounts => {
    const counts: BatchCounts = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const operation of current.values()) counts[operation.status] += 1;
    return counts;
  };
  const Socket = await session.webSocket();
  const { signal, dispose } = interruptible();
  try {
    await new Promise<void>((resolve, reject) => {
      const see = (operation: Operation) => {
        if (!current.has(operation.id)) return;
        current.set(operation.id, operation);
        if (operation.status === 'failed' && !printed.has(operation.id)) {
          printed.add(operation.id);
          progress.log(failureLine(session, operation, labelOf.get(operation.id)!));
        }
        progress.counts(countsOf(), current.size);
        if ([...current.values()].every(isFinalOperation)) finish();
      };
      const refetch = () => {
        for (const operation of current.values()) {
          if (!isFinalOperation(operation)) client.getOperation(operation.id).then(see, () => undefined);
        }
      };
      const poll = setInterval(refetch, 10_000);
      const subscription = subscribeEvents(client, {
        topics: ['operation.*'],
        WebSocket: Socket,
        signal,
        onEvent: (event) => {
          if (event.type.startsWith('operation.')) see(event.data as Operation);
        },
        onResync: refetch,
        onStatus: (status, detail) => {
          if (status === 'closed' && !signal.aborted) finish({ error: detail?.error ?? new Error('event stream closed') });
        },
      });
      subscription.opened.then(refetch, () => undefined);
      signal.addEventListener('abort', () => finish({ error: signal.reason }), { once: true });
      let done = false;
      /** Succeeds without a failure, else rejects with its error (whatever it is, even undefined). */
      function finish(failure?: { error: unknown }) {
        // Closing the subscription reports `closed`, which calls back here: settle once, first.
        if (done) return;
        done = true;
        if (failure === undefined) resolve();
        else reject(failure.error);
        clearInterval(poll);
        subscription.close();
      }
    });
  } catch (error) {
    progress.stop();
    if (wasInterrupted(signal)) return onInterrupt(session, flags, 'operation', operations.map((operation) => operation.id));
    throw error;
  } finally {
    dispose();
  }
  progress.stop();
  const counts = countsOf();
  if (output.json) output.printJson({ items: [...current.values()] });
  else output.out(`${counts.failed + counts.cancelled > 0 ? output.colors.red('✗') : output.colors.green('✓')} ${counts.succeeded} succeeded, ${counts.failed} failed of ${current.size}`);
  return counts.failed + counts.cancelled > 0 ? ExitCode.failed : ExitCode.ok;
}
