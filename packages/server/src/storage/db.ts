import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations.js';

export type Db = Kysely<Database>;
export type DbKind = 'sqlite' | 'postgres';

export interface OpenDb {
  db: Db;
  kind: DbKind;
  /** The underlying SQLite handle, for hot paths that use prepared statements directly. */
  sqlite?: SQLite.Database;
  close(): Promise<void>;
}

/**
 * Opens the database named by the URL and brings its schema up to date. SQLite runs in WAL mode with
 * synchronous=FULL, so a committed transaction is on disk before the server acknowledges anything.
 */
export async function openDatabase(url: string): Promise<OpenDb> {
  let db: Db;
  let kind: DbKind;
  let handle: SQLite.Database | undefined;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SQLite(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    kind = 'sqlite';
    handle = sqlite;
  } else {
    // BIGINT comes back as a string by default; every BIGINT Signet stores fits in 2^53.
    pg.types.setTypeParser(20, (v: string) => Number(v));
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection dropped by the server (restart, failover) must not crash the process; the
    // pool replaces it and the next query reports any lasting failure.
    pool.on('error', () => undefined);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    kind = 'postgres';
  }
  const migrator = new Migrator({ db, provider: migrationProvider(kind) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
  return { db, kind, ...(handle ? { sqlite: handle } : {}), close: () => db.destroy() };
}
