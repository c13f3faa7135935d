/**
 * The workstation agent: one connection to the server, and on it the session of the protocol —
 * hello, then after welcome a full inventory, heartbeats, metrics, inventory diffs from polling,
 * and answers to RPC calls.
 */
import os from 'node:os';
import { LocalExecutor, type Executor } from '../exec/index.js';
import { LdConsole, type Codepage } from '../ldconsole/index.js';
import { PROTOCOL_VERSION, type HelloMessage, type ServerMessage } from '../protocol/index.js';
import { VERSION } from '../package/index.js';
import type { BackoffOptions } from './backoff.js';
import { AgentConnection } from './connection.js';
import { InventoryFeed } from './feed.js';
import { AgentHealth, installDirProblem, type HealthOptions } from './health.js';
import { describeError, silentLogger, type AgentLogger } from './log.js';
import { MetricsSampler } from './metrics.js';
import { InventoryObserver } from './observer.js';
import { RpcDispatcher } from './rpc.js';
import { TransferStore, type TransferOptions } from './transfers.js';
import type { Trust } from '../trust/index.js';

export interface AgentOptions {
  /** The server's base URL, e.g. `http://fleet.example:8080`. */
  readonly serverUrl: string;
  /** The workstation's enrollment token. */
  readonly token: string;
  /** `ldconsole.exe`, or the simulator's bin. */
  readonly ldconsolePath: string;
  /** LDPlayer's `adb.exe` (or the simulator's `adb-sim`): adb work runs it with an argv array; through `ldconsole adb` when absent. */
  readonly adbPath?: string;
  /** The LDPlayer install dir (its `vms/config` holds the instance configs). */
  readonly installDir: string;
  /** Code page ldconsole's output falls back to; cp936 (GBK) by default. */
  readonly codepage?: Codepage;
  /** Environment of the ldconsole processes (the simulator reads its home from it); inherited when absent. */
  readonly ldconsoleEnv?: NodeJS.ProcessEnv;
  readonly executor?: Executor;
  readonly logger?: AgentLogger;
  /** Reported in hello; the OS hostname by default. */
  readonly hostname?: string;
  /** The LDPlayer version, when known. */
  readonly ldplayerVersion?: string | null;
  readonly backoff?: BackoffOptions;
  /** Delay before redialling after the server refused the token. */
  readonly authRetryMs?: number;
  /** The socket is dropped and redialled when no welcome follows hello within this time. */
  readonly welcomeTimeoutMs?: number;
  readonly transfers?: Partial<TransferOptions>;
  /** When the agent reports itself degraded (list2 failures in a row, disk floor). */
  readonly health?: HealthOptions;
  /** Which TLS certificate the server may present (`--ca`, `--fingerprint`). */
  readonly trust?: Trust;
}

/** Variables of the agent's own that ldconsole (and whatever it starts) must never see. */
const AGENT_SECRETS = ['LDFLEET_AGENT_TOKEN'];

/** The environment for ldconsole: the given (or inherited) one without the agent's secrets. */
export function ldconsoleEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of AGENT_SECRETS) delete copy[name];
  return copy;
}

/** The cadence the server set in its welcome. */
interface Cadence {
  readonly heartbeatMs: number;
  readonly inventoryPollMs: number;
  readonly metricsMs: number;
}

/** Missing this many heartbeat intervals of server traffic means the socket is dead. */
const SILENT_HEARTBEATS = 3;
const DEFAULT_WELCOME_TIMEOUT_MS = 15_000;
const MIN_INTERVAL_MS = 50;

export const AGENT_VERSION = VERSION;

