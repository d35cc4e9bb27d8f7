import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import {
  MemoryTree,
  ecdsaNoteSigner,
  encodeEntryBundle,
  formatCheckpoint,
  fromHex,
  generateKeyPair,
  leafHash,
  pkcs8Der,
  privateKeyFromPkcs8,
  readTile,
  signNote,
  tileWidth,
  TILE_WIDTH,
  spkiDer,
  tilesToWrite,
  toBase64,
  toHex,
  verifyInclusions,
  type NoteSigner,
} from '@signet/core';
import type { OpenDb } from '../storage/db.js';
import type { SecretStore } from '../storage/secrets.js';
import type { ServerConfig } from '../config/index.js';
import type { CanonicalEntry } from './entries.js';
import { logStore, type LogStore } from './store.js';
import { signEntryTimestamps } from './set-signer.js';
import { TlogError } from './errors.js';

/** Tiles table level used for C2SP entry bundles (tile/entries/N). */
export const ENTRIES_LEVEL = -1;

export interface InclusionProofJson {
  logIndex: number;
  rootHash: string;
  treeSize: number;
  hashes: string[];
  checkpoint: string;
}

/** A Rekor v1 LogEntry value (the map's key is the entry ID). */
export interface LogEntryJson {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: { signedEntryTimestamp: string; inclusionProof: InclusionProofJson };
}

interface StoredEntry {
  idx: number;
  uuid: string;
  body: string;
  integratedTime: number;
  set: string;
}

interface Pending {
  entry: CanonicalEntry;
  uuid: string;
  resolve: (e: { entryId: string; entry: LogEntryJson }) => void;
  reject: (e: unknown) => void;
}

/**
 * The transparency log: an RFC 6962 tree over canonical entry bodies. Writers are sequenced and integrated
 * together in batches (group commit): one database transaction stores the entries, their search keys, the
 * changed C2SP tiles and the newly signed checkpoint, so an acknowledged entry is always durable and
 * integrated. The tree's hashes are kept in memory (rebuilt from the stored leaf hashes at start) so
 * proofs cost microseconds; every inclusion proof is checked against the signed checkpoint before it is
 * returned.
 */
export class TransparencyLog {
  readonly logId: string;
  readonly treeId: string;
  readonly origin: string;
  readonly keyName: string;
  readonly publicKey: KeyObject;
  private tree = new MemoryTree();
  private checkpointText = '';
  /** The root hash at the committed size (every proof served in between is checked against it). */
  private committedRoot: Uint8Array = new Uint8Array(0);
  /** Bodies of the entries in the right-most (partial) entry bundle. */
  private edgeBodies: Uint8Array[] = [];
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Settles when every committed batch is durable and acknowledged (or refused). */
  private published: Promise<void> = Promise.resolve();
  private running = false;
  private committed = 0;
  private closed = false;
  private readonly noteSigner: NoteSigner;
  private readonly store: LogStore;

  private constructor(
    private readonly database: OpenDb,
    private readonly privateKey: KeyObject,
    private readonly config: ServerConfig,
    private readonly log: FastifyBaseLogger,
  ) {
    this.publicKey = createPublicKey(privateKey);
    const id = createHash('sha256').update(spkiDer(this.publicKey)).digest();
    this.logId = id.toString('hex');
    // Rekor's tree ID is a positive int64; derive a stable one from the log ID.
    this.treeId = (id.readBigUInt64BE(0) & 0x7fffffffffffffffn).toString();
    this.keyName = new URL(config.baseUrl).host;
    this.origin = `${this.keyName} - ${this.treeId}`;
    this.store = logStore(database);
    // Checkpoints are signed synchronously, as the batch's SETs are (set-signer.ts): no threadpool round trip.
    this.noteSigner = ecdsaNoteSigner(this.keyName, privateKey, { sync: true });
  }

