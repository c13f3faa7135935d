/**
 * The bulk actions over a selection: each asks for its parameters and confirms with how many
 * instances on how many workstations it touches, then submits one batch (or, for an APK upload,
 * one upload per instance, with a progress bar) and opens the batch's progress drawer.
 */
import { Alert, Button, FileInput, Group, Menu, Modal, Progress, Stack, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import type { BatchTarget, SettingsInput } from '../../sdk/index.js';
import { plural } from '../logic/selection.js';
import { setSearchParam } from '../router.js';
import { api } from '../session.js';
import { errorText } from '../ui.js';
import { SettingsForm } from './SettingsForm.js';

type BulkAction = 'start' | 'stop' | 'restart' | 'delete' | 'modify' | 'installApk' | 'launchApp' | 'killApp' | 'shell';

const LABELS: Record<BulkAction, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  delete: 'Delete',
  modify: 'Modify settings',
  installApk: 'Install APK',
  launchApp: 'Launch app',
  killApp: 'Kill app',
  shell: 'Run shell command',
};

export interface BulkTarget {
  /** What the batch targets (ids, or the server-side filter). */
  target: BatchTarget;
  /** The ids it covers now (for APK uploads, which go one instance at a time). */
  ids: readonly string[];
  instances: number;
  workstations: number;
}

export function BulkActions({ selection, onSubmitted }: { selection: BulkTarget; onSubmitted?: () => void }) {
  const [action, setAction] = useState<BulkAction | null>(null);
  const disabled = selection.instances === 0;
  return (
    <>
      <Group gap="xs" wrap="wrap">
        {(['start', 'stop', 'restart'] as const).map((name) => (
          <Button key={name} size="xs" disabled={disabled} onClick={() => setAction(name)}>
            {LABELS[name]}
          </Button>
        ))}
        <Menu position="bottom-start">
          <Menu.Target>
            <Button size="xs" variant="default" disabled={disabled}>
              More actions
            </Button>
          </Menu.Target>
          <Menu.Dropdown>
            {(['modify', 'installApk', 'launchApp', 'killApp', 'shell', 'delete'] as const).map((name) => (
              <Menu.Item key={name} color={name === 'delete' ? 'red' : undefined} onClick={() => setAction(name)}>
                {LABELS[name]}
              </Menu.Item>
            ))}
          </Menu.Dropdown>
        </Menu>
      </Group>
      {action && (
        <ActionDialog
          action={action}
          selection={selection}
          onClose={() => setAction(null)}
          onSubmitted={(batchId) => {
            setAction(null);
            onSubmitted?.();
            if (batchId) setSearchParam('batch', batchId);
          }}
        />
      )}
    </>
  );
}

function ActionDialog({ action, selection, onClose, onSubmitted }: { action: BulkAction; selection: BulkTarget; onClose: () => void; onSubmitted: (batchId?: string) => void }) {
  const [packageName, setPackageName] = useState('');
  const [command, setCommand] = useState('');
  const [settings, setSettings] = useState<SettingsInput | null>({});
  const [file, setFile] = useState<File | null>(null);
  const [uploaded, setUploaded] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const params = (): Record<string, unknown> | null => {
    if (action === 'launchApp' || action === 'killApp') return packageName ? { packageName } : null;
    if (action === 'shell') return command ? { command } : null;
    if (action === 'modify') return settings && Object.keys(settings).length > 0 ? { settings } : null;
    return {};
  };
  const ready = action === 'installApk' ? file !== null : params() !== null;

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      if (action === 'installApk') {
        await uploadAll();
        onSubmitted();
        return;
      }
      const batch = await api().createBatch({ action, target: selection.target, params: params() ?? {} });
      onSubmitted(batch.id);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  // One upload per instance (the API takes an APK per emulator); two at a time.
  const uploadAll = async () => {
    const bytes = new Uint8Array(await file!.arrayBuffer());
    const queue = [...selection.ids];
    let done = 0;
    setUploaded(0);
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        await api().uploadApp(id, bytes, file!.name);
        done += 1;
        setUploaded(done);
      }
    };
    await Promise.all([worker(), worker()]);
  };

  const scope = `${plural(selection.instances, 'instance')} on ${plural(selection.workstations, 'workstation')}`;
  return (
    <Modal opened onClose={onClose} title={LABELS[action]} size="lg">
      <Stack>
        {(action === 'launchApp' || action === 'killApp') && (
          <TextInput label="Package name" placeholder="com.example.app" value={packageName} onChange={(event) => setPackageName(event.currentTarget.value.trim())} />
        )}
        {action === 'shell' && <TextInput label="Shell command" placeholder="getprop ro.product.model" value={command} onChange={(event) => setCommand(event.currentTarget.value)} />}
        {action === 'modify' && <SettingsForm onChange={setSettings} />}
        {action === 'installApk' && (
          <>
            <FileInput label="APK file" accept=".apk,application/vnd.android.package-archive" value={file} onChange={setFile} clearable />
            {uploaded !== null && (
              <Progress value={(uploaded * 100) / Math.max(1, selection.ids.length)} aria-label={`Uploaded to ${uploaded} of ${selection.ids.length} instances`} />
            )}
          </>
        )}
        <Text role="status">
          This will {LABELS[action].toLowerCase()} on <b>{scope}</b>.
        </Text>
        {error && (
          <Alert color="red" role="alert">
            {error}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button color={action === 'delete' ? 'red' : undefined} disabled={!ready} loading={busy} onClick={() => void run()}>
            {`${LABELS[action]} ${plural(selection.instances, 'instance')}`}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
