import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DbKind } from './db.js';

/**
 * Schema migrations, in order. Each runs once, recorded by Kysely's migrator; they are written to run
 * unchanged on SQLite and PostgreSQL.
 */
const migrations = (kind: DbKind): Record<string, Migration> => ({
  '0001_identity_and_secrets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('repositories', 'text')
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('bootstrap', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_tlog': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tlog_entries')
        .addColumn('idx', 'bigint', (c) => c.primaryKey())
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('api_version', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('integrated_time', 'bigint', (c) => c.notNull())
        .addColumn('set_sig', 'text', (c) => c.notNull())
        .execute();
      // An auto-numbered id: SQLite's INTEGER PRIMARY KEY is its rowid alias; PostgreSQL uses an identity column.
      await db.schema
        .createTable('tlog_index')
        .addColumn('id', kind === 'postgres' ? 'bigint' : 'integer', (c) => (kind === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tlog_index_key').on('tlog_index').columns(['key', 'idx']).execute();
      await db.schema
        .createTable('tlog_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('root_hash', 'text', (c) => c.notNull())
        .addColumn('checkpoint', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tlog_tiles')
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .addColumn('width', 'integer', (c) => c.notNull())
        .addColumn('data', kind === 'postgres' ? sql`bytea` : 'blob', (c) => c.notNull())
        .addPrimaryKeyConstraint('tlog_tiles_pk', ['level', 'idx'])
        .execute();
    },
  },
  // The published TUF repository of trust/ (types in trust/store.ts).
  '0003_trust': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('trust_tuf_files')
        .addColumn('path', 'text', (c) => c.primaryKey())
        .addColumn('data', kind === 'postgres' ? sql`bytea` : 'blob', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('trust_tuf_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('root_version', 'integer', (c) => c.notNull())
        .addColumn('timestamp_version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
});

export function migrationProvider(kind: DbKind): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(kind)) };
}
