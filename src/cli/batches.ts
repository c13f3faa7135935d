/** `ldfleet batches list|show|cancel|retry-failed`. */
import type { Command } from 'commander';
import type { Batch, BatchQuery, Operation } from '../sdk/index.js';
import { addPageOptions, addWaitOptions, listPage, withSession } from './command.js';
import type { PageFlags } from './command.js';
import { usageError } from './exit-codes.js';
import { finishAction } from './follow.js';
import type { WaitFlags } from './follow.js';
import { ago, printList, renderDetails, renderTable } from './output.js';
import type { Column } from './output.js';
import { OPERATION_COLUMNS } from './operations.js';

/** The contract's batch status; derived from the counts where the server does not send it yet. */
export function batchStatus(batch: Batch): string {
  const status = (batch as { status?: string }).status;
  if (status) return status;
  const { queued, running, succeeded, failed, cancelled } = batch.counts;
  if (!batch.finishedAt) return queued + running === batch.total ? (running > 0 ? 'running' : 'queued') : 'running';
  if (failed === 0 && cancelled === 0) return 'succeeded';
  if (succeeded === 0) return cancelled > 0 && failed === 0 ? 'cancelled' : 'failed';
  return 'partial';
}

const COLUMNS: Column<Batch>[] = [
  { header: 'ID', value: (b) => b.id, shrink: true },
  { header: 'ACTION', value: (b) => b.action },
  { header: 'STATUS', value: batchStatus },
  { header: 'DONE', value: (b) => `${b.counts.succeeded + b.counts.failed + b.counts.cancelled}/${b.total}` },
  { header: 'FAILED', value: (b) => b.counts.failed },
  { header: 'BY', value: (b) => b.createdBy, shrink: true },
  { header: 'CREATED', value: (b) => ago(b.createdAt) },
];

const STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled'];

export function addBatchCommands(program: Command): void {
  const batches = program.command('batches').description('batches: one action over many emulators');

  addPageOptions(
    batches
      .command('list')
      .description('list batches, newest first')
      .option('--status <status>', STATUSES.join(', '))
      .option('--action <action>', 'e.g. start, stop, installApp')
      .option('--order <order>', 'asc or desc (newest first)'),
  ).action(
    withSession(async (session, flags: PageFlags & { status?: string; action?: string; order?: string }) => {
      if (flags.status !== undefined && !STATUSES.includes(flags.status)) throw usageError(`--status must be one of ${STATUSES.join(', ')}`);
      if (flags.order !== undefined && flags.order !== 'asc' && flags.order !== 'desc') throw usageError('--order must be asc or desc');
      const query: BatchQuery = {
        ...(flags.status ? { status: flags.status as BatchQuery['status'] } : {}),
        ...(flags.action ? { action: flags.action } : {}),
        ...(flags.order ? { order: flags.order } : {}),
      };
      const page = await listPage(session, flags, (p) => session.client.listBatches({ ...p, ...query }));
      printList(session.output, page, COLUMNS, 'batches');
    }),
  );

  addWaitOptions(
    batches
      .command('show <batch>')
      .description('a batch, its counts and its operations (--wait follows it if it is still going)'),
  ).action(
    withSession(async (session, id: string, flags: WaitFlags) => {
      const batch = await session.client.getBatch(id, { limit: 1 });
      if (flags.wait === true && !batch.finishedAt) return finishAction(session, flags, batch);
      const operations = await session.client.all((page) => session.client.listOperations({ ...page, batch: id }));
      if (session.output.json) {
        const { operations: _page, nextCursor: _cursor, ...rest } = batch;
        return void session.output.printJson({ ...rest, status: batchStatus(batch), operations });
      }
      printBatch(session.output, batch, operations);
    }),
  );

  addWaitOptions(batches.command('cancel <batch>').description('cancel queued children and ask running ones to stop')).action(
    withSession(async (session, id: string, flags: WaitFlags) => finishAction(session, flags, await session.client.cancelBatch(id))),
  );

  addWaitOptions(batches.command('retry-failed <batch>').description('queue the failed children again')).action(
    withSession(async (session, id: string, flags: WaitFlags) => finishAction(session, flags, await session.client.retryBatch(id))),
  );
}

function printBatch(output: Parameters<typeof renderDetails>[0], batch: Batch, operations: readonly Operation[]): void {
  output.out(
    renderDetails(output, [
      ['id', batch.id],
      ['action', batch.action],
      ['status', batchStatus(batch)],
      ['params', batch.params],
      ['target', batch.target],
      ['counts', Object.entries(batch.counts).map(([key, value]) => `${value} ${key}`).join(', ')],
      ['created', `${batch.createdAt} by ${batch.createdBy}`],
      ['finished', batch.finishedAt],
    ]),
  );
  if (operations.length > 0) output.out(`\n${renderTable(output, operations, OPERATION_COLUMNS)}`);
}

