/** Small shared pieces: state badges, error text, the confirm-and-run dialog's hook. */
import { Badge } from '@mantine/core';
import { ApiError } from '../sdk/index.js';
import type { StateFilter } from './logic/filters.js';

const STATE_COLORS: Record<StateFilter, string> = { stopped: 'gray', starting: 'blue', running: 'yellow', booted: 'teal' };

export function StateBadge({ state }: { state: StateFilter }) {
  return (
    <Badge color={STATE_COLORS[state]} variant="light" size="sm" data-state={state}>
      {state}
    </Badge>
  );
}

const STATUS_COLORS: Record<string, string> = {
  queued: 'gray',
  running: 'blue',
  succeeded: 'teal',
  failed: 'red',
  cancelled: 'orange',
  partial: 'yellow',
  online: 'teal',
  offline: 'gray',
  degraded: 'yellow',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={STATUS_COLORS[status] ?? 'gray'} variant="light" size="sm">
      {status}
    </Badge>
  );
}

/** What to tell the operator about a failed request. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return `Too many attempts: ${error.body.error.message}`;
    return error.body.error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}
