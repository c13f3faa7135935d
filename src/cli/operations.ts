/** `ldfleet operations list|show|cancel|retry`. */
import type { Command } from 'commander';
import type { Operation, OperationQuery, OperationStatus } from '../sdk/index.js';
import { addPageOptions, addWaitOptions, listPage, withSession } from './command.js';
import type { PageFlags } from './command.js';
import { usageError } from './exit-codes.js';
import { finishAction } from './follow.js';
import type { WaitFlags } from './follow.js';
import { ago, printList, renderDetails } from './output.js';
import type { Column } from './output.js';

export const OPERATION_COLUMNS: Column<Operation>[] = [
  { header: 'ID', value: (o) => o.id, shrink: true },
  { header: 'ACTION', value: (o) => o.action },
  { header: 'STATUS', value: (o) => o.status },
  { header: 'EMULATOR', value: (o) => o.emulatorId, shrink: true },
  { header: 'ERROR', value: (o) => (o.error ? `${o.error.category}/${o.error.code}: ${o.error.message}` : ''), shrink: true },
  { header: 'TRIES', value: (o) => o.attempts },
  { header: 'CREATED', value: (o) => ago(o.createdAt) },
];

const STATUSES: readonly OperationStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function addOperationCommands(program: Command): void {
  const operations = program.command('operations').alias('ops').description('operations: one action on one emulator');

  addPageOptions(
    operations
      .command('list')
      .description('list operations')
      .option('--status <status>', STATUSES.join(', '))
      .option('--batch <id>', 'children of this batch')
      .option('--emulator <id>', 'on this emulator')
      .option('--workstation <id>', 'on this workstation')
      .option('--action <action>', 'e.g. start, shell, installApp')
      .option('--order <order>', 'asc or desc'),
  ).action(
    // Commander hands over whatever was typed: --status and --order are strings until checked here.
    withSession(async (session, flags: PageFlags & Omit<OperationQuery, 'limit' | 'cursor' | 'status' | 'order'> & { status?: string; order?: string }) => {
      if (flags.status !== undefined && !(STATUSES as readonly string[]).includes(flags.status)) throw usageError(`--status must be one of ${STATUSES.join(', ')}`);
      if (flags.order !== undefined && flags.order !== 'asc' && flags.order !== 'desc') throw usageError('--order must be asc or desc');
      const query: Record<string, string> = {};
      for (const key of ['status', 'batch', 'emulator', 'workstation', 'action', 'order'] as const) {
        const value = flags[key];
        if (value !== undefined) query[key] = value;
      }
      const page = await listPage(session, flags, (p) => session.client.listOperations({ ...p, ...(query as OperationQuery) }));
      printList(session.output, page, OPERATION_COLUMNS, 'operations');
    }),
  );

  addWaitOptions(operations.command('show <operation>').description('one operation (--wait follows it if still going)')).action(
    withSession(async (session, id: string, flags: WaitFlags) => {
      const operation = await session.client.getOperation(id);
      if (flags.wait === true && !['succeeded', 'failed', 'cancelled'].includes(operation.status)) return finishAction(session, flags, operation);
      if (session.output.json) return void session.output.printJson(operation);
      session.output.out(
        renderDetails(session.output, [
          ['id', operation.id],
          ['action', operation.action],
          ['status', operation.status],
          ['waiting', (operation as { waiting?: { reason: string; message: string } | null }).waiting?.message],
          ['emulator', operation.emulatorId],
          ['workstation', operation.workstationId],
          ['batch', operation.batchId],
          ['params', operation.params],
          ['attempts', operation.attempts],
          ['progress', operation.progress],
          ['error', operation.error ? `${operation.error.category}/${operation.error.code}: ${operation.error.message}` : null],
          ['result', operation.result],
          ['created', `${operation.createdAt} by ${operation.createdBy}`],
          ['started', operation.startedAt],
          ['finished', operation.finishedAt],
        ]),
      );
    }),
  );

  addWaitOptions(operations.command('cancel <operation>').description('cancel a queued or running operation')).action(
    withSession(async (session, id: string, flags: WaitFlags) => finishAction(session, flags, await session.client.cancelOperation(id))),
  );

  addWaitOptions(operations.command('retry <operation>').description('queue a failed or cancelled operation again')).action(
    withSession(async (session, id: string, flags: WaitFlags) => finishAction(session, flags, await session.client.retryOperation(id))),
  );
}