  /** Opens the log: loads (or makes, at first start) the log key, rebuilds the tree and checks it against the stored checkpoint. */
  static async open(database: OpenDb, secrets: SecretStore, config: ServerConfig, log: FastifyBaseLogger): Promise<TransparencyLog> {
    let der = await secrets.get('tlog/log-key');
    if (!der) der = await secrets.putIfAbsent('tlog/log-key', pkcs8Der((await generateKeyPair('ecdsa-p256')).privateKey));
    const t = new TransparencyLog(database, privateKeyFromPkcs8(der), config, log);
    await t.load();
    return t;
  }

  /**
   * The committed tree size. The in-memory tree runs ahead while a batch is being committed; readers only
   * ever see what is durable and covered by the signed checkpoint.
   */
  get size(): number {
    return this.committed;
  }

  get checkpoint(): string {
    return this.checkpointText;
  }

  get pending(): number {
    return this.queue.length;
  }

  rootHash(size = this.committed): Uint8Array {
    return size === this.committed ? this.committedRoot.slice() : this.tree.root(size);
  }

  entryId(uuid: string): string {
    return `${BigInt(this.treeId).toString(16).padStart(16, '0')}${uuid}`;
  }

  private async load(): Promise<void> {
    const db = this.database.db;
    this.tree = new MemoryTree();
    this.edgeBodies = [];
    const state = await db.selectFrom('tlog_state').selectAll().where('id', '=', 1).executeTakeFirst();
    const size = Number(state?.size ?? 0);
    const rows = await db.selectFrom('tlog_entries').select(['idx', 'uuid']).orderBy('idx').execute();
    for (const [i, r] of rows.entries()) {
      if (Number(r.idx) !== i) throw new Error(`transparency log storage is corrupt: entry ${i} is missing`);
      this.tree.append(fromHex(r.uuid));
    }
    if (this.tree.size !== size) throw new Error(`transparency log storage is corrupt: ${this.tree.size} entries but a checkpoint of size ${size}`);
    if (state && state.root_hash !== toHex(this.tree.root())) throw new Error('transparency log storage is corrupt: the entries do not hash to the stored root');
    const edgeStart = size - (size % 256);
    if (edgeStart < size) {
      const edge = await db.selectFrom('tlog_entries').select('body').where('idx', '>=', edgeStart).orderBy('idx').execute();
      this.edgeBodies = edge.map((e) => Buffer.from(e.body, 'base64'));
    }
    this.committed = size;
    this.committedRoot = this.tree.root(size);
    this.checkpointText = state?.checkpoint ?? (await this.signCheckpoint(0));
    if (!state) {
      await db.insertInto('tlog_state').values({ id: 1, size: 0, root_hash: toHex(this.tree.root()), checkpoint: this.checkpointText, updated_at: new Date().toISOString() }).onConflict((oc) => oc.column('id').doNothing()).execute();
    }
  }

  private signCheckpoint(size: number, rootHash = this.tree.root(size)): Promise<string> {
    return signNote(formatCheckpoint({ origin: this.origin, size, rootHash }), [this.noteSigner]);
  }

