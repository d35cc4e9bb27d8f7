import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
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

/** WAL size at which the checkpointer copies the WAL into the database (SQLite's own default is 1,000 pages). */
const CHECKPOINT_BYTES = 4 * 1024 * 1024;

/**
 * Runs WAL checkpoints in a worker thread with its own connection; the server's connection has automatic
 * checkpoints turned off, so a commit never stalls the event loop copying pages and fsyncing the database.
 */
function startCheckpointer(path: string, onFailure: () => void): { stop(): Promise<void> } {
  const worker = new Worker(new URL('./checkpointer.js', import.meta.url), { workerData: { path, thresholdBytes: CHECKPOINT_BYTES, intervalMs: 100 } });
  worker.unref();
  let stopping = false;
  // Should the worker ever die, the server's connection checkpoints again by itself rather than let the WAL grow.
  worker.on('error', () => undefined);
  worker.on('exit', () => {
    if (!stopping) onFailure();
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timeout);
          resolve();
        };
        const timeout = setTimeout(() => void worker.terminate().then(done, done), 5000);
        worker.once('exit', done);
        worker.once('message', (m: { stopped?: boolean }) => {
          if (m.stopped) void worker.terminate().then(done, done);
        });
        stopping = true;
        worker.postMessage({ stop: true });
      }),
  };
}

/**
 * Opens the database named by the URL and brings its schema up to date. SQLite runs in WAL mode with
 * synchronous=FULL, so a committed transaction is on disk before the server acknowledges anything; WAL
 * checkpoints run in a worker thread (startCheckpointer).
 */
export async function openDatabase(url: string): Promise<OpenDb> {
  let db: Db;
  let kind: DbKind;
  let handle: SQLite.Database | undefined;
  let walPath: string | undefined;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SQLite(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    if (path !== ':memory:' && String(sqlite.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal') {
      sqlite.pragma('wal_autocheckpoint = 0');
      // After a checkpoint lets the WAL start over, truncate a WAL that grew past this.
      sqlite.pragma(`journal_size_limit = ${8 * CHECKPOINT_BYTES}`);
      walPath = path;
    }
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
  const checkpointer = walPath === undefined || !handle ? undefined : startCheckpointer(walPath, () => handle.pragma('wal_autocheckpoint = 1000'));
  return {
    db,
    kind,
    ...(handle ? { sqlite: handle } : {}),
    close: async () => {
      // The checkpointer goes first: the last connection to close checkpoints and removes the WAL.
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}
