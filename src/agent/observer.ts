/**
 * Builds the agent's inventory from what the workstation shows: `list2` for the instances and
 * their state, each `vms/config/leidianN.config` for names and settings (re-read only when its
 * mtime moved), `vms/leidianN`'s creation time for the generation, and adb's
 * `sys.boot_completed` for running instances (asked once per launch until it says yes).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  configPath,
  parseInstanceConfig,
  type CallOptions,
  type InstanceConfig,
  type InstanceSettings,
  type List2Row,
  type Selector,
} from '../ldconsole/index.js';
import { adbSerialFor, type InstanceState, type ObservedInstance, type Settings } from '../protocol/index.js';
import { listedGeneration, resolveGeneration, snapshotOf, type Generation, type Snapshot } from './inventory.js';
import { describeError, type AgentLogger } from './log.js';

/** The driver calls the observer needs (LdConsole has them). */
export interface ObserverDriver {
  list2(options?: CallOptions): Promise<List2Row[]>;
  bootCompleted(selector: Selector, options?: CallOptions): Promise<boolean>;
}

export interface ObserverOptions {
  readonly driver: ObserverDriver;
  readonly installDir: string;
  readonly logger: AgentLogger;
  /** A not-yet-booted launch is asked again at most this often. */
  readonly bootProbeIntervalMs?: number;
  /** adb probes running at once, so 50 instances booting together do not fork 50 adb's. */
  readonly bootProbeConcurrency?: number;
  /** Limit on one probe. */
  readonly bootProbeTimeoutMs?: number;
  /** What the boot probes' pacing reads as now (tests move it instead of sleeping). */
  readonly clock?: () => number;
}

interface CachedConfig {
  readonly mtimeMs: number;
  readonly size: number;
  readonly ctimeMs: number;
  readonly text: string;
}

/** A config read: its text, or why it could not be read. */
type ConfigRead = { readonly config: CachedConfig; readonly problem?: undefined } | { readonly config?: undefined; readonly problem: string };

/** What is known about one launch (one dnplayer pid) of an instance. */
interface BootProbe {
  readonly index: number;
  readonly playerPid: number;
  booted: boolean;
  lastProbeAt: number;
}

const DEFAULT_BOOT_PROBE_INTERVAL_MS = 2_000;
const DEFAULT_BOOT_PROBE_CONCURRENCY = 4;
const DEFAULT_BOOT_PROBE_TIMEOUT_MS = 10_000;

export class InventoryObserver {
  private readonly configs = new Map<number, CachedConfig>();
  private readonly generations = new Map<number, Generation>();
  private readonly boots = new Map<number, BootProbe>();
  /** Indexes a `start` saw boot; their current launch counts as booted without asking adb. */
  private readonly bootedHints = new Set<number>();
  /** The problem last logged per index, so an unreadable config is logged once, not every poll. */
  private readonly problems = new Map<number, string>();
  private listedSequence = 0;

  constructor(private readonly options: ObserverOptions) {}

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /**
   * One full observation. Rejects when list2 fails. Every row list2 shows is in the snapshot:
   * one whose folder or config cannot be read carries list2's name and state, null settings
   * and the reason in `problem`.
   */
  async observe(): Promise<Snapshot> {
    const rows = await this.options.driver.list2();
    this.forgetAllBut(new Set(rows.map((row) => row.index)));
    const booted = await this.bootStates(rows);
    return snapshotOf(await Promise.all(rows.map((row) => this.observeOne(row, booted.get(row.index) ?? false))));
  }

  /** Records that the current launch of `index` has booted (a `start` just waited for it). */
  markBooted(index: number): void {
    this.bootedHints.add(index);
  }

  private async observeOne(row: List2Row, booted: boolean): Promise<ObservedInstance> {
    const read = await this.readConfig(row.index);
    const generation =
      resolveGeneration(this.generations.get(row.index), {
        ...(await this.folderBirth(row.index)),
        ...(read.config ? { configCtimeMs: read.config.ctimeMs } : {}),
      }) ?? listedGeneration(Date.now(), ++this.listedSequence);
    this.generations.set(row.index, generation);
    const parsed = read.config ? this.parseConfig(row, read.config.text) : { problem: read.problem };
    this.noteProblem(row.index, parsed.problem);
    const state = observedState(row);
    return {
      index: row.index,
      generation: generation.value,
      name: parsed.config?.title ?? row.title,
      state,
      booted: state === 'running' && booted,
      pids: row.playerPid > 0 || row.vboxPid > 0 ? { player: row.playerPid, vbox: row.vboxPid } : null,
      settings: parsed.config ? protocolSettings(parsed.config.settings) : null,
      adbSerial: adbSerialFor(row.index),
      problem: parsed.problem ?? null,
    };
  }

