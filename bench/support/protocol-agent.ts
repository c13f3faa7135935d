/**
 * A protocol-level workstation: a WebSocket client in the load generator's own process that
 * speaks the real agent channel (`src/protocol`) without ldconsole or the simulator behind it,
 * so a benchmark of the server pays no simulator CPU. It says hello, sends its inventory in full
 * and then as differences, heartbeats and sends metrics on the intervals the server's welcome
 * gives, and answers `rpc.call`s with results that pass the protocol's result schemas: a start
 * launches under the host's mutation lock (keeping the launch interval), boots for `bootMs`
 * outside it, and answers once booted, as the real agent does.
 */
import { WebSocket } from 'ws';
import { AGENT_CONNECT_PATH, PROTOCOL_VERSION, adbSerialFor, parseServerMessage } from '../../src/protocol/index.js';
import type { ActionError, AgentMessage, ObservedInstance, RpcCallMessage, RpcResultMessage, ServerMessage, Settings } from '../../src/protocol/index.js';
import { closeSocket } from './util.js';

export interface ProtocolWorkstationOptions {
  /** `http://…` of the server (replica) to dial. */
  readonly serverUrl: string;
  readonly token: string;
  readonly hostname: string;
  readonly instances: number;
  /** How long a started instance takes to boot (ms). */
  readonly bootMs: number;
  /** How long a shell command takes (ms). */
  readonly shellMs?: number;
  /** The state every instance is in at first (default stopped). */
  readonly initialState?: 'stopped' | 'running';
  /** Told of every change this workstation sends, with when it was sent (performance.now()). */
  readonly onSent?: (workstation: ProtocolWorkstation, changed: readonly ObservedInstance[], sentAt: number) => void;
}

const SETTINGS: Settings = {
  cpu: 2, memoryMb: 2048, resolution: { width: 1280, height: 720, dpi: 240 }, manufacturer: 'samsung', model: 'SM-G9880',
  phoneNumber: '', imei: '865166023456789', imsi: '460001234567890', simSerial: '89860012345678901234',
  androidId: '0123456789abcdef', mac: '00DB8E123456', autoRotate: false, lockWindow: false, root: false,
};
/** A 1×1 PNG, the smallest valid screenshot. */
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const METRICS = { cpuPercent: 12, memoryTotalBytes: 68_719_476_736, memoryUsedBytes: 17_179_869_184, diskTotalBytes: 1_000_204_886_016, diskFreeBytes: 400_000_000_000 };

/** Thrown by a call this workstation does not simulate: a typed refusal, never a pretend success. */
class CallRefused extends Error {
  constructor(readonly error: ActionError) {
    super(error.message);
  }
}

export class ProtocolWorkstation {
  readonly instances: ObservedInstance[];
  workstationId: string | undefined;
  /** Closes the server made that the bench did not ask for (code and reason each). */
  readonly unexpectedCloses: string[] = [];
  rpcCalls = 0;
  private socket: WebSocket | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly dirty = new Set<number>();
  /** Calls by id, running or finished: an id runs at most once, as the protocol says. */
  private readonly calls = new Map<string, Promise<RpcResultMessage>>();
  /** State-changing calls run one at a time per host. */
  private mutationLock: Promise<void> = Promise.resolve();
  private lastLaunchAt = Number.NEGATIVE_INFINITY;
  private closing = false;
  private nextPid = 1000;

  constructor(private readonly options: ProtocolWorkstationOptions) {
    this.instances = Array.from({ length: options.instances }, (_, index) => ({
      index,
      generation: `bench-${options.hostname}-${index}`,
      name: `${options.hostname}-${index}`,
      state: 'stopped',
      booted: false,
      pids: null,
      settings: SETTINGS,
      adbSerial: adbSerialFor(index),
    }));
    if (options.initialState === 'running') for (const instance of this.instances) this.setState(instance, 'running');
    this.dirty.clear();
  }

