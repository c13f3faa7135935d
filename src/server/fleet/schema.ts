import type { Kysely, Migration } from 'kysely';

/** One observed LDPlayer instance; identity is (workstation_id, idx, generation). */
export interface EmulatorsTable {
  id: string;
  workstation_id: string;
  idx: number;
  generation: string;
  name: string;
  state: string;
  booted: number;
  /** JSON `{player, vbox}` or null while stopped. */
  pids: string | null;
  /** JSON of the protocol's `Settings`, or `null` when the agent could not read the config. */
  settings: string;
  /** What the agent could not read about the instance; null when it saw it whole. */
  problem: string | null;
  adb_serial: string;
  observed_at: string;
  created_at: string;
  updated_at: string;
}

declare module '../store/schema.js' {
  interface Database {
    emulators: EmulatorsTable;
  }
}

/**
 * The inventory of emulators. The workstation columns the agent channel fills (hostname, os,
 * agent and LDPlayer versions, status, last seen, metrics) are already in the core's table.
 */
export const emulatorsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('emulators')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workstation_id', 'text', (c) => c.notNull().references('workstations.id').onDelete('cascade'))
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('generation', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('booted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('pids', 'text')
      .addColumn('settings', 'text', (c) => c.notNull())
      .addColumn('adb_serial', 'text', (c) => c.notNull())
      .addColumn('observed_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('emulators_identity', ['workstation_id', 'idx', 'generation'])
      .execute();
    // Keyset pages order by id; each list filter gets an index that ends in id.
    await db.schema.createIndex('emulators_workstation_id_id').on('emulators').columns(['workstation_id', 'id']).execute();
    await db.schema.createIndex('emulators_state_id').on('emulators').columns(['state', 'id']).execute();
  },
};

/** Agent health: a workstation's `degraded` reason and message, and an emulator's observation problem. */
export const agentHealthMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('workstations').addColumn('status_reason', 'text').execute();
    await db.schema.alterTable('workstations').addColumn('status_message', 'text').execute();
    await db.schema.alterTable('emulators').addColumn('problem', 'text').execute();
  },
};
