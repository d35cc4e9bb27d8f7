import type { Kysely } from 'kysely';
import type { TufFiles } from '@signet/core';
import type { Database } from '../storage/schema.js';
import type { OpenDb } from '../storage/db.js';

/** Tables owned by the trust domain (created by migration 0003_trust). */
export type TrustTables = {
  /** Every file the TUF repository has published, by path below /tuf/. Versioned files never change. */
  trust_tuf_files: { path: string; data: Uint8Array; created_at: string };
  /** One row (id 1): the versions last committed; every change moves timestamp_version on (compare-and-set). */
  trust_tuf_state: { id: number; root_version: number; timestamp_version: number; updated_at: string };
};

type TrustDb = Kysely<Database & TrustTables>;

/** Paths rewritten in place; every other file is immutable once stored. */
export const MUTABLE_TUF_FILES: ReadonlySet<string> = new Set(['root.json', 'timestamp.json']);

export interface TufState {
  rootVersion: number;
  timestampVersion: number;
}

/** Another server committed first; the caller reloads and decides again. */
export class LostRace extends Error {}

const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? new Uint8Array(v) : new Uint8Array(Buffer.from(v as string)));

/** Storage of the published TUF repository, safe for several servers on one database. */
export class TufStore {
  private readonly db: TrustDb;

  constructor(database: OpenDb) {
    this.db = database.db.withTables<TrustTables>();
  }

  async state(): Promise<TufState | undefined> {
    const r = await this.db.selectFrom('trust_tuf_state').select(['root_version', 'timestamp_version']).where('id', '=', 1).executeTakeFirst();
    return r ? { rootVersion: Number(r.root_version), timestampVersion: Number(r.timestamp_version) } : undefined;
  }

  /**
   * Every stored file, read in one statement (so one consistent snapshot of the table, on both databases);
   * undefined when nothing was ever published. The state they belong to is in their own root.json and
   * timestamp.json.
   */
  async load(): Promise<TufFiles | undefined> {
    const rows = await this.db.selectFrom('trust_tuf_files').select(['path', 'data']).execute();
    if (rows.length === 0) return undefined;
    const files: TufFiles = {};
    for (const row of rows) files[row.path] = bytes(row.data);
    return files;
  }

  async file(path: string): Promise<Uint8Array | undefined> {
    const r = await this.db.selectFrom('trust_tuf_files').select('data').where('path', '=', path).executeTakeFirst();
    return r ? bytes(r.data) : undefined;
  }

  /**
   * Commits a new state and its files if the stored state is still `expected` (undefined: nothing stored
   * yet). The compare-and-set is the transaction's first statement, so it takes the write lock (SQLite) or
   * the row lock (PostgreSQL) before anything else; a server that loses the race gets LostRace and nothing
   * it wrote stays.
   */
  async commit(expected: TufState | undefined, next: TufState, files: TufFiles, now: Date): Promise<void> {
    const at = now.toISOString();
    try {
      await this.write(expected, next, files, at);
    } catch (e) {
      // Another process held SQLite's write lock past busy_timeout: it is changing the repository.
      if ((e as { code?: unknown }).code === 'SQLITE_BUSY') throw new LostRace('the database is busy with another writer');
      throw e;
    }
  }

  private async write(expected: TufState | undefined, next: TufState, files: TufFiles, at: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (expected === undefined) {
        const r = await trx
          .insertInto('trust_tuf_state')
          .values({ id: 1, root_version: next.rootVersion, timestamp_version: next.timestampVersion, updated_at: at })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0n) !== 1) throw new LostRace('another server created the TUF repository first');
      } else {
        const r = await trx
          .updateTable('trust_tuf_state')
          .set({ root_version: next.rootVersion, timestamp_version: next.timestampVersion, updated_at: at })
          .where('id', '=', 1)
          .where('timestamp_version', '=', expected.timestampVersion)
          .where('root_version', '=', expected.rootVersion)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw new LostRace('another server changed the TUF repository first');
      }
      for (const [path, data] of Object.entries(files)) {
        const q = trx.insertInto('trust_tuf_files').values({ path, data: Buffer.from(data), created_at: at });
        if (MUTABLE_TUF_FILES.has(path)) {
          await q.onConflict((oc) => oc.column('path').doUpdateSet((eb) => ({ data: eb.ref('excluded.data'), created_at: at }))).execute();
        } else {
          // Versioned files are immutable and content-addressed targets identical by name: keep what is stored.
          await q.onConflict((oc) => oc.column('path').doNothing()).execute();
        }
      }
    });
  }
}