  /** Dials, says hello and sends the full inventory; resolves once the server has welcomed it. */
  connect(): Promise<void> {
    const url = new URL(AGENT_CONNECT_PATH, this.options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.token}` } });
    this.socket = socket;
    return new Promise<void>((resolve, reject) => {
      let welcomed = false;
      socket.once('open', () => this.send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        agentVersion: 'bench-protocol-agent',
        hostname: this.options.hostname,
        os: 'Windows 10 Pro 22H2 (protocol-level bench workstation)',
        ldplayer: { path: 'C:\\LDPlayer\\LDPlayer9\\ldconsole.exe', installDir: 'C:\\LDPlayer\\LDPlayer9', version: '9.1.0' },
      }));
      socket.on('message', (data, isBinary) => {
        const message = isBinary ? null : parseServerMessage((data as Buffer).toString());
        if (message?.type === 'welcome' && !welcomed) {
          welcomed = true;
          this.welcomed(message);
          resolve();
        } else if (message) this.receive(message);
      });
      socket.once('error', (error) => {
        if (!welcomed) reject(error);
      });
      socket.once('close', (code, reason) => {
        this.stopTimers();
        if (!this.closing) this.unexpectedCloses.push(`${code} ${reason.toString()}`);
        if (!welcomed) reject(new Error(`${this.options.hostname}: the server closed the agent channel before welcome (${code} ${reason.toString()})`));
      });
    });
  }

  /**
   * Flips instance `index` between stopped and running (as if a user did it on the PC), to be
   * sent with the next difference; false, changing nothing, when it already has a change waiting
   * (a second flip would undo it, and the agent would report no change at all).
   */
  flip(index: number): boolean {
    const instance = this.instance(index);
    if (this.dirty.has(index)) return false;
    this.setState(instance, instance.state === 'stopped' ? 'running' : 'stopped');
    return true;
  }

  /** Sends what changed since the last difference, if anything, as one `inventory` message. */
  sendDifferences(): void {
    if (this.dirty.size === 0) return;
    const upserts = [...this.dirty].map((index) => ({ ...this.instance(index) }));
    this.dirty.clear();
    this.send({ type: 'inventory', full: false, upserts, removed: [] });
    this.options.onSent?.(this, upserts, performance.now());
  }

  /** Sends differences every `intervalMs`, starting after `offsetMs` (spreads workstations over the interval). */
  reportEvery(intervalMs: number, offsetMs: number): void {
    const start = setTimeout(() => {
      this.sendDifferences();
      this.timers.push(setInterval(() => this.sendDifferences(), intervalMs));
    }, offsetMs);
    this.timers.push(start);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopTimers();
    await closeSocket(this.socket);
  }

  private welcomed(welcome: Extract<ServerMessage, { type: 'welcome' }>): void {
    this.workstationId = welcome.workstationId;
    this.sendFull();
    this.timers.push(setInterval(() => this.send({ type: 'heartbeat' }), welcome.heartbeatMs));
    this.timers.push(setInterval(() => this.send({ type: 'metrics', metrics: METRICS }), welcome.metricsMs));
  }

  private receive(message: ServerMessage): void {
    if (message.type === 'inventory.resync') this.sendFull();
    else if (message.type === 'rpc.call') void this.answer(message);
  }

  private sendFull(): void {
    this.dirty.clear();
    this.send({ type: 'inventory', full: true, upserts: this.instances, removed: [] });
  }

  private async answer(call: RpcCallMessage): Promise<void> {
    this.rpcCalls += 1;
    let result = this.calls.get(call.id);
    if (!result) {
      result = this.execute(call);
      this.calls.set(call.id, result);
      if (this.calls.size > 2_000) this.calls.delete(this.calls.keys().next().value as string);
    }
    this.send(await result);
  }

  private async execute(call: RpcCallMessage): Promise<RpcResultMessage> {
    try {
      return { type: 'rpc.result', id: call.id, ok: true, result: await this.run(call) };
    } catch (error) {
      const actionError: ActionError = error instanceof CallRefused ? error.error : { category: 'ldconsole', code: 'bench_agent_error', message: String(error) };
      return { type: 'rpc.result', id: call.id, ok: false, error: actionError };
    }
  }

  private async run(call: RpcCallMessage): Promise<unknown> {
    const params = (call.params ?? {}) as { index?: number; launchIntervalMs?: number; packageName?: string };
    switch (call.method) {
      case 'start':
      case 'restart':
        return this.start(params.index ?? -1, params.launchIntervalMs ?? 0, call.method === 'restart');
      case 'stop':
        return this.mutate(() => {
          const instance = this.instance(params.index ?? -1);
          this.setState(instance, 'stopped');
          this.sendDifferences();
          return { ...instance };
        });
      case 'shell':
        this.instance(params.index ?? -1);
        await delay(this.options.shellMs ?? 0);
        return { output: 'ok\n', exitCode: 0 };
      case 'listApps':
        this.instance(params.index ?? -1);
        return { packages: ['com.android.settings'] };
      case 'screenshot':
        this.instance(params.index ?? -1);
        return { pngBase64: PNG_1X1 };
      case 'inventory':
        return { instances: this.instances };
      case 'launchApp':
      case 'killApp':
      case 'uninstallApp':
        this.instance(params.index ?? -1);
        return { packageName: params.packageName ?? '' };
      default:
        throw new CallRefused({ category: 'conflict', code: 'not_simulated', message: `the bench's protocol-level workstation does not simulate ${call.method}` });
    }
  }

  /** Launch under the lock, the interval kept from the previous launch; boot outside it. */
  private async start(index: number, launchIntervalMs: number, restart: boolean): Promise<ObservedInstance> {
    const instance = this.instance(index);
    await this.mutate(async () => {
      if (instance.state !== 'stopped' && !restart) return;
      await delay(this.lastLaunchAt + launchIntervalMs - performance.now());
      this.lastLaunchAt = performance.now();
      this.setState(instance, 'starting');
      this.sendDifferences();
    });
    if (!instance.booted) {
      await delay(this.options.bootMs);
      this.setState(instance, 'running');
      this.sendDifferences();
    }
    return { ...instance };
  }

  private mutate<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.mutationLock.then(work);
    this.mutationLock = run.then(() => undefined, () => undefined);
    return run;
  }

  private setState(instance: ObservedInstance, state: ObservedInstance['state']): void {
    instance.state = state;
    instance.booted = state === 'running';
    if (state === 'stopped') instance.pids = null;
    else if (instance.pids === null) {
      this.nextPid += 2;
      instance.pids = { player: this.nextPid, vbox: this.nextPid + 1 };
    }
    this.dirty.add(instance.index);
  }

  private instance(index: number): ObservedInstance {
    const instance = this.instances[index];
    if (!instance) throw new CallRefused({ category: 'ldconsole', code: 'not_found', message: `no instance with index ${index}` });
    return instance;
  }

  private send(message: AgentMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
