/**
 * Inventory messages of all agents are written together: they wait in one queue for a short
 * tick (or until `maxMessages` are waiting) and go into the store in one transaction, with one
 * read of the rows of every workstation in it. Under 250 state changes a second from a hundred
 * agents that is a few transactions a second instead of hundreds, so reads are rarely behind a
 * write. Each message's promise settles after the commit, and the messages of one workstation
 * are planned in the order they came, each on the rows the one before left.
 */
import type { Kysely, Transaction } from 'kysely';
import type { InventoryMessage } from '../../protocol/index.js';
import type { Database } from '../store/index.js';
import { ROWS_PER_STATEMENT, chunks } from '../store/index.js';
import { planInventory } from './inventory.js';
import type { EmulatorChange, PlanContext } from './inventory.js';
import type { EmulatorsTable } from './schema.js';

export interface InventoryWriterOptions {
  /** How long the first message of a batch waits for others (default 20 ms). */
  readonly tickMs?: number;
  /** A batch is written at once when this many messages wait (default 64). */
  readonly maxMessages?: number;
}

export interface AppliedMessage {
  readonly workstationId: string;
  readonly changes: EmulatorChange[];
}

interface Queued {
  readonly workstationId: string;
  readonly message: InventoryMessage;
  resolve(changes: EmulatorChange[]): void;
  reject(error: unknown): void;
}

type Context = Omit<PlanContext, 'workstationId'>;

export class InventoryWriter {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Batches are written one after another, so a later message never commits before an earlier one. */
  private writing: Promise<void> = Promise.resolve();
  private readonly tickMs: number;
  private readonly maxMessages: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly context: () => Context,
    /** Called after each commit with what changed, message by message in order (events go out here). */
    private readonly committed: (applied: readonly AppliedMessage[]) => Promise<void>,
    options: InventoryWriterOptions = {},
  ) {
    this.tickMs = options.tickMs ?? 20;
    this.maxMessages = options.maxMessages ?? 64;
  }

  /** Queues one message; settles with its changes once they are committed (and announced). */
  submit(workstationId: string, message: InventoryMessage): Promise<EmulatorChange[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ workstationId, message, resolve, reject });
      if (this.queue.length >= this.maxMessages) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.tickMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue;
    this.queue = [];
    // write() settles every message itself; the chain only orders the batches.
    if (batch.length > 0) this.writing = this.writing.then(() => this.write(batch)).catch(() => undefined);
  }

  /**
   * One transaction for the batch. When it fails (say a workstation was deleted meanwhile) each
   * message is tried on its own, so one bad message fails alone.
   */
  private async write(batch: readonly Queued[]): Promise<void> {
    let applied: AppliedMessage[];
    try {
      applied = await this.apply(batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      for (const item of batch) await this.write([item]);
      return;
    }
    try {
      await this.committed(applied);
    } catch (error) {
      // Committed but not announced: the caller hears of it (the session logs it).
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => item.resolve(applied[i]?.changes ?? []));
  }

  private async apply(batch: readonly Queued[]): Promise<AppliedMessage[]> {
    const context = this.context();
    return this.db.transaction().execute(async (trx) => {
      const workstationIds = [...new Set(batch.map((item) => item.workstationId))];
      const rowsOf = await readRows(trx, workstationIds);
      const applied: AppliedMessage[] = [];
      for (const { workstationId, message } of batch) {
        const rows = rowsOf.get(workstationId) ?? new WorkstationRows([]);
        const plan = planInventory([...rows.current.values()], message, { ...context, workstationId });
        rows.apply(plan.removals, plan.writes);
        applied.push({ workstationId, changes: plan.changes });
      }
      const all = [...rowsOf.values()];
      await deleteRows(trx, all.flatMap((rows) => rows.removedIds()));
      await upsertRows(trx, all.flatMap((rows) => rows.written()));
      return applied;
    });
  }
}

/** One workstation's rows as the batch's messages leave them, and what that differs from the store. */
class WorkstationRows {
  readonly current: Map<string, EmulatorsTable>;
  private readonly stored: Set<string>;
  private readonly dirty = new Set<string>();

  constructor(rows: readonly EmulatorsTable[]) {
    this.current = new Map(rows.map((row) => [row.id, row]));
    this.stored = new Set(this.current.keys());
  }

  apply(removals: readonly EmulatorsTable[], writes: readonly EmulatorsTable[]): void {
    for (const row of removals) {
      this.current.delete(row.id);
      this.dirty.delete(row.id);
    }
    for (const row of writes) {
      this.current.set(row.id, row);
      this.dirty.add(row.id);
    }
  }

  removedIds(): string[] {
    return [...this.stored].filter((id) => !this.current.has(id));
  }

  written(): EmulatorsTable[] {
    return [...this.dirty].flatMap((id) => this.current.get(id) ?? []);
  }
}

async function readRows(trx: Transaction<Database>, workstationIds: readonly string[]): Promise<Map<string, WorkstationRows>> {
  const byWorkstation = new Map<string, EmulatorsTable[]>(workstationIds.map((id) => [id, []]));
  for (const ids of chunks(workstationIds, ROWS_PER_STATEMENT)) {
    for (const row of await trx.selectFrom('emulators').selectAll().where('workstation_id', 'in', ids).execute()) {
      byWorkstation.get(row.workstation_id)?.push(row);
    }
  }
  return new Map([...byWorkstation].map(([id, rows]) => [id, new WorkstationRows(rows)]));
}

async function deleteRows(trx: Transaction<Database>, ids: readonly string[]): Promise<void> {
  for (const batch of chunks(ids, ROWS_PER_STATEMENT)) {
    await trx.deleteFrom('emulators').where('id', 'in', batch).execute();
  }
}

/** New and changed rows alike: one `insert … on conflict (id) do update` per batch. */
async function upsertRows(trx: Transaction<Database>, rows: readonly EmulatorsTable[]): Promise<void> {
  for (const batch of chunks(rows, ROWS_PER_STATEMENT)) {
    await trx
      .insertInto('emulators')
      .values(batch)
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          state: eb.ref('excluded.state'),
          booted: eb.ref('excluded.booted'),
          pids: eb.ref('excluded.pids'),
          settings: eb.ref('excluded.settings'),
          adb_serial: eb.ref('excluded.adb_serial'),
          problem: eb.ref('excluded.problem'),
          observed_at: eb.ref('excluded.observed_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}
