import type { Kysely, Migration } from 'kysely';

/**
 * A token minted with another API token names its parent: revoking (deleting) the parent
 * deletes every token made from it, so a leaked token cannot leave heirs behind.
 */
export const apiTokenParentMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('api_tokens')
      .addColumn('parent_id', 'text', (c) => c.references('api_tokens.id').onDelete('cascade'))
      .execute();
    await db.schema.createIndex('api_tokens_parent_id').on('api_tokens').column('parent_id').execute();
  },
};
