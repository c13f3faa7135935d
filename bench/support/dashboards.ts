/**
 * Dashboard-like clients of `GET /api/v1/events` and the latency of a change from the moment a
 * protocol-level agent sent it to the moment each dashboard received it. Both ends live in the
 * load generator's process, so one clock (performance.now()) times them.
 */
import { WebSocket } from 'ws';
import type { LdfleetClient } from '../../src/sdk/index.js';
import { closeSocket } from './util.js';

/** The topics the dashboard's live view subscribes to (src/web/live.ts). */
export const DASHBOARD_TOPICS = ['emulator.*', 'workstation.*', 'operation.*', 'batch.*'];

interface Send {
  readonly state: string;
  readonly at: number;
}

/**
 * Matches what dashboards receive to what agents sent. An emulator is a key (workstation id and
 * index); each change sent for it is recorded in order. A dashboard that receives the emulator in
 * state S has received every change sent for it up to the latest one with state S (a coalescing
 * server may leave out the states between, which the newer state supersedes).
 */
export class ChangeLatency {
  private readonly sends = new Map<string, { list: Send[]; next: Int32Array }>();
  /** ms from send to receipt, one per (change, dashboard). */
  readonly latencies: number[] = [];
  changesSent = 0;

  constructor(private readonly dashboards: number) {}

  sent(key: string, state: string, at: number): void {
    let entry = this.sends.get(key);
    if (!entry) {
      entry = { list: [], next: new Int32Array(this.dashboards) };
      this.sends.set(key, entry);
    }
    entry.list.push({ state, at });
    this.changesSent += 1;
  }

  received(dashboard: number, key: string, state: string, at: number): void {
    const entry = this.sends.get(key);
    if (!entry) return;
    const from = entry.next[dashboard] ?? 0;
    let upTo = -1;
    for (let i = entry.list.length - 1; i >= from; i -= 1) {
      const send = entry.list[i];
      if (send && send.state === state && send.at <= at) {
        upTo = i;
        break;
      }
    }
    if (upTo < 0) return;
    for (let i = from; i <= upTo; i += 1) this.latencies.push(at - (entry.list[i]?.at ?? at));
    entry.next[dashboard] = upTo + 1;
  }

  /** (change, dashboard) pairs sent but not received. */
  get missing(): number {
    return this.changesSent * this.dashboards - this.latencies.length;
  }
}

export interface DashboardStats {
  frames: number;
  events: number;
  /** Closes the bench did not ask for (e.g. 4001 slow consumer). */
  readonly unexpectedCloses: string[];
}

/** One dashboard's stream, with `?coalesce=1` when the server takes it. */
export class Dashboard {
  readonly stats: DashboardStats = { frames: 0, events: 0, unexpectedCloses: [] };
  private socket: WebSocket | undefined;
  private closing = false;

  constructor(
    private readonly index: number,
    private readonly onEmulator: (dashboard: number, key: string, state: string, at: number) => void,
  ) {}

  /**
   * Opens the stream; resolves with whether the server took `coalesce=1` (a server without the
   * parameter refuses the unknown query field with 400, and the stream opens without it).
   */
  async open(client: LdfleetClient, coalesce: boolean): Promise<boolean> {
    if (coalesce) {
      try {
        await this.connect(`${client.eventsUrl(DASHBOARD_TOPICS.join(','))}&coalesce=1`);
        return true;
      } catch (error) {
        if (!(error instanceof UpgradeRefused && error.status === 400)) throw error;
      }
    }
    await this.connect(client.eventsUrl(DASHBOARD_TOPICS.join(',')));
    return false;
  }

  async close(): Promise<void> {
    this.closing = true;
    await closeSocket(this.socket);
  }

  private connect(url: string): Promise<void> {
    const socket = new WebSocket(url);
    return new Promise<void>((resolve, reject) => {
      socket.once('unexpected-response', (_request, response) => {
        reject(new UpgradeRefused(response.statusCode ?? 0));
        socket.terminate();
      });
      socket.once('open', () => {
        this.socket = socket;
        resolve();
      });
      socket.once('error', reject);
      socket.on('message', (data: Buffer) => this.receive(data, performance.now()));
      socket.once('close', (code, reason) => {
        if (this.socket === socket && !this.closing) this.stats.unexpectedCloses.push(`${code} ${reason.toString()}`);
      });
    });
  }

  /** A frame is one event `{type, at, data}` or an array of them. */
  private receive(data: Buffer, at: number): void {
    this.stats.frames += 1;
    const parsed = JSON.parse(data.toString()) as unknown;
    const events = (Array.isArray(parsed) ? parsed : [parsed]) as { type?: string; data?: { workstationId?: string; index?: number; state?: string } }[];
    for (const event of events) {
      this.stats.events += 1;
      const emulator = event.data;
      if (event.type?.startsWith('emulator.') && emulator?.workstationId !== undefined && emulator.state !== undefined) {
        this.onEmulator(this.index, `${emulator.workstationId}/${emulator.index}`, emulator.state, at);
      }
    }
  }
}

class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`the event stream's upgrade was refused with HTTP ${status}`);
  }
}
