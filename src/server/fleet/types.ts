import type { InstanceState, Metrics, Settings } from '../../protocol/index.js';

/** An emulator as the API serves it. */
export interface Emulator {
  /** Opaque and stable: never the adb serial or the bare index. */
  id: string;
  workstationId: string;
  workstationName?: string;
  index: number;
  name: string;
  state: InstanceState;
  /** True once Android has booted (`sys.boot_completed`). */
  booted: boolean;
  /** Null when the agent could not read the instance's config (see `problem`). */
  settings: Settings | null;
  /** What the agent could not read about the instance; null when it saw it whole. */
  problem: string | null;
  pids: { player: number; vbox: number } | null;
  adbSerial: string;
  /** When the agent last reported a change of this emulator. */
  observedAt: string;
  createdAt: string;
  updatedAt: string;
}

export type WorkstationStatus = 'online' | 'offline' | 'degraded';

/** What the agent channel tells about a workstation (the payload of `workstation.*` events). */
export interface WorkstationInfo {
  id: string;
  name: string;
  status: WorkstationStatus;
  /** Why it is `degraded` (machine-readable, e.g. `install_dir_unreadable`); null otherwise. */
  statusReason: string | null;
  statusMessage: string | null;
  lastSeenAt: string | null;
  hostname: string | null;
  os: string | null;
  agentVersion: string | null;
  ldplayer: { path: string | null; version: string | null };
  metrics: Metrics | null;
}

/** Emulator counts of one workstation, for the workstation API. */
export interface EmulatorCounts {
  total: number;
  running: number;
}
