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
  // registry/: OCI distribution metadata (types in storage/schema.ts). Names and tags compare byte-wise on
  // both databases (PostgreSQL's "C" collation), so tag lists and the catalog come out in lexical order.
  '0004_registry': {
    async up(db: Kysely<unknown>) {
      const bytewise = kind === 'postgres' ? sql`collate "C"` : sql`collate binary`;
      await db.schema
        .createTable('repositories')
        .addColumn('name', 'text', (c) => c.primaryKey().modifyFront(bytewise))
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('oci'))
        .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('private'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('registry_blobs')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('registry_repository_blobs')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_repository_blobs_pk', ['repo', 'digest'])
        .execute();
      await db.schema.createIndex('registry_repository_blobs_digest').on('registry_repository_blobs').column('digest').execute();
      await db.schema
        .createTable('registry_manifests')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('artifact_type', 'text')
        .addColumn('subject_digest', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('annotations', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_manifests_pk', ['repo', 'digest'])
        .execute();
      await db.schema.createIndex('registry_manifests_subject').on('registry_manifests').columns(['repo', 'subject_digest']).execute();
      await db.schema.createIndex('registry_manifests_digest').on('registry_manifests').column('digest').execute();
      await db.schema
        .createTable('registry_manifest_refs')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_manifest_refs_pk', ['repo', 'manifest_digest', 'digest'])
        .execute();
      await db.schema.createIndex('registry_manifest_refs_digest').on('registry_manifest_refs').column('digest').execute();
      await db.schema
        .createTable('registry_tags')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull().modifyFront(bytewise))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_tags_pk', ['repo', 'tag'])
        .execute();
      await db.schema.createIndex('registry_tags_digest').on('registry_tags').columns(['repo', 'digest']).execute();
      await db.schema
        .createTable('registry_uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('offset', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // Signing keys (types in keys/service.ts) and the hash-chained audit log with its anchors (audit/store.ts).
  '0005_keys_audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('signing_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('repositories', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('subkeys', 'text')
        .addColumn('custody', 'text', (c) => c.notNull())
        .addColumn('secret_name', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('not_before', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revocation_reason', 'text')
        .addColumn('deleted_at', 'text')
        .addColumn('rotated_from', 'text')
        .addColumn('rotated_to', 'text')
        .execute();
      // One live (not deleted) key per fingerprint; a revoked key cannot be imported again under a new id.
      await db.schema.createIndex('signing_keys_live_fingerprint').on('signing_keys').column('fingerprint').unique().where(sql.ref('deleted_at'), 'is', null).execute();
      await db.schema
        .createTable('audit_events')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('actor_name', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'seq']).execute();
      await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'seq']).execute();
      await db.schema.createIndex('audit_events_time').on('audit_events').column('time').execute();
      await db.schema
        .createTable('audit_anchors')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('head_hash', 'text', (c) => c.notNull())
        .addColumn('log_index', 'bigint', (c) => c.notNull())
        .addColumn('uuid', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0006_artifacts': {
    async up(db: Kysely<unknown>) {
      // artifacts/: what the server concluded about each signature or attestation layer it received.
      await db.schema
        .createTable('artifact_signatures')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('subject_digest', 'text', (c) => c.notNull())
        .addColumn('source_digest', 'text', (c) => c.notNull())
        .addColumn('layer_index', 'integer', (c) => c.notNull())
        .addColumn('layer_digest', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('predicate_type', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('signer_type', 'text')
        .addColumn('key_fingerprint', 'text')
        .addColumn('key_id', 'text')
        .addColumn('identity', 'text')
        .addColumn('issuer', 'text')
        .addColumn('log_index', 'bigint')
        .addColumn('signed_at', 'text')
        .addColumn('checks', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('artifact_signatures_source', ['repo', 'source_digest', 'layer_index'])
        .execute();
      await db.schema.createIndex('artifact_signatures_subject').on('artifact_signatures').columns(['repo', 'subject_digest']).execute();
    },
  },
  '0007_policy': {
    async up(db: Kysely<unknown>) {
      // policy/: signing policies per repository glob.
      await db.schema
        .createTable('signing_policies')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('repositories', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // registry/ generic file repositories (types in storage/schema.ts): each file's path → content digest (the bytes
  // are in the registry's blob store), and what each detached signature beside a file was verified to be.
  '0008_generic': {
    async up(db: Kysely<unknown>) {
      const bytewise = kind === 'postgres' ? sql`collate "C"` : sql`collate binary`;
      await db.schema.alterTable('repositories').addColumn('description', 'text').execute();
      await db.schema
        .createTable('generic_files')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull().modifyFront(bytewise))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('uploaded_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('generic_files_pk', ['repo', 'path'])
        .execute();
      await db.schema.createIndex('generic_files_digest').on('generic_files').column('digest').execute();
      await db.schema
        .createTable('generic_signatures')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('signature_path', 'text', (c) => c.notNull())
        .addColumn('file_digest', 'text', (c) => c.notNull())
        .addColumn('signature_digest', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('key_fingerprint', 'text')
        .addColumn('identity', 'text')
        .addColumn('signed_at', 'text')
        .addColumn('checks', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('generic_signatures_pk', ['repo', 'path', 'signature_path'])
        .execute();
    },
  },
  // identity/: per-repository role grants (types in storage/schema.ts, SQL in identity/grants.ts). A grant is a token's
  // role on one repository; deleting the repository (or the token row) deletes its grants by the foreign keys'
  // ON DELETE CASCADE (SQLite runs with foreign_keys = ON). A later migration that rebuilds `repositories` or
  // `api_tokens` on SQLite (copy, drop, rename) would cascade too: it must carry the grants over.
  '0009_repository_grants': {
    async up(db: Kysely<unknown>) {
      const bytewise = kind === 'postgres' ? sql`collate "C"` : sql`collate binary`;
      await db.schema
        .createTable('repository_grants')
        .addColumn('repo', 'text', (c) => c.notNull().modifyFront(bytewise))
        .addColumn('token_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('repository_grants_pk', ['repo', 'token_id'])
        .addForeignKeyConstraint('repository_grants_repo_fk', ['repo'], 'repositories', ['name'], (fk) => fk.onDelete('cascade'))
        .addForeignKeyConstraint('repository_grants_token_fk', ['token_id'], 'api_tokens', ['id'], (fk) => fk.onDelete('cascade'))
        .execute();
      // A token's grants are loaded with it on every authentication.
      await db.schema.createIndex('repository_grants_token').on('repository_grants').column('token_id').execute();
    },
  },
});

export function migrationProvider(kind: DbKind): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(kind)) };
}
