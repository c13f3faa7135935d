import type { Kysely, Migration } from 'kysely';

/** Audit entries name their target's type and name (the `target` column keeps its id) and what changed. */
export const auditChangesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('audit_log').addColumn('target_type', 'text').execute();
    await db.schema.alterTable('audit_log').addColumn('target_name', 'text').execute();
    await db.schema.alterTable('audit_log').addColumn('changes', 'text').execute();
    await db.schema.createIndex('audit_log_target').on('audit_log').column('target').execute();
  },
};
