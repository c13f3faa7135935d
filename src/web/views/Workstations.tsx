/**
 * One card per PC: status (with a degraded one's reason), last seen, CPU / RAM / disk, LDPlayer
 * version, running vs total instances, breaker, and its limits (editable). "Add workstation"
 * shows the enrollment token once with the PowerShell that installs the agent.
 */
import { Alert, Badge, Button, Card, Code, CopyButton, Group, Modal, NumberInput, Progress, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { Metrics } from '../../protocol/index.js';
import { renderAgentInstallScript } from '../../install/index.js';
import type { WorkstationRow } from '../queries.js';
import { useWorkstations } from '../queries.js';
import { api, can, useSession } from '../session.js';
import { StatusBadge, ago, errorText, formatBytes } from '../ui.js';

export function WorkstationsView() {
  const workstations = useWorkstations();
  const session = useSession();
  const admin = can(session.role, 'admin');
  const [adding, setAdding] = useState(false);
  const [enrollment, setEnrollment] = useState<{ name: string; token: string } | null>(null);

  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={2} size="h3">
          Workstations
        </Title>
        {admin && (
          <Button size="xs" onClick={() => setAdding(true)}>
            Add workstation
          </Button>
        )}
      </Group>
      {workstations.error && <Alert color="red">{errorText(workstations.error)}</Alert>}
      <SimpleGrid cols={{ base: 1, sm: 2, xl: 3 }} spacing="sm">
        {(workstations.data ?? []).map((row) => (
          <WorkstationCard key={row.id} row={row} admin={admin} onToken={(token) => setEnrollment({ name: row.name, token })} />
        ))}
      </SimpleGrid>
      {adding && <AddWorkstation onClose={() => setAdding(false)} onCreated={(name, token) => { setAdding(false); setEnrollment({ name, token }); }} />}
      {enrollment && <EnrollmentToken {...enrollment} onClose={() => setEnrollment(null)} />}
    </Stack>
  );
}

function WorkstationCard({ row, admin, onToken }: { row: WorkstationRow; admin: boolean; onToken: (token: string) => void }) {
  const queryClient = useQueryClient();
  const [limits, setLimits] = useState(row.limits);
  const [error, setError] = useState<string | null>(null);
  const metrics = row.metrics as Metrics | null;
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['workstations'] });
  const act = async (run: () => Promise<unknown>) => {
    setError(null);
    try {
      await run();
      refresh();
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const changed = JSON.stringify(limits) !== JSON.stringify(row.limits);
  return (
    <Card withBorder aria-label={`Workstation ${row.name}`} data-testid="workstation-card">
      <Group justify="space-between" mb={6}>
        <Title order={3} size="h5">
          {row.name}
        </Title>
        <StatusBadge status={row.status} />
      </Group>
      {row.status === 'degraded' && (
        <Text size="sm" c="yellow">
          {row.statusMessage ?? row.statusReason ?? 'degraded'}
        </Text>
      )}
      <Text size="xs" c="dimmed">
        {row.hostname ?? 'not connected yet'} · seen {ago(row.lastSeenAt)} · LDPlayer {row.ldplayer?.version ?? '–'} · agent {row.agentVersion ?? '–'}
      </Text>
      <Group gap={6} my={6}>
        {row.tags.map((tag) => (
          <Badge key={tag} size="xs" variant="outline">
            {tag}
          </Badge>
        ))}
        {row.breaker && row.breaker !== 'closed' && <Badge color="red" size="xs">breaker {row.breaker}</Badge>}
      </Group>
      <Text size="sm">
        {row.emulators ? `${row.emulators.running} of ${row.emulators.total} instances running` : ''}
        {row.breaker ? ` · breaker ${row.breaker}` : ''}
      </Text>
      {metrics && (
        <Stack gap={2} mt={6}>
          <Meter label="CPU" value={metrics.cpuPercent} text={`${Math.round(metrics.cpuPercent)}%`} />
          <Meter label="RAM" value={(metrics.memoryUsedBytes * 100) / Math.max(1, metrics.memoryTotalBytes)} text={`${formatBytes(metrics.memoryUsedBytes)} / ${formatBytes(metrics.memoryTotalBytes)}`} />
          <Meter label="Disk" value={((metrics.diskTotalBytes - metrics.diskFreeBytes) * 100) / Math.max(1, metrics.diskTotalBytes)} text={`${formatBytes(metrics.diskFreeBytes)} free`} />
        </Stack>
      )}
      <Group gap="xs" mt="sm" align="flex-end" wrap="wrap">
        <NumberInput size="xs" w={110} label="Max instances" placeholder="server default" min={1} disabled={!admin} value={limits.maxInstances ?? ''} onChange={(value) => setLimits({ ...limits, maxInstances: typeof value === 'number' ? value : undefined })} />
        <NumberInput size="xs" w={110} label="Boots at once" placeholder="server default" min={1} max={64} disabled={!admin} value={limits.maxConcurrentBoots ?? ''} onChange={(value) => setLimits({ ...limits, maxConcurrentBoots: typeof value === 'number' ? value : undefined })} />
        <NumberInput size="xs" w={130} label="Launch interval (ms)" placeholder="server default" min={0} step={500} disabled={!admin} value={limits.launchIntervalMs ?? ''} onChange={(value) => setLimits({ ...limits, launchIntervalMs: typeof value === 'number' ? value : undefined })} />
        {admin && (
          <Button size="xs" variant="light" disabled={!changed} onClick={() => void act(() => api().updateWorkstation(row.id, { limits: Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined)) }))}>
            Save limits
          </Button>
        )}
      </Group>
      {admin && (
        <Group gap="xs" mt="sm">
          <Button size="xs" variant="default" onClick={() => void act(async () => onToken((await api().rotateEnrollmentToken(row.id)).enrollmentToken))}>
            Rotate token
          </Button>
          <Button size="xs" variant="light" color="red" onClick={() => window.confirm(`Remove workstation ${row.name}? Its agent is disconnected.`) && void act(() => api().deleteWorkstation(row.id))}>
            Remove
          </Button>
        </Group>
      )}
      {error && <Text c="red" size="sm" role="alert">{error}</Text>}
    </Card>
  );
}

