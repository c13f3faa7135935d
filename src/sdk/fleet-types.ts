/**
 * Shapes of the inventory and the live event stream as clients see them. The emulator is the
 * fleet unit's own type, taken as a type only (erased when compiled: the SDK loads no server code).
 */
import type { Settings } from '../protocol/index.js';
import type { Emulator } from '../server/fleet/index.js';

export type { Emulator };
export type EmulatorSettings = Settings;

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
