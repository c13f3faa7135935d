/**
 * A batch's progress, in a drawer opened by `?batch=<id>` (from a bulk action or the operations
 * list): overall and per-workstation bars, failures inline, "retry failed" and "cancel the rest".
 * It follows the children live over the event stream.
 */
import { Alert, Button, Drawer, Group, Progress, ScrollArea, Stack, Table, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import type { Batch, Operation } from '../../sdk/index.js';
import { plural } from '../logic/selection.js';
import { applyOperation, batchStatus, byWorkstation, failures, progressOf } from '../logic/progress.js';
import { fleetNow, onOperation } from '../live.js';
import { indexWorkstations, useWorkstations } from '../queries.js';
import { setSearchParam, useLocation } from '../router.js';
import { api, can, useSession } from '../session.js';
import { StatusBadge, errorText } from '../ui.js';

export function BatchDrawer() {
  const location = useLocation();
  const id = new URLSearchParams(location.search).get('batch');
  return (
    <Drawer opened={id !== null} onClose={() => setSearchParam('batch', null)} position="right" size="lg" title="Batch progress">
      {id && <BatchProgress id={id} />}
    </Drawer>
  );
}

async function loadChildren(id: string): Promise<{ batch: Batch; children: Map<string, Operation> }> {
  const children = new Map<string, Operation>();
  let cursor: string | undefined;
  let first: Batch | undefined;
  do {
    const page = await api().getBatch(id, { limit: 1000, ...(cursor ? { cursor } : {}) });
    first ??= page;
    for (const operation of page.operations ?? []) children.set(operation.id, operation);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { batch: first, children };
}

function BatchProgress({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const session = useSession();
  const [children, setChildren] = useState<Map<string, Operation>>(new Map());
  const [message, setMessage] = useState<{ color: string; text: string } | null>(null);
  const loaded = useQuery({ queryKey: ['batch-children', id], queryFn: () => loadChildren(id) });
  const batch = useQuery({ queryKey: ['batch', id], queryFn: () => api().getBatch(id, { limit: 1 }), initialData: loaded.data?.batch });
  const workstations = useWorkstations();
  const { names } = useMemo(() => indexWorkstations(workstations.data), [workstations.data]);

  useEffect(() => {
    if (loaded.data) setChildren((known) => {
      // Events that came in while the pages loaded are newer than the pages.
      let merged = new Map(loaded.data.children);
      for (const operation of known.values()) merged = applyOperation(merged, operation);
      return merged;
    });
  }, [loaded.data]);
  useEffect(() => onOperation((operation) => {
    if (operation.batchId === id) setChildren((known) => applyOperation(known, operation));
  }), [id]);

  if (loaded.error) return <Alert color="red" role="alert">{errorText(loaded.error)}</Alert>;
  if (!batch.data) return <Text>Loading…</Text>;
  const data = batch.data;
  const live = children.size >= data.total;
  const counts = live ? byWorkstation(children.values()).reduce((sum, one) => {
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += one.counts[key];
    return sum;
  }, { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 }) : data.counts;
  const overall = progressOf(counts, data.total);
  const perWorkstation = byWorkstation(children.values());
  const failed = failures(children.values());
  // Counts from the live children are newer than the batch last fetched, and so is their status.
  const status = live ? batchStatus({ counts, total: data.total, finishedAt: data.finishedAt }) : batchStatus(data);
  const operator = can(session.role, 'operator');

  const act = async (verb: 'retry' | 'cancel') => {
    setMessage(null);
    try {
      await (verb === 'retry' ? api().retryBatch(id) : api().cancelBatch(id));
      setMessage({ color: 'teal', text: verb === 'retry' ? 'Failed operations re-queued.' : 'Cancelling the rest.' });
      void queryClient.invalidateQueries({ queryKey: ['batch', id] });
    } catch (error) {
      setMessage({ color: 'red', text: errorText(error) });
    }
  };

  return (
    <Stack gap="md" data-testid="batch-progress">
      <Group justify="space-between">
        <Text fw={600}>
          {data.action} · {plural(data.total, 'instance')}
        </Text>
        <StatusBadge status={status} />
      </Group>
      <div>
        <Progress.Root size="xl" aria-label={`Overall progress ${overall.percent}%`}>
          <Progress.Section value={(counts.succeeded * 100) / Math.max(1, data.total)} color="teal" />
          <Progress.Section value={(counts.failed * 100) / Math.max(1, data.total)} color="red" />
          <Progress.Section value={(counts.cancelled * 100) / Math.max(1, data.total)} color="orange" />
        </Progress.Root>
        <Text size="sm" mt={4} data-testid="batch-percent">
          {overall.percent}% · {counts.succeeded} succeeded · {counts.failed} failed · {counts.running} running · {counts.queued} queued
          {counts.cancelled ? ` · ${counts.cancelled} cancelled` : ''}
        </Text>
      </div>
      {operator && (
        <Group gap="xs">
          <Button size="xs" color="orange" variant="light" disabled={counts.failed === 0} onClick={() => void act('retry')}>
            Retry failed
          </Button>
          <Button size="xs" color="red" variant="light" disabled={counts.queued + counts.running === 0} onClick={() => void act('cancel')}>
            Cancel the rest
          </Button>
        </Group>
      )}
      {message && (
        <Alert color={message.color} role="status">
          {message.text}
        </Alert>
      )}
      <Stack gap={6} aria-label="Per workstation">
        {perWorkstation.map((one) => (
          <div key={one.workstationId}>
            <Group justify="space-between" gap={4}>
              <Text size="sm">{names.get(one.workstationId) ?? one.workstationId}</Text>
              <Text size="xs" c="dimmed">
                {one.done}/{one.total}
                {one.counts.failed ? ` · ${one.counts.failed} failed` : ''}
              </Text>
            </Group>
            <Progress value={one.percent} color={one.counts.failed ? 'red' : 'teal'} aria-label={`${names.get(one.workstationId) ?? one.workstationId} ${one.percent}%`} />
          </div>
        ))}
      </Stack>
      {failed.length > 0 && (
        <div>
          <Text fw={600} mb={4}>
            Failures
          </Text>
          <ScrollArea.Autosize mah={320}>
            <Table striped withRowBorders={false} aria-label="Failures">
              <Table.Tbody>
                {failed.map((operation) => (
                  <Table.Tr key={operation.id}>
                    <Table.Td>{fleetNow().emulators.get(operation.emulatorId ?? '')?.name ?? operation.emulatorId}</Table.Td>
                    <Table.Td>
                      <Text size="xs" c="red">
                        {operation.error?.category}
                      </Text>
                      <Text size="xs">{operation.error?.message}</Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea.Autosize>
        </div>
      )}
    </Stack>
  );
}
