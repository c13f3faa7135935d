/** Operations and batches, newest first, filterable, live (refetched on their events); cancel and retry. */
import { Alert, Button, Group, Select, Stack, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { BatchQuery, Operation } from '../../sdk/index.js';
import { batchStatus, progressOf } from '../logic/progress.js';
import { fleetNow } from '../live.js';
import { indexWorkstations, useWorkstations } from '../queries.js';
import { setSearchParam } from '../router.js';
import { api, can, useSession } from '../session.js';
import { StatusBadge, ago, errorText } from '../ui.js';

const ACTIONS = ['start', 'stop', 'restart', 'delete', 'modify', 'rename', 'create', 'clone', 'installApp', 'uninstallApp', 'launchApp', 'killApp', 'shell'];
const OPERATION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const BATCH_STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled'];

function newestFirst<T extends { createdAt: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export function OperationsView() {
  return (
    <Stack gap="sm">
      <Title order={2} size="h3">
        Operations
      </Title>
      <Tabs defaultValue="batches" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="batches">Batches</Tabs.Tab>
          <Tabs.Tab value="operations">Operations</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="batches" pt="sm">
          <Batches />
        </Tabs.Panel>
        <Tabs.Panel value="operations" pt="sm">
          <Operations />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Batches() {
  const [status, setStatus] = useState<string | null>(null);
  const [action, setAction] = useState<string | null>(null);
  const batches = useQuery({
    queryKey: ['batches', status, action],
    queryFn: () => api().listBatches({ limit: 100, order: 'desc', ...(status ? { status: status as NonNullable<BatchQuery['status']> } : {}), ...(action ? { action } : {}) }),
    retry: false,
  });
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <Select size="xs" w={140} label="Status" placeholder="any" clearable data={BATCH_STATUSES} value={status} onChange={setStatus} />
        <Select size="xs" w={140} label="Action" placeholder="any" clearable data={ACTIONS} value={action} onChange={setAction} />
      </Group>
      {batches.error && <Alert color="red">{errorText(batches.error)}</Alert>}
      <Table striped highlightOnHover fz="sm" aria-label="Batches">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Action</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Progress</Table.Th>
            <Table.Th className="wide-only">By</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {newestFirst(batches.data?.items ?? []).map((batch) => {
            const progress = progressOf(batch.counts, batch.total);
            return (
              <Table.Tr key={batch.id}>
                <Table.Td>{batch.action}</Table.Td>
                <Table.Td>
                  <StatusBadge status={batchStatus(batch)} />
                </Table.Td>
                <Table.Td>
                  {progress.done}/{progress.total}
                  {batch.counts.failed ? ` · ${batch.counts.failed} failed` : ''}
                </Table.Td>
                <Table.Td className="wide-only">{batch.createdBy}</Table.Td>
                <Table.Td>{ago(batch.createdAt)}</Table.Td>
                <Table.Td>
                  <Button size="compact-xs" variant="light" onClick={() => setSearchParam('batch', batch.id)}>
                    Open
                  </Button>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Operations() {
  const [status, setStatus] = useState<string | null>(null);
  const [action, setAction] = useState<string | null>(null);
  const [workstation, setWorkstation] = useState<string | null>(null);
  const [user, setUser] = useState('');
  const [error, setError] = useState<string | null>(null);
  const session = useSession();
  const operator = can(session.role, 'operator');
  const queryClient = useQueryClient();
  const workstations = useWorkstations();
  const { names } = useMemo(() => indexWorkstations(workstations.data), [workstations.data]);
  const operations = useQuery({
    queryKey: ['operations', status, action, workstation],
    queryFn: () =>
      api().listOperations({
        limit: 200,
        ...(status ? { status: status as Operation['status'] } : {}),
        ...(action ? { action } : {}),
        ...(workstation ? { workstation } : {}),
      }),
  });
  const items = newestFirst(operations.data?.items ?? []).filter((operation) => !user || operation.createdBy.toLowerCase().includes(user.toLowerCase()));
  const act = async (operation: Operation, verb: 'cancel' | 'retry') => {
    setError(null);
    try {
      await (verb === 'cancel' ? api().cancelOperation(operation.id) : api().retryOperation(operation.id));
      void queryClient.invalidateQueries({ queryKey: ['operations'] });
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  return (
    <Stack gap="xs">
      <Group gap="xs" wrap="wrap">
        <Select size="xs" w={130} label="Status" placeholder="any" clearable data={OPERATION_STATUSES} value={status} onChange={setStatus} />
        <Select size="xs" w={130} label="Action" placeholder="any" clearable data={ACTIONS} value={action} onChange={setAction} />
        <Select size="xs" w={150} label="Workstation" placeholder="any" clearable data={(workstations.data ?? []).map((row) => ({ value: row.id, label: row.name }))} value={workstation} onChange={setWorkstation} />
        <TextInput size="xs" w={130} label="User" placeholder="any" value={user} onChange={(event) => setUser(event.currentTarget.value)} />
      </Group>
      {error && <Alert color="red" role="alert">{error}</Alert>}
      <Table striped fz="sm" aria-label="Operations">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Action</Table.Th>
            <Table.Th>Emulator</Table.Th>
            <Table.Th className="wide-only">Workstation</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th className="wide-only">Detail</Table.Th>
            <Table.Th className="wide-only">Created</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((operation) => {
            const waiting = (operation as Operation & { waiting?: { reason: string; message: string } | null }).waiting;
            return (
              <Table.Tr key={operation.id}>
                <Table.Td>{operation.action}</Table.Td>
                <Table.Td>{fleetNow().emulators.get(operation.emulatorId ?? '')?.name ?? operation.emulatorId ?? '–'}</Table.Td>
                <Table.Td className="wide-only">{names.get(operation.workstationId) ?? operation.workstationId}</Table.Td>
                <Table.Td>
                  <StatusBadge status={operation.status} />
                </Table.Td>
                <Table.Td className="wide-only">
                  <Text size="xs">{operation.error ? `${operation.error.category}: ${operation.error.message}` : (waiting?.message ?? operation.progress ?? '')}</Text>
                </Table.Td>
                <Table.Td className="wide-only">{ago(operation.createdAt)}</Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    {operation.batchId && (
                      <Button size="compact-xs" variant="subtle" onClick={() => setSearchParam('batch', operation.batchId!)}>
                        Batch
                      </Button>
                    )}
                    {operator && (operation.status === 'queued' || operation.status === 'running') && (
                      <Button size="compact-xs" variant="light" color="red" onClick={() => void act(operation, 'cancel')}>
                        Cancel
                      </Button>
                    )}
                    {operator && operation.status === 'failed' && (
                      <Button size="compact-xs" variant="light" color="orange" onClick={() => void act(operation, 'retry')}>
                        Retry
                      </Button>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
