/** One emulator: its settings (editable), rename, start/stop/restart, screenshot, apps, shell, history. */
import { Alert, Anchor, Button, Card, Code, Group, Image, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Operation, SettingsInput } from '../../sdk/index.js';
import { waitForOperation } from '../../sdk/index.js';
import { displayState } from '../logic/filters.js';
import { useFleet } from '../live.js';
import { navigate } from '../router.js';
import { api, can, useSession } from '../session.js';
import { StateBadge, StatusBadge, ago, errorText } from '../ui.js';
import { SettingsForm } from './SettingsForm.js';

export function EmulatorView({ id }: { id: string }) {
  const fleet = useFleet();
  const emulator = fleet.emulators.get(id);
  const session = useSession();
  const operator = can(session.role, 'operator');
  const [message, setMessage] = useState<{ color: string; text: string } | null>(null);
  const [changes, setSettings] = useState<SettingsInput | null>(null);
  const [name, setName] = useState('');
  const history = useQuery({ queryKey: ['operations', 'emulator', id], queryFn: () => api().listOperations({ emulator: id, limit: 50 }) });

  if (!emulator) {
    return fleet.complete ? <Alert color="gray">This emulator is not in the inventory (it may have been deleted).</Alert> : <Text>Loading…</Text>;
  }
  const state = displayState(emulator);
  const settings = emulator.settings;
  const run = async (label: string, submit: () => Promise<Operation>) => {
    setMessage(null);
    try {
      const operation = await submit();
      setMessage({ color: 'blue', text: `${label}: queued` });
      const final = await waitForOperation(api(), operation.id);
      setMessage(final.status === 'succeeded' ? { color: 'teal', text: `${label}: done` } : { color: 'red', text: `${label}: ${final.status}${final.error ? ` — ${final.error.category}: ${final.error.message}` : ''}` });
    } catch (error) {
      setMessage({ color: 'red', text: `${label}: ${errorText(error)}` });
    }
  };

  return (
    <Stack gap="md">
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Anchor href="/" onClick={(event) => { event.preventDefault(); navigate('/'); }}>
            Fleet
          </Anchor>
          <Text c="dimmed">/</Text>
          <Title order={2} size="h3">
            {emulator.name}
          </Title>
          <StateBadge state={state} />
        </Group>
        {operator && (
          <Group gap="xs">
            <Button size="xs" disabled={emulator.state !== 'stopped'} onClick={() => void run('Start', () => api().emulatorAction(id, 'start'))}>
              Start
            </Button>
            <Button size="xs" variant="default" disabled={emulator.state === 'stopped'} onClick={() => void run('Stop', () => api().emulatorAction(id, 'stop'))}>
              Stop
            </Button>
            <Button size="xs" variant="default" onClick={() => void run('Restart', () => api().emulatorAction(id, 'restart'))}>
              Restart
            </Button>
          </Group>
        )}
      </Group>
      {message && (
        <Alert color={message.color} role="status">
          {message.text}
        </Alert>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
        <Screenshot id={id} running={emulator.state !== 'stopped'} />
        <Card withBorder>
          <Title order={3} size="h5" mb="xs">
            Details
          </Title>
          <Table withRowBorders={false} fz="sm">
            <Table.Tbody>
              {[
                ['Workstation', emulator.workstationName ?? emulator.workstationId],
                ['Index', String(emulator.index)],
                ['ADB serial', emulator.adbSerial],
                ...(settings
                  ? [
                      ['CPU', `${settings.cpu} cores`],
                      ['Memory', `${settings.memoryMb} MB`],
                      ['Resolution', `${settings.resolution.width}×${settings.resolution.height} @ ${settings.resolution.dpi} dpi`],
                      ['Model', `${settings.manufacturer} ${settings.model}`],
                      ['IMEI', settings.imei],
                      ['Android ID', settings.androidId],
                    ]
                  : [['Settings', `unreadable: ${emulator.problem ?? 'the agent could not read the config'}`]]),
                ['Seen', ago(emulator.observedAt)],
              ].map(([label, value]) => (
                <Table.Tr key={label}>
                  <Table.Th w={120}>{label}</Table.Th>
                  <Table.Td>{value}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      </SimpleGrid>
      {operator && (
        <Card withBorder>
          <Title order={3} size="h5" mb="xs">
            Settings
          </Title>
          <SettingsForm current={settings ?? undefined} onChange={setSettings} />
          <Group mt="sm" gap="xs" align="flex-end">
            <Button size="xs" disabled={!changes || Object.keys(changes).length === 0} onClick={() => changes && void run('Save settings', () => api().updateEmulator(id, { settings: changes }))}>
              Save settings
            </Button>
            <TextInput size="xs" label="New name" placeholder={emulator.name} value={name} onChange={(event) => setName(event.currentTarget.value)} />
            <Button size="xs" variant="default" disabled={!name.trim()} onClick={() => void run('Rename', () => api().updateEmulator(id, { name: name.trim() }))}>
              Rename
            </Button>
          </Group>
        </Card>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
        <Apps id={id} running={emulator.state === 'running'} operator={operator} run={run} />
        {operator && <Shell id={id} />}
      </SimpleGrid>
      <Card withBorder>
        <Title order={3} size="h5" mb="xs">
          Operation history
        </Title>
        <Table fz="sm" aria-label="Operation history">
          <Table.Tbody>
            {(history.data?.items ?? []).map((operation) => (
              <Table.Tr key={operation.id}>
                <Table.Td>{operation.action}</Table.Td>
                <Table.Td>
                  <StatusBadge status={operation.status} />
                </Table.Td>
                <Table.Td>{operation.error ? `${operation.error.category}: ${operation.error.message}` : ''}</Table.Td>
                <Table.Td>{ago(operation.createdAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
    </Stack>
  );
}

function Screenshot({ id, running }: { id: string; running: boolean }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const refresh = async () => {
    setBusy(true);
    setError(null);
    try {
      const png = await api().screenshot(id);
      const next = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
      setUrl((old) => {
        if (old) URL.revokeObjectURL(old);
        return next;
      });
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (running) void refresh();
  }, [id, running]);
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          Screen
        </Title>
        <Button size="xs" variant="default" loading={busy} disabled={!running} onClick={() => void refresh()}>
          Refresh screenshot
        </Button>
      </Group>
      {error && <Text c="red" size="sm">{error}</Text>}
      {!running && <Text c="dimmed" size="sm">The emulator is stopped.</Text>}
      {url && running && <Image src={url} alt="Screenshot of the emulator" fit="contain" mah={360} data-testid="screenshot" />}
    </Card>
  );
}

function Apps({ id, running, operator, run }: { id: string; running: boolean; operator: boolean; run: (label: string, submit: () => Promise<Operation>) => Promise<void> }) {
  const apps = useQuery({ queryKey: ['apps', id], queryFn: () => api().listApps(id), enabled: running, retry: false });
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          Apps
        </Title>
        <Button size="xs" variant="default" disabled={!running} onClick={() => void apps.refetch()}>
          Refresh apps
        </Button>
      </Group>
      {!running && <Text c="dimmed" size="sm">Start the emulator to list its apps.</Text>}
      {apps.error && <Text size="sm" c="red">{errorText(apps.error)}</Text>}
      <Stack gap={4}>
        {(apps.data?.items ?? []).map((app) => (
          <Group key={app.packageName} justify="space-between" wrap="nowrap">
            <Code>{app.packageName}</Code>
            {operator && (
              <Group gap={4} wrap="nowrap">
                <Button size="compact-xs" variant="light" aria-label={`Launch ${app.packageName}`} onClick={() => void run('Launch', () => api().appAction(id, app.packageName, 'launch'))}>
                  Launch
                </Button>
                <Button size="compact-xs" variant="light" aria-label={`Kill ${app.packageName}`} onClick={() => void run('Kill', () => api().appAction(id, app.packageName, 'kill'))}>
                  Kill
                </Button>
                <Button size="compact-xs" variant="light" color="red" aria-label={`Uninstall ${app.packageName}`} onClick={() => void run('Uninstall', async () => {
                  const operation = await api().appAction(id, app.packageName, 'uninstall');
                  void apps.refetch();
                  return operation;
                })}>
                  Uninstall
                </Button>
              </Group>
            )}
          </Group>
        ))}
      </Stack>
    </Card>
  );
}

function Shell({ id }: { id: string }) {
  const [command, setCommand] = useState('');
  const [output, setOutput] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    try {
      const operation = await api().shell(id, command);
      const final = await waitForOperation(api(), operation.id);
      if (final.status !== 'succeeded') setOutput(`${final.status}: ${final.error?.category ?? ''} ${final.error?.message ?? ''}`);
      else {
        // `{output, exitCode}` (the contract) or a bare string (older servers).
        const result = final.result as { output?: string; exitCode?: number | null } | string | undefined;
        setOutput(typeof result === 'string' ? result : `${result?.output ?? ''}${result?.exitCode != null ? `\n[exit code ${result.exitCode}]` : ''}`);
      }
    } catch (error) {
      setOutput(errorText(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="xs">
        Shell
      </Title>
      <form onSubmit={(event) => { event.preventDefault(); void submit(); }}>
        <Group gap="xs" align="flex-end" wrap="nowrap">
          <TextInput style={{ flex: 1 }} size="xs" label="Shell command" placeholder="getprop ro.product.model" value={command} onChange={(event) => setCommand(event.currentTarget.value)} />
          <Button size="xs" type="submit" loading={busy} disabled={!command}>
            Run
          </Button>
        </Group>
      </form>
      {output !== null && (
        <Code block mt="xs" className="shell-output" data-testid="shell-output">
          {output}
        </Code>
      )}
    </Card>
  );
}