  /**
   * Sequences and integrates an entry; resolves once it is durable and in a signed checkpoint, with its
   * inclusion proof. A duplicate is a TlogError ENTRY_EXISTS whose Location names the existing entry.
   */
  async add(entry: CanonicalEntry): Promise<{ entryId: string; entry: LogEntryJson }> {
    if (this.closed) throw new TlogError('OVERLOADED', 'the log is shutting down', { headers: { 'Retry-After': '5' } });
    if (this.queue.length >= this.config.tlog.maxPending) {
      throw new TlogError('OVERLOADED', `the log has ${this.queue.length} entries waiting to be integrated; retry shortly`, { headers: { 'Retry-After': '1' } });
    }
    const uuid = toHex(leafHash(entry.body));
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, uuid, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Group commit without artificial waits: when the integrator is idle, the first entry of a burst starts
   * it after `batchMaxAgeMs` (a short linger so concurrent arrivals share the batch); while a batch is being
   * committed, new entries queue and go out in the next batch as soon as the commit returns.
   */
  private schedule(): void {
    if (this.running) return;
    this.running = true;
    const start = (): void => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.drain());
    };
    if (this.config.tlog.batchMaxAgeMs === 0) setImmediate(start);
    else this.timer = setTimeout(start, this.config.tlog.batchMaxAgeMs);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.config.tlog.batchSize);
        try {
          await this.integrate(batch);
        } catch (e) {
          this.log.error({ err: e }, 'integration failed; reloading the tree from storage');
          for (const p of batch) p.reject(e);
          // Batches already committed are acknowledged (or refused) first, so the reload sees settled state.
          await this.published;
          await this.load();
        }
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Sequences a batch, signs its entry timestamps and the new checkpoint, and commits it. The commit is made
   * durable (WAL fsync on SQLite) in the background while the next batch is prepared: the batch is
   * published (the checkpoint, the committed size) and acknowledged only once durable, in commit order.
   */
  private async integrate(batch: Pending[]): Promise<void> {
    // Duplicates: within the batch, and against what is stored.
    const seen = new Map<string, Pending>();
    const fresh: Pending[] = [];
    const dupes: { p: Pending; uuid: string }[] = [];
    for (const p of batch) {
      if (seen.has(p.uuid)) dupes.push({ p, uuid: p.uuid });
      else {
        seen.set(p.uuid, p);
        fresh.push(p);
      }
    }
    const stored = await this.store.existing(fresh.map((p) => p.uuid));
    const accepted = fresh.filter((p) => {
      if (!stored.has(p.uuid)) return true;
      dupes.push({ p, uuid: p.uuid });
      return false;
    });

    const oldSize = this.tree.size;
    const edgeBase = oldSize - (oldSize % 256);
    const integratedTime = Math.floor(Date.now() / 1000);
    const rows: StoredEntry[] = [];
    let publish = (): void => undefined;
    let durable: Promise<void> = Promise.resolve();
    if (accepted.length > 0) {
      for (const p of accepted) {
        const idx = this.tree.append(fromHex(p.uuid));
        rows.push({ idx, uuid: p.uuid, body: toBase64(p.entry.body), integratedTime, set: '' });
        this.edgeBodies.push(p.entry.body);
      }
      const newSize = this.tree.size;
      const newRoot = this.tree.root(newSize);
      // Signed entry timestamps and the checkpoint, signed here on the event loop (set-signer.ts says why).
      const sets = signEntryTimestamps(this.privateKey, this.logId, integratedTime, rows);
      const checkpoint = await this.signCheckpoint(newSize, newRoot);
      for (const [i, r] of rows.entries()) r.set = sets[i] as string;
      // Only full tiles are stored (they are immutable); the partial right edges are derived on read from the
      // tree in memory and the stored entries, so a batch no longer rewrites a growing partial entry bundle.
      const tileRows: { level: number; idx: number; width: number; data: Uint8Array }[] = [];
      for (const t of tilesToWrite(oldSize, newSize)) {
        if (t.width !== TILE_WIDTH) continue;
        tileRows.push({ level: t.level, idx: t.index, width: t.width, data: await readTile(this.tree, t.level, t.index, t.width) });
        if (t.level === 0) {
          // The entry bundle with the same index holds those entries' bodies.
          const from = t.index * TILE_WIDTH - edgeBase;
          tileRows.push({ level: ENTRIES_LEVEL, idx: t.index, width: t.width, data: encodeEntryBundle(this.edgeBodies.slice(from, from + t.width)) });
        }
      }
      await this.store.commit({
        entries: rows.map((r, i) => ({
          idx: r.idx,
          uuid: r.uuid,
          kind: (accepted[i] as Pending).entry.kind,
          api_version: (accepted[i] as Pending).entry.apiVersion,
          body: r.body,
          integrated_time: r.integratedTime,
          set_sig: r.set,
        })),
        indexKeys: accepted.flatMap((p, i) => p.entry.indexKeys.map((key) => ({ key, idx: oldSize + i }))),
        tiles: tileRows,
        state: { size: newSize, root_hash: toHex(newRoot), checkpoint },
      });
      this.edgeBodies = this.edgeBodies.slice(this.edgeBodies.length - (newSize % 256));
      durable = this.store.flush();
      publish = () => {
        this.checkpointText = checkpoint;
        this.committed = newSize;
        this.committedRoot = newRoot;
      };
    }
    const acknowledge = (): void => {
      publish();
      let json: (LogEntryJson | Error)[];
      try {
        json = this.toJsonMany(rows);
      } catch (e) {
        json = rows.map(() => (e instanceof Error ? e : new Error(String(e))));
      }
      for (const [i, p] of accepted.entries()) {
        const j = json[i] as LogEntryJson | Error;
        if (j instanceof Error) p.reject(j);
        else p.resolve({ entryId: this.entryId(p.uuid), entry: j });
      }
      for (const { p, uuid } of dupes) {
        p.reject(new TlogError('ENTRY_EXISTS', `an equivalent entry already exists in the log with UUID ${uuid}`, { headers: { Location: `/api/v1/log/entries/${this.entryId(uuid)}` } }));
      }
    };
    const refuse = (e: unknown): void => {
      // Not known to be durable: refused (a client's retry finds the entry if a later sync made it durable).
      this.log.error({ err: e }, 'could not make a committed batch durable');
      for (const p of accepted) p.reject(e);
      for (const { p } of dupes) p.reject(e);
    };
    // In commit order: a later batch's checkpoint covers this one's entries.
    const previous = this.published;
    this.published = previous.then(() => durable).then(acknowledge, refuse);
  }

  /**
   * Entries with inclusion proofs against the current checkpoint. Every proof is verified against the
   * checkpoint's root before it is returned (a failure is that entry's Error); the proofs of one batch share
   * their upper hashes, which are computed, verified and hex-encoded once (verifyInclusions).
   */
  private toJsonMany(rows: StoredEntry[]): (LogEntryJson | Error)[] {
    if (rows.length === 0) return [];
    const size = this.committed;
    const root = this.committedRoot;
    const proofs = this.tree.inclusionProofs(
      rows.map((r) => r.idx),
      size,
    );
    const ok = verifyInclusions(
      size,
      root,
      rows.map((r, i) => ({ leafIndex: r.idx, leafHash: fromHex(r.uuid), proof: proofs[i] as Uint8Array[] })),
    );
    const rootHash = toHex(root);
    const hex = new Map<Uint8Array, string>();
    const toHexOnce = (h: Uint8Array): string => {
      let v = hex.get(h);
      if (v === undefined) {
        v = toHex(h);
        hex.set(h, v);
      }
      return v;
    };
    return rows.map((r, i) => {
      if (!ok[i]) return new Error(`inclusion proof for entry ${r.idx} does not verify against the root of size ${size}`);
      return {
        body: r.body,
        integratedTime: r.integratedTime,
        logID: this.logId,
        logIndex: r.idx,
        verification: {
          signedEntryTimestamp: r.set,
          inclusionProof: { logIndex: r.idx, rootHash, treeSize: size, hashes: (proofs[i] as Uint8Array[]).map(toHexOnce), checkpoint: this.checkpointText },
        },
      };
    });
  }

  private toJson(r: StoredEntry): LogEntryJson {
    const [j] = this.toJsonMany([r]);
    if (j instanceof Error) throw j;
    return j as LogEntryJson;
  }

  private async stored(where: { idx?: number; uuid?: string }): Promise<StoredEntry | undefined> {
    let q = this.database.db.selectFrom('tlog_entries').select(['idx', 'uuid', 'body', 'integrated_time', 'set_sig']);
    if (where.idx !== undefined) q = q.where('idx', '=', where.idx);
    if (where.uuid !== undefined) q = q.where('uuid', '=', where.uuid);
    const r = await q.executeTakeFirst();
    if (!r || Number(r.idx) >= this.committed) return undefined;
    return { idx: Number(r.idx), uuid: r.uuid, body: r.body, integratedTime: Number(r.integrated_time), set: r.set_sig };
  }

  async getByIndex(idx: number): Promise<{ entryId: string; entry: LogEntryJson } | undefined> {
    const r = await this.stored({ idx });
    return r && { entryId: this.entryId(r.uuid), entry: this.toJson(r) };
  }

  /** Looks an entry up by its 64-hex UUID or 80-hex entry ID (tree ID + UUID). */
  async getByUuid(id: string): Promise<{ entryId: string; entry: LogEntryJson } | undefined> {
    const uuid = id.length === 80 ? id.slice(16) : id;
    if (id.length === 80 && id.slice(0, 16) !== this.entryId('').slice(0, 16)) return undefined;
    const r = await this.stored({ uuid });
    return r && { entryId: this.entryId(r.uuid), entry: this.toJson(r) };
  }

  async search(keys: string[], operator: 'and' | 'or'): Promise<string[]> {
    if (keys.length === 0) return [];
    const sets: Set<number>[] = [];
    for (const key of keys) {
      const rows = await this.database.db.selectFrom('tlog_index').select('idx').where('key', '=', key).limit(10_000).execute();
      sets.push(new Set(rows.map((r) => Number(r.idx)).filter((i) => i < this.committed)));
    }
    let result = sets[0] as Set<number>;
    for (const s of sets.slice(1)) result = operator === 'and' ? new Set([...result].filter((i) => s.has(i))) : new Set([...result, ...s]);
    const idxs = [...result].sort((a, b) => a - b);
    if (idxs.length === 0) return [];
    const rows = await this.database.db.selectFrom('tlog_entries').select(['idx', 'uuid']).where('idx', 'in', idxs.slice(0, 10_000)).orderBy('idx').execute();
    return rows.map((r) => r.uuid);
  }

  consistencyProof(first: number, last: number): Uint8Array[] {
    return this.tree.consistencyProof(first, last);
  }

  /**
   * Tile (level, index) at `width` (C2SP tlog-tiles), as of the committed checkpoint: a full tile from
   * storage, a partial one from the tree in memory (hash tiles) or the stored entries (entry bundles).
   * Undefined when the committed tree does not have that tile at that width.
   */
  async tile(level: number, index: number, width: number): Promise<Uint8Array | undefined> {
    const size = this.committed;
    const available = level === ENTRIES_LEVEL ? Math.max(0, Math.min(TILE_WIDTH, size - index * TILE_WIDTH)) : tileWidth(size, level, index);
    if (width > available || width < 1) return undefined;
    if (width === TILE_WIDTH) {
      const r = await this.database.db.selectFrom('tlog_tiles').select(['width', 'data']).where('level', '=', level).where('idx', '=', index).executeTakeFirst();
      // Databases written before partial tiles stopped being stored may still hold partial rows.
      return r && r.width === TILE_WIDTH ? new Uint8Array(r.data) : undefined;
    }
    if (level !== ENTRIES_LEVEL) return readTile(this.tree, level, index, width);
    const first = index * TILE_WIDTH;
    const rows = await this.database.db.selectFrom('tlog_entries').select('body').where('idx', '>=', first).where('idx', '<', first + width).orderBy('idx').execute();
    if (rows.length !== width) return undefined;
    return encodeEntryBundle(rows.map((r) => Buffer.from(r.body, 'base64')));
  }

  /** Stops taking writes and waits until everything queued is integrated. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.drain());
    }
    await this.flushing;
    if (this.queue.length > 0) {
      this.flushing = this.flushing.then(() => this.drain());
      await this.flushing;
    }
    await this.published;
    await this.store.close();
  }

  publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  }
}
