import { sql, type Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { OpenDb } from '../storage/db.js';
import { GENESIS_HASH, eventHash, type AuditEvent } from './chain.js';

/** Tables owned by the audit domain (created by migration 0005_keys_audit). */
export type AuditTables = {
  audit_events: {
    seq: number;
    time: string;
    actor: string;
    actor_name: string | null;
    action: string;
    target: string;
    outcome: string;
    /** The details as JCS text. */
    details: string;
    prev_hash: string;
    hash: string;
  };
  audit_anchors: {
    seq: number;
    head_hash: string;
    log_index: number;
    uuid: string;
    created_at: string;
  };
};

type AuditDb = Kysely<Database & AuditTables>;
type EventRow = AuditTables['audit_events'];

/** What a writer hands in; seq, time and the hashes are assigned under the write lock. */
export interface NewEvent {
  actor: string;
  actor_name: string | null;
  action: string;
  target: string;
  outcome: string;
  /** Canonical (JCS) JSON text of the details object. */
  detailsJcs: string;
}

/** An arbitrary constant naming the audit chain's PostgreSQL advisory lock. */
const PG_LOCK_ID = 0x5349474e; // "SIGN"

function chain(head: { seq: number; hash: string } | undefined, events: NewEvent[]): EventRow[] {
  let seq = Number(head?.seq ?? 0);
  let prev = head?.hash ?? GENESIS_HASH;
  const time = new Date().toISOString();
  return events.map((e) => {
    seq += 1;
    const base = { seq, time, actor: e.actor, actor_name: e.actor_name, action: e.action, target: e.target, outcome: e.outcome, prev_hash: prev };
    const hash = eventHash({ ...base, details: JSON.parse(e.detailsJcs) as Record<string, unknown> });
    prev = hash;
    return { ...base, details: e.detailsJcs, hash };
  });
}

export function toEvent(r: EventRow): AuditEvent {
  return {
    seq: Number(r.seq),
    time: r.time,
    actor: r.actor,
    actor_name: r.actor_name,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prev_hash: r.prev_hash,
    hash: r.hash,
  };
}

const isUniqueViolation = (e: unknown): boolean => {
  const x = e as { code?: string; message?: string };
  return x.code === '23505' || /UNIQUE constraint failed|SQLITE_CONSTRAINT/.test(`${x.code ?? ''} ${x.message ?? ''}`);
};
const isBusy = (e: unknown): boolean => /SQLITE_BUSY/.test(`${(e as { code?: string }).code ?? ''}`);
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Appends batches of events to the chain. Sequencing is safe with any number of writers on one database:
 * SQLite takes the database write lock first (BEGIN IMMEDIATE) and PostgreSQL a transaction-scoped advisory
 * lock, then reads the head, assigns seq = head + 1… and inserts; `seq` is the primary key, so a writer that
 * somehow raced would fail and retry rather than fork the chain.
 */
export class AuditStore {
  readonly db: AuditDb;
  private readonly appendSqlite?: (events: NewEvent[]) => EventRow[];

  constructor(private readonly database: OpenDb) {
    this.db = database.db.withTables<AuditTables>();
    const s = database.sqlite;
    if (s) {
      const head = s.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
      const ins = s.prepare(
        'INSERT INTO audit_events (seq, time, actor, actor_name, action, target, outcome, details, prev_hash, hash) VALUES (@seq, @time, @actor, @actor_name, @action, @target, @outcome, @details, @prev_hash, @hash)',
      );
      const tx = s.transaction((events: NewEvent[]) => {
        const rows = chain(head.get() as { seq: number; hash: string } | undefined, events);
        for (const r of rows) ins.run(r);
        return rows;
      });
      this.appendSqlite = (events) => tx.immediate(events);
    }
  }

  async append(events: NewEvent[]): Promise<AuditEvent[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.appendSqlite) {
          // better-sqlite3 shares its one connection with Kysely: never open a transaction inside another's.
          while (this.database.sqlite?.inTransaction) await pause(1);
          return this.appendSqlite(events).map(toEvent);
        }
        const rows = await this.db.transaction().execute(async (tx) => {
          await sql`SELECT pg_advisory_xact_lock(${PG_LOCK_ID})`.execute(tx);
          const head = await tx.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
          const rows = chain(head, events);
          for (let i = 0; i < rows.length; i += 200) await tx.insertInto('audit_events').values(rows.slice(i, i + 200)).execute();
          return rows;
        });
        return rows.map(toEvent);
      } catch (e) {
        if (attempt < 20 && (isUniqueViolation(e) || isBusy(e))) {
          await pause(5 + Math.random() * 20 * (attempt + 1));
          continue;
        }
        throw e;
      }
    }
  }

  async head(): Promise<{ seq: number; hash: string } | undefined> {
    const r = await this.db.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return r && { seq: Number(r.seq), hash: r.hash };
  }

  async list(q: { actor?: string; actions?: string[]; targetPrefix?: string; since?: string; until?: string; afterSeq?: number; limit: number }): Promise<AuditEvent[]> {
    let s = this.db.selectFrom('audit_events').selectAll();
    if (q.actor !== undefined) s = s.where((eb) => eb.or([eb('actor', '=', q.actor as string), eb('actor_name', '=', q.actor as string)]));
    if (q.actions && q.actions.length > 0) s = s.where('action', 'in', q.actions);
    if (q.targetPrefix !== undefined) s = s.where(sql<string>`substr(target, 1, ${q.targetPrefix.length})`, '=', q.targetPrefix);
    if (q.since !== undefined) s = s.where('time', '>=', q.since);
    if (q.until !== undefined) s = s.where('time', '<', q.until);
    if (q.afterSeq !== undefined) s = s.where('seq', '>', q.afterSeq);
    const rows = await s.orderBy('seq').limit(q.limit).execute();
    return rows.map(toEvent);
  }

  async lastAnchor(): Promise<AuditTables['audit_anchors'] | undefined> {
    const r = await this.db.selectFrom('audit_anchors').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return r && { ...r, seq: Number(r.seq), log_index: Number(r.log_index) };
  }

  async anchors(afterSeq: number, limit: number): Promise<AuditTables['audit_anchors'][]> {
    const rows = await this.db.selectFrom('audit_anchors').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq), log_index: Number(r.log_index) }));
  }

  /** Records an anchor; false when another server anchored the same seq first. */
  async addAnchor(a: AuditTables['audit_anchors']): Promise<boolean> {
    const r = await this.db.insertInto('audit_anchors').values(a).onConflict((oc) => oc.column('seq').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  }
}