function Meter({ label, value, text }: { label: string; value: number; text: string }) {
  return (
    <Group gap={6} wrap="nowrap">
      <Text size="xs" w={34}>
        {label}
      </Text>
      <Progress value={value} style={{ flex: 1 }} color={value > 90 ? 'red' : value > 70 ? 'yellow' : 'teal'} aria-label={`${label} ${text}`} />
      <Text size="xs" w={130} ta="right">
        {text}
      </Text>
    </Group>
  );
}

function AddWorkstation({ onClose, onCreated }: { onClose: () => void; onCreated: (name: string, token: string) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    try {
      const created = await api().createWorkstation({ name: name.trim(), tags: tags.split(',').map((tag) => tag.trim()).filter(Boolean) });
      void queryClient.invalidateQueries({ queryKey: ['workstations'] });
      onCreated(created.workstation.name, created.enrollmentToken);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  return (
    <Modal opened onClose={onClose} title="Add workstation">
      <form onSubmit={(event) => { event.preventDefault(); void submit(); }}>
        <Stack>
          <TextInput label="Name" placeholder="pc-17" value={name} onChange={(event) => setName(event.currentTarget.value)} required autoFocus />
          <TextInput label="Tags" description="comma-separated" placeholder="rack-a, even" value={tags} onChange={(event) => setTags(event.currentTarget.value)} />
          {error && <Alert color="red" role="alert">{error}</Alert>}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={!name.trim()}>
              Register
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function EnrollmentToken({ name, token, onClose }: { name: string; token: string; onClose: () => void }) {
  let script: string;
  try {
    script = renderAgentInstallScript({ serverUrl: window.location.origin, token });
  } catch (error) {
    script = `# ${errorText(error)}`;
  }
  return (
    <Modal opened onClose={onClose} title={`Enrollment token of ${name}`} size="xl">
      <Stack>
        <Alert color="yellow">This token is shown only now. Copy it (or the script) before closing.</Alert>
        <Group gap="xs" wrap="nowrap">
          <Code data-testid="enrollment-token" style={{ wordBreak: 'break-all' }}>
            {token}
          </Code>
          <CopyButton value={token}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy}>{copied ? 'Copied' : 'Copy token'}</Button>}</CopyButton>
        </Group>
        <Text size="sm">In a PowerShell of the Windows user who runs LDPlayer on {name}:</Text>
        <Code block data-testid="install-script" style={{ whiteSpace: 'pre-wrap' }}>
          {script}
        </Code>
        <Group justify="space-between">
          <CopyButton value={script}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy}>{copied ? 'Copied' : 'Copy PowerShell'}</Button>}</CopyButton>
          <Button onClick={onClose}>Done</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
