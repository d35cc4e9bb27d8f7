import { open, type FileHandle } from 'node:fs/promises';
import type { OpenDb } from '../storage/db.js';

export interface EntryRow {
  idx: number;
  uuid: string;
  kind: string;
  api_version: string;
  body: string;
  integrated_time: number;
  set_sig: string;
}

export interface TileRow {
  level: number;
  idx: number;
  width: number;
  data: Uint8Array;
}

/** What one integration batch writes, all in one transaction. */
export interface Batch {
  entries: EntryRow[];
  indexKeys: { key: string; idx: number }[];
  tiles: TileRow[];
  state: { size: number; root_hash: string; checkpoint: string };
}

/** The log's write path: duplicate lookup and the batch commit. */
export interface LogStore {
  existing(uuids: string[]): Promise<Set<string>>;
  /** Commits a batch; it may not be durable until the next flush() settles. */
  commit(b: Batch): Promise<void>;
  /** Makes every commit so far durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Portable store through Kysely (PostgreSQL, and SQLite when no raw handle is available). */
function kyselyStore(database: OpenDb): LogStore {
  const db = database.db;
  return {
    async existing(uuids) {
      if (uuids.length === 0) return new Set();
      return new Set((await db.selectFrom('tlog_entries').select('uuid').where('uuid', 'in', uuids).execute()).map((r) => r.uuid));
    },
    async commit(b) {
      await db.transaction().execute(async (tx) => {
        if (b.entries.length) await tx.insertInto('tlog_entries').values(b.entries).execute();
        for (let i = 0; i < b.indexKeys.length; i += 500) await tx.insertInto('tlog_index').values(b.indexKeys.slice(i, i + 500)).execute();
        for (const t of b.tiles) {
          await tx
            .insertInto('tlog_tiles')
            .values(t)
            .onConflict((oc) => oc.columns(['level', 'idx']).doUpdateSet({ width: t.width, data: t.data }))
            .execute();
        }
        await tx.updateTable('tlog_state').set({ ...b.state, updated_at: new Date().toISOString() }).where('id', '=', 1).execute();
      });
    },
    async flush() {},
    async close() {},
  };
}

/**
 * Makes what SQLite has written to its WAL durable without blocking the event loop. The log's batch is
 * committed with synchronous=NORMAL, which in WAL mode writes the frames (the commit frame last) but does
 * not fsync them (https://sqlite.org/pragma.html#pragma_synchronous); this then fdatasyncs the WAL file
 * on the libuv thread pool, and only after that is the batch acknowledged. Together that is what
 * synchronous=FULL does (fsync the WAL after each commit), with the wait moved off the main thread. A
 * checkpoint that moves the frames into the database first syncs both files itself, so frames
 * overwritten by a WAL restart before our sync are already durable in the database file.
 */
class WalSync {
  private file: Promise<FileHandle> | undefined;

  constructor(private readonly path: string) {}

  /**
   * Syncs may overlap (the next batch commits while the previous one syncs); each covers every frame written
   * before it. The WAL file keeps its identity while the server's connection is open (SQLite removes it only
   * when the last connection closes), so one handle serves for the server's life.
   */
  async sync(): Promise<void> {
    if (!this.file) {
      const f = open(this.path, 'r');
      this.file = f;
      f.catch(() => {
        if (this.file === f) this.file = undefined; // the next sync tries again
      });
    }
    await (await this.file).datasync();
  }

  async close(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    await f?.then((h) => h.close()).catch(() => undefined);
  }
}

/**
 * SQLite hot path: the same statements, prepared once and run in one better-sqlite3 transaction
 * (query building per batch was the log's largest main-thread cost). On a file database in WAL mode the
 * commit's fsync runs on the thread pool (WalSync) rather than inside the synchronous commit.
 */
function sqliteStore(database: OpenDb): LogStore {
  const s = database.sqlite!;
  const findUuid = s.prepare('SELECT 1 FROM tlog_entries WHERE uuid = ?').pluck();
  const insEntry = s.prepare(
    'INSERT INTO tlog_entries (idx, uuid, kind, api_version, body, integrated_time, set_sig) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insKey = s.prepare('INSERT INTO tlog_index (key, idx) VALUES (?, ?)');
  const upTile = s.prepare(
    'INSERT INTO tlog_tiles (level, idx, width, data) VALUES (@level, @idx, @width, @data) ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, data = excluded.data',
  );
  const upState = s.prepare('UPDATE tlog_state SET size = @size, root_hash = @root_hash, checkpoint = @checkpoint, updated_at = @updated_at WHERE id = 1');
  const tx = s.transaction((b: Batch) => {
    // Positional parameters: binding by name looks each one up on the row object.
    for (const e of b.entries) insEntry.run(e.idx, e.uuid, e.kind, e.api_version, e.body, e.integrated_time, e.set_sig);
    for (const k of b.indexKeys) insKey.run(k.key, k.idx);
    for (const t of b.tiles) upTile.run({ ...t, data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
    upState.run({ ...b.state, updated_at: new Date().toISOString() });
  });
  const wal = !s.memory && String(s.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal' ? new WalSync(`${s.name}-wal`) : undefined;
  const fullSync = Number(s.pragma('synchronous', { simple: true })) >= 2;

  return {
    async existing(uuids) {
      return new Set(uuids.filter((u) => findUuid.get(u) !== undefined));
    },
    async commit(b) {
      // Kysely transactions (registry, trust, keys) span awaits on this same connection: committing now would nest
      // the batch as a savepoint inside theirs, and their rollback would silently undo entries the log believes
      // durable. Wait until none is open; the check and the commit run in one tick, so nothing can slip between.
      while (s.inTransaction) await new Promise((r) => setTimeout(r, 1));
      if (!wal || !fullSync) {
        tx(b);
        return;
      }
      // exec, not pragma(): no statement object per call. (A prepared PRAGMA cannot be reused for this: SQLite
      // applies synchronous when the statement is compiled, not when it runs.)
      s.exec('PRAGMA synchronous = NORMAL');
      try {
        tx(b);
      } finally {
        s.exec('PRAGMA synchronous = FULL');
      }
    },
    async flush() {
      await wal?.sync();
    },
    async close() {
      await wal?.close();
    },
  };
}

export function logStore(database: OpenDb): LogStore {
  return database.sqlite ? sqliteStore(database) : kyselyStore(database);
}
