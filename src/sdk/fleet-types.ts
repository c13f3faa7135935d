/** Shapes of the inventory and the live event stream as clients see them. */

export interface EmulatorSettings {
  cpu: number;
  memoryMb: number;
  resolution: { width: number; height: number; dpi: number };
  manufacturer: string;
  model: string;
  phoneNumber: string;
  imei: string;
  imsi: string;
  simSerial: string;
  androidId: string;
  mac: string;
  autoRotate: boolean;
  lockWindow: boolean;
  root: boolean;
}

export interface Emulator {
  id: string;
  workstationId: string;
  workstationName?: string;
  index: number;
  name: string;
  state: 'stopped' | 'starting' | 'running';
  booted: boolean;
  settings: EmulatorSettings;
  pids: { player: number; vbox: number } | null;
  adbSerial: string;
  observedAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface EmulatorQuery {
  limit?: number;
  cursor?: string;
  /** A workstation id or name. */
  workstation?: string;
  state?: Emulator['state'];
  /** A substring of the name, case-insensitive. */
  q?: string;
  /** A tag of the emulator's workstation. */
  tag?: string;
}

/** One frame of `GET /api/v1/events`. */
export interface FleetEvent {
  type: string;
  at: string;
  data: Record<string, unknown>;
}
