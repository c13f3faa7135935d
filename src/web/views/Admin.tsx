/** Administration: users (create, role, disable, reset password), API tokens (shown once; revoke), the audit log. */
import { Alert, Button, Code, Group, Modal, PasswordInput, Select, Stack, Switch, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { AuditQuery, Role, User } from '../../sdk/index.js';
import { api } from '../session.js';
import { StatusBadge, ago, errorText } from '../ui.js';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

export function AdminView() {
  return (
    <Stack gap="sm">
      <Title order={2} size="h3">
        Admin
      </Title>
      <Tabs defaultValue="users" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="users">Users</Tabs.Tab>
          <Tabs.Tab value="tokens">API tokens</Tabs.Tab>
          <Tabs.Tab value="audit">Audit log</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="users" pt="sm">
          <Users />
        </Tabs.Panel>
        <Tabs.Panel value="tokens" pt="sm">
          <Tokens />
        </Tabs.Panel>
        <Tabs.Panel value="audit" pt="sm">
          <Audit />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function useAct(keys: string[]) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const act = async (run: () => Promise<unknown>): Promise<boolean> => {
    setError(null);
    try {
      await run();
      for (const key of keys) void queryClient.invalidateQueries({ queryKey: [key] });
      return true;
    } catch (failure) {
      setError(errorText(failure));
      return false;
    }
  };
  return { error, act };
}

function Users() {
  const users = useQuery({ queryKey: ['users'], queryFn: () => api().all((page) => api().listUsers(page), 500) });
  const { error, act } = useAct(['users']);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [resetting, setResetting] = useState<User | null>(null);
  return (
    <Stack gap="sm">
      <form onSubmit={(event) => { event.preventDefault(); void act(() => api().createUser({ username: username.trim(), password, role })).then((ok) => { if (ok) { setUsername(''); setPassword(''); } }); }}>
        <Group gap="xs" align="flex-end" wrap="wrap">
          <TextInput size="xs" label="New user name" value={username} onChange={(event) => setUsername(event.currentTarget.value)} required />
          <PasswordInput size="xs" label="Initial password" value={password} onChange={(event) => setPassword(event.currentTarget.value)} required w={180} />
          <Select size="xs" w={120} label="Role" data={ROLES} value={role} onChange={(value) => value && setRole(value as Role)} allowDeselect={false} />
          <Button size="xs" type="submit">
            Create user
          </Button>
        </Group>
      </form>
      {error && <Alert color="red" role="alert">{error}</Alert>}
      <Table striped fz="sm" aria-label="Users">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>User</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Enabled</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(users.data ?? []).map((user) => (
            <Table.Tr key={user.id}>
              <Table.Td>{user.username}</Table.Td>
              <Table.Td>
                <Select size="xs" w={120} aria-label={`Role of ${user.username}`} data={ROLES} value={user.role} allowDeselect={false} onChange={(value) => value && void act(() => api().updateUser(user.id, { role: value as Role }))} />
              </Table.Td>
              <Table.Td>
                <Switch aria-label={`${user.username} enabled`} checked={!user.disabled} onChange={(event) => void act(() => api().updateUser(user.id, { disabled: !event.currentTarget.checked }))} />
              </Table.Td>
              <Table.Td>
                <Button size="compact-xs" variant="light" onClick={() => setResetting(user)}>
                  Reset password
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {resetting && <ResetPassword user={resetting} onClose={() => setResetting(null)} act={act} />}
    </Stack>
  );
}

function ResetPassword({ user, onClose, act }: { user: User; onClose: () => void; act: (run: () => Promise<unknown>) => Promise<boolean> }) {
  const [password, setPassword] = useState('');
  return (
    <Modal opened onClose={onClose} title={`New password for ${user.username}`}>
      <form onSubmit={(event) => { event.preventDefault(); void act(() => api().updateUser(user.id, { password })).then((ok) => ok && onClose()); }}>
        <Stack>
          <PasswordInput label="New password" value={password} onChange={(event) => setPassword(event.currentTarget.value)} required autoFocus />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit">Set password</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function Tokens() {
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => api().all((page) => api().listTokens(page), 500) });
  const { error, act } = useAct(['tokens']);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [created, setCreated] = useState<string | null>(null);
  return (
    <Stack gap="sm">
      <form onSubmit={(event) => { event.preventDefault(); void act(async () => { const token = await api().createToken({ name: name.trim(), role }); setCreated(token.token); setName(''); }); }}>
        <Group gap="xs" align="flex-end">
          <TextInput size="xs" label="Token name" value={name} onChange={(event) => setName(event.currentTarget.value)} required />
          <Select size="xs" w={120} label="Role" data={ROLES} value={role} onChange={(value) => value && setRole(value as Role)} allowDeselect={false} />
          <Button size="xs" type="submit">
            Create token
          </Button>
        </Group>
      </form>
      {created && (
        <Alert color="yellow" title="The new token, shown only now" withCloseButton onClose={() => setCreated(null)} closeButtonLabel="Hide the token">
          <Code data-testid="api-token" style={{ wordBreak: 'break-all' }}>
            {created}
          </Code>
        </Alert>
      )}
      {error && <Alert color="red" role="alert">{error}</Alert>}
      <Table striped fz="sm" aria-label="API tokens">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(tokens.data ?? []).map((token) => (
            <Table.Tr key={token.id}>
              <Table.Td>{token.name}</Table.Td>
              <Table.Td>{token.role}</Table.Td>
              <Table.Td>{ago(token.lastUsedAt)}</Table.Td>
              <Table.Td>
                <Button size="compact-xs" color="red" variant="light" aria-label={`Revoke ${token.name}`} onClick={() => void act(() => api().revokeToken(token.id))}>
                  Revoke
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Audit() {
  const [query, setQuery] = useState<AuditQuery>({});
  const audit = useQuery({ queryKey: ['audit', query], queryFn: () => api().listAudit({ ...query, limit: 200 }) });
  const text = (key: 'actor' | 'action' | 'target', label: string) => (
    <TextInput size="xs" w={150} label={label} placeholder="any" value={query[key] ?? ''} onChange={(event) => setQuery({ ...query, [key]: event.currentTarget.value || undefined })} />
  );
  return (
    <Stack gap="sm">
      <Group gap="xs" wrap="wrap">
        {text('actor', 'Actor')}
        {text('action', 'Action')}
        {text('target', 'Target')}
        <Select size="xs" w={120} label="Outcome" placeholder="any" clearable data={['success', 'failure', 'denied']} value={query.outcome ?? null} onChange={(value) => setQuery({ ...query, outcome: (value as AuditQuery['outcome']) ?? undefined })} />
      </Group>
      {audit.error && <Alert color="red">{errorText(audit.error)}</Alert>}
      <Table striped fz="xs" aria-label="Audit log">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Actor</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th className="wide-only">Target</Table.Th>
            <Table.Th>Outcome</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(audit.data?.items ?? []).map((entry) => (
            <Table.Tr key={entry.id}>
              <Table.Td>{ago(entry.at)}</Table.Td>
              <Table.Td>{entry.actorName ?? '–'}</Table.Td>
              <Table.Td>{entry.action}</Table.Td>
              <Table.Td className="wide-only">{targetText(entry.target)}</Table.Td>
              <Table.Td>
                <StatusBadge status={entry.outcome === 'success' ? 'succeeded' : 'failed'} />
                <Text span size="xs" ml={4}>
                  {entry.statusCode}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {audit.data && audit.data.items.length === 0 && <Text c="dimmed">No entries match.</Text>}
    </Stack>
  );
}

/** An audit entry's target as text: `workstation pc-17`, or the bare string older entries hold. */
function targetText(target: string | { type: string; id: string | null; name: string | null } | null | undefined): string {
  if (!target) return '';
  if (typeof target === 'string') return target;
  return [target.type, target.name ?? target.id].filter(Boolean).join(' ');
}
