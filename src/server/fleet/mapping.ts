import type { InstanceState, Metrics, Settings } from '../../protocol/index.js';
import type { WorkstationsTable } from '../store/index.js';
import type { EmulatorsTable } from './schema.js';
import type { Emulator, WorkstationInfo, WorkstationStatus } from './types.js';

export function toEmulator(row: EmulatorsTable, workstationName?: string): Emulator {
  return {
    id: row.id,
    workstationId: row.workstation_id,
    ...(workstationName === undefined ? {} : { workstationName }),
    index: Number(row.idx),
    name: row.name,
    state: row.state as InstanceState,
    booted: Number(row.booted) === 1,
    settings: JSON.parse(row.settings) as Settings | null,
    problem: row.problem ?? null,
    pids: row.pids === null ? null : (JSON.parse(row.pids) as Emulator['pids']),
    adbSerial: row.adb_serial,
    observedAt: row.observed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toWorkstationInfo(row: WorkstationsTable): WorkstationInfo {
  return {
    id: row.id,
    name: row.name,
    status: row.status as WorkstationStatus,
    statusReason: row.status_reason ?? null,
    statusMessage: row.status_message ?? null,
    lastSeenAt: row.last_seen_at,
    hostname: row.hostname,
    os: row.os,
    agentVersion: row.agent_version,
    ldplayer: { path: row.ldplayer_path, version: row.ldplayer_version },
    metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as Metrics),
  };
}