export class Agent {
  readonly driver: LdConsole;
  readonly observer: InventoryObserver;
  readonly feed: InventoryFeed;
  readonly dispatcher: RpcDispatcher;
  private readonly logger: AgentLogger;
  private readonly connection: AgentConnection;
  private readonly transfers: TransferStore;
  private readonly metrics: MetricsSampler;
  private readonly health: AgentHealth;
  /** Aborted by `stop`: ends every ldconsole call in flight, so a stop never waits on a hung one. */
  private readonly lifetime = new AbortController();
  /** The status the server last got in this session (JSON), so only changes are sent. */
  private sentStatus: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private welcomeTimer: NodeJS.Timeout | undefined;
  private workstationId: string | undefined;
  /** Counts welcomes, so a poll loop of an ended session does not carry on into the next one. */
  private session = 0;

  constructor(private readonly options: AgentOptions) {
    this.logger = options.logger ?? silentLogger;
    this.driver = new LdConsole({
      executor: options.executor ?? new LocalExecutor(),
      path: options.ldconsolePath,
      installDir: options.installDir,
      ...(options.codepage ? { codepage: options.codepage } : {}),
      env: ldconsoleEnvironment(options.ldconsoleEnv),
      signal: this.lifetime.signal,
      ...(options.adbPath !== undefined ? { adbPath: options.adbPath } : {}),
    });
    this.health = new AgentHealth(options.health);
    this.observer = new InventoryObserver({ driver: this.driver, installDir: options.installDir, logger: this.logger });
    this.connection = new AgentConnection(
      {
        serverUrl: options.serverUrl,
        token: options.token,
        logger: this.logger,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.authRetryMs !== undefined ? { authRetryMs: options.authRetryMs } : {}),
        ...(options.trust ? { trust: options.trust } : {}),
      },
      { onOpen: () => this.onOpen(), onMessage: (message) => this.onMessage(message), onClose: () => this.onClose() },
    );
    this.feed = new InventoryFeed(this.observer, (message) => this.connection.send(message));
    this.transfers = new TransferStore(options.transfers);
    this.dispatcher = new RpcDispatcher({
      driver: this.driver,
      inventory: {
        refresh: () => this.feed.refresh(),
        resync: () => this.feed.resync(),
        markBooted: (index) => this.observer.markBooted(index),
      },
      transfers: this.transfers,
      logger: this.logger,
      onAdbHealth: (problem) => {
        this.health.set('adb_conflict', problem);
        this.reportHealth();
      },
    });
    this.metrics = new MetricsSampler(options.installDir);
  }

  /** Starts dialling the server; returns at once (the agent connects and reconnects on its own). */
  start(): void {
    this.logger.info({ server: this.options.serverUrl, ldconsole: this.options.ldconsolePath, installDir: this.options.installDir }, 'agent starting');
    void this.checkInstallDir(true);
    this.connection.start();
  }

  /** Closes the socket, ends ldconsole calls in flight, stops every timer and deletes pending uploads. */
  async stop(): Promise<void> {
    this.lifetime.abort(new Error('agent stopping'));
    this.stopSessionTimers();
    await this.connection.stop();
    await this.transfers.close();
    this.logger.info({}, 'agent stopped');
  }

  /** Whether the server has welcomed the current connection. */
  get welcomed(): boolean {
    return this.workstationId !== undefined && this.connection.isOpen;
  }

  private onOpen(): void {
    this.connection.send(this.hello());
    this.welcomeTimer = setTimeout(() => this.connection.drop('no welcome after hello'), this.options.welcomeTimeoutMs ?? DEFAULT_WELCOME_TIMEOUT_MS);
  }

  private onClose(): void {
    this.stopSessionTimers();
    this.session += 1;
    this.workstationId = undefined;
    this.sentStatus = undefined;
    this.feed.stopPublishing();
    void this.transfers.dropIncomplete();
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        this.workstationId = message.workstationId;
        this.logger.info({ workstationId: message.workstationId }, 'welcomed by the server');
        this.startSession(message);
        return;
      case 'inventory.resync':
        this.feed.resync().catch((error: unknown) => this.logPollFailure(error));
        return;
      case 'file.chunk':
        this.transfers.receive(message);
        return;
      case 'rpc.call':
        void this.dispatcher.dispatch(message).then((result) => this.connection.send(result));
        return;
    }
  }

  private startSession(welcome: Cadence): void {
    const cadence = saneCadence(welcome);
    this.stopSessionTimers();
    this.session += 1;
    this.feed.startPublishing();
    this.pollInventory(this.session, cadence.inventoryPollMs);
    this.sendMetrics();
    this.every(cadence.heartbeatMs, () => {
      this.connection.send({ type: 'heartbeat' });
      this.connection.checkAlive(cadence.heartbeatMs * SILENT_HEARTBEATS);
    });
    this.every(cadence.metricsMs, () => this.sendMetrics());
  }

  /** Polls one after another (never overlapping), the first one at once: it carries the full snapshot. */
  private pollInventory(session: number, intervalMs: number): void {
    // Fire and forget: pollOnce never rejects, and the next poll is armed only once this one ended.
    void this.pollOnce().then(() => {
      if (session !== this.session || this.workstationId === undefined) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.pollInventory(session, intervalMs);
      }, intervalMs);
      this.timers.add(timer);
    });
  }

  /** One inventory poll, then the install-dir check. A failed poll is logged and counted; the next tick tries again. */
  private async pollOnce(): Promise<void> {
    try {
      await this.feed.refresh();
      this.health.list2Succeeded();
    } catch (error) {
      this.health.list2Failed(describeError(error));
      this.logPollFailure(error);
    }
    await this.checkInstallDir(false);
  }

  private sendMetrics(): void {
    this.metrics
      .sample()
      .then((metrics) => {
        this.connection.send({ type: 'metrics', metrics });
        this.health.metricsSampled(metrics);
        this.reportHealth();
      })
      .catch((error: unknown) => this.logger.warn({ error: describeError(error) }, 'metrics sample failed'));
  }

  /** Checks that `vms/config` is readable; at start a failure is a warning naming the folder and the fix. */
  private async checkInstallDir(atStart: boolean): Promise<void> {
    const problem = await installDirProblem(this.options.installDir);
    if (atStart && problem !== undefined) this.logger.warn({ installDir: this.options.installDir, problem }, 'install dir has no readable vms/config');
    this.health.set('install_dir_unreadable', problem);
    this.reportHealth();
  }

  /** Sends the agent's status when it changed since the server last got it (only once welcomed). */
  private reportHealth(): void {
    if (!this.welcomed) return;
    const status = this.health.status();
    const text = JSON.stringify(status);
    if (text === this.sentStatus) return;
    if (status.reason !== null) this.logger.warn({ reason: status.reason, message: status.message }, 'agent degraded');
    else if (this.sentStatus !== undefined) this.logger.info({}, 'agent healthy again');
    if (this.connection.send(status)) this.sentStatus = text;
  }

  private every(intervalMs: number, tick: () => void): void {
    this.timers.add(setInterval(tick, intervalMs));
  }

  private stopSessionTimers(): void {
    clearTimeout(this.welcomeTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private logPollFailure(error: unknown): void {
    this.logger.warn({ error: describeError(error) }, 'inventory poll failed; trying again next tick');
  }

  private hello(): HelloMessage {
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentVersion: AGENT_VERSION,
      hostname: (this.options.hostname ?? os.hostname()).slice(0, 256),
      os: `${os.type()} ${os.release()} ${os.arch()}`.slice(0, 256),
      ldplayer: {
        path: this.options.ldconsolePath.slice(0, 1024),
        installDir: this.options.installDir.slice(0, 1024),
        version: this.options.ldplayerVersion ?? null,
      },
    };
  }
}

/** The server's intervals, kept above a floor: a zero interval would spin the agent. */
function saneCadence(cadence: Cadence): Cadence {
  const atLeast = (ms: number) => Math.max(MIN_INTERVAL_MS, ms);
  return { heartbeatMs: atLeast(cadence.heartbeatMs), inventoryPollMs: atLeast(cadence.inventoryPollMs), metricsMs: atLeast(cadence.metricsMs) };
}