  private parseConfig(row: List2Row, text: string): { config?: InstanceConfig; problem?: string } {
    try {
      return { config: parseInstanceConfig(text, row.resolution ? { resolution: row.resolution } : {}) };
    } catch (error) {
      return { problem: `${configPath(this.options.installDir, row.index)} is not a valid config: ${describeError(error)}`.slice(0, 512) };
    }
  }

  /** A new problem is a warning once; it clearing is worth a line too. */
  private noteProblem(index: number, problem: string | undefined): void {
    const before = this.problems.get(index);
    if (problem === before) return;
    if (problem === undefined) {
      this.problems.delete(index);
      this.options.logger.info({ index }, 'instance config readable again');
      return;
    }
    this.problems.set(index, problem);
    this.options.logger.warn({ index, problem }, 'instance listed by list2 but its config cannot be read; reported with unknown settings');
  }

  /** The config's text, from cache while its mtime and size stand still. */
  private async readConfig(index: number): Promise<ConfigRead> {
    const file = configPath(this.options.installDir, index);
    try {
      const stats = await stat(file);
      const cached = this.configs.get(index);
      if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size) return { config: { ...cached, ctimeMs: stats.ctimeMs } };
      const text = await readFile(file, 'utf8');
      const fresh: CachedConfig = { mtimeMs: stats.mtimeMs, size: stats.size, ctimeMs: stats.ctimeMs, text };
      this.configs.set(index, fresh);
      return { config: fresh };
    } catch (error) {
      this.configs.delete(index);
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? describeError(error)})`;
      return { problem: `${file} ${why}; is --ldplayer-dir the folder that holds vms/config?`.slice(0, 512) };
    }
  }

  private async folderBirth(index: number): Promise<{ folderBirthMs?: number }> {
    try {
      const stats = await stat(path.join(this.options.installDir, 'vms', `leidian${index}`));
      return { folderBirthMs: stats.birthtimeMs };
    } catch (_missing) {
      return {};
    }
  }

  /** Booted flags of the running rows, asking adb only where the answer can have changed. */
  private async bootStates(rows: readonly List2Row[]): Promise<Map<number, boolean>> {
    const now = this.now();
    const interval = this.options.bootProbeIntervalMs ?? DEFAULT_BOOT_PROBE_INTERVAL_MS;
    const due: BootProbe[] = [];
    const byIndex = new Map<number, BootProbe>();
    for (const row of rows) {
      if (observedState(row) !== 'running') {
        this.boots.delete(row.index);
        this.bootedHints.delete(row.index);
        continue;
      }
      let probe = this.boots.get(row.index);
      if (probe?.playerPid !== row.playerPid) {
        probe = { index: row.index, playerPid: row.playerPid, booted: false, lastProbeAt: 0 };
        this.boots.set(row.index, probe);
      }
      if (this.bootedHints.delete(row.index)) probe.booted = true;
      byIndex.set(row.index, probe);
      if (!probe.booted && now - probe.lastProbeAt >= interval) due.push(probe);
    }
    await forEachLimited(due, this.options.bootProbeConcurrency ?? DEFAULT_BOOT_PROBE_CONCURRENCY, (probe) => this.probeBoot(probe));
    return new Map([...byIndex].map(([index, probe]) => [index, probe.booted]));
  }

  private async probeBoot(probe: BootProbe): Promise<void> {
    probe.lastProbeAt = this.now();
    const timeoutMs = this.options.bootProbeTimeoutMs ?? DEFAULT_BOOT_PROBE_TIMEOUT_MS;
    try {
      probe.booted = await this.options.driver.bootCompleted({ index: probe.index }, { timeoutMs });
    } catch (error) {
      this.options.logger.debug({ index: probe.index, error: describeError(error) }, 'boot probe failed; will ask again');
    }
  }

  private forgetAllBut(listed: ReadonlySet<number>): void {
    for (const cache of [this.configs, this.generations, this.boots, this.problems]) {
      for (const index of cache.keys()) if (!listed.has(index)) cache.delete(index);
    }
  }
}

/** list2 says "running" as soon as the window is up; only both processes alive count as running. */
export function observedState(row: List2Row): InstanceState {
  if (row.state === 'running' && !row.processesUp) return 'starting';
  return row.state;
}

export function protocolSettings(settings: InstanceSettings): Settings {
  return {
    cpu: settings.cpu,
    memoryMb: settings.memoryMb,
    resolution: { ...settings.resolution },
    manufacturer: settings.manufacturer,
    model: settings.model,
    phoneNumber: settings.phoneNumber,
    imei: settings.imei,
    imsi: settings.imsi,
    simSerial: settings.simSerial,
    androidId: settings.androidId,
    mac: settings.mac,
    autoRotate: settings.autoRotate,
    lockWindow: settings.lockWindow,
    root: settings.root,
  };
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
