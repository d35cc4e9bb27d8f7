import { randomUUID, type KeyObject } from 'node:crypto';
import type { CompiledQuery, Kysely } from 'kysely';
import { generateKeyPair, pkcs8Der, privateKeyFromPkcs8, publicKeyPem, spkiDer, type TrustedKey, type Validity } from '@signet/core';
import type { Database } from '../storage/schema.js';
import type { OpenDb } from '../storage/db.js';
import type { SecretStore } from '../storage/secrets.js';
import type { Actor, AuditLog } from '../audit/index.js';
import { KeyError } from './errors.js';
import { MAX_REPOSITORIES, globMatches, globProblem, globsIntersect, repositoryProblem } from './globs.js';
import { KEY_TYPES, parseKeyMaterial, sha256Fingerprint, trustedKeyOf, type KeyType, type ParsedKey, type SubkeyInfo } from './material.js';

/** Tables owned by the keys domain (created by migration 0005_keys_audit). */
export type KeysTables = {
  signing_keys: {
    id: string;
    name: string;
    type: string;
    algorithm: string;
    fingerprint: string;
    /** The public key as submitted (or, for generated keys, its PEM). */
    public_key: string;
    /** JSON array of repository globs. */
    repositories: string;
    /** JSON object of string → string. */
    metadata: string;
    /** JSON array of SubkeyInfo (OpenPGP), or null. */
    subkeys: string | null;
    custody: string;
    /** SecretStore name of the sealed PKCS#8 private key (software custody), or null. */
    secret_name: string | null;
    created_at: string;
    /** A certificate's notBefore, or null. */
    not_before: string | null;
    expires_at: string | null;
    revoked_at: string | null;
    revocation_reason: string | null;
    /** Tombstone: the row stays so audit events and past verdicts still name the key. */
    deleted_at: string | null;
    rotated_from: string | null;
    rotated_to: string | null;
  };
};

type KeysDb = Kysely<Database & KeysTables>;
type Row = KeysTables['signing_keys'];

export const KEY_STATUSES = ['active', 'expired', 'revoked', 'rotated'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];
export const GENERATE_ALGORITHMS = ['ecdsa-p256', 'ed25519'] as const;
export type GenerateAlgorithm = (typeof GENERATE_ALGORITHMS)[number];
export type Custody = 'external' | 'software';

/** The key object of the API. */
export interface KeyInfo {
  id: string;
  name: string;
  type: KeyType;
  fingerprint: string;
  algorithm: string;
  repositories: string[];
  metadata: Record<string, string>;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  revocation_reason?: string;
  status: KeyStatus;
  custody: Custody;
  subkeys?: SubkeyInfo[];
  rotated_from?: string;
  rotated_to?: string;
}

/** A key as the verify API and the policy engine use it. */
export interface TrustedKeyRecord {
  id: string;
  info: KeyInfo;
  /** Core trust material, its `validity` set (revocation, expiry, a certificate's notBefore). */
  trust: TrustedKey;
  validity: Validity;
  /** Set when the key was deleted (only get() returns such keys). */
  deletedAt: string | null;
}

export interface KeyFields {
  name: string;
  repositories?: string[];
  metadata?: Record<string, string>;
  expires_at?: string;
}

export interface ImportRequest extends KeyFields {
  type?: KeyType;
  public_key: string;
}

export interface GenerateRequest extends KeyFields {
  algorithm?: GenerateAlgorithm;
}

export interface RotateRequest {
  public_key?: string;
  type?: KeyType;
  /** A duration: "7d", "12h", "30m", "90s", "2w"; default 7d. */
  overlap?: string;
}

export const MAX_NAME = 128;
export const MAX_METADATA_ENTRIES = 32;
export const MAX_METADATA_KEY = 64;
export const MAX_METADATA_VALUE = 1024;
export const MAX_METADATA_BYTES = 8192;
export const MAX_PUBLIC_KEY = 1 << 20;
const MAX_OVERLAP_MS = 365 * 86_400_000;

const bad = (msg: string): never => {
  throw new KeyError('INVALID_KEY_REQUEST', msg);
};

export function parseDuration(v: string, what: string): number {
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(v);
  if (!m) bad(`${what} must be a duration such as 7d, 12h, 30m, 90s or 2w (got ${JSON.stringify(v.slice(0, 32))})`);
  const ms = Number(m![1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m![2] as 's'];
  if (ms > MAX_OVERLAP_MS) bad(`${what} may be at most 365d`);
  return ms;
}

function checkFields(f: KeyFields): { name: string; repositories: string[]; metadata: Record<string, string>; expiresAt?: Date } {
  const name = f.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME) bad(`name must be 1 to ${MAX_NAME} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) bad('name may not hold control characters');
  const repositories = f.repositories ?? [];
  if (!Array.isArray(repositories) || repositories.length > MAX_REPOSITORIES) bad(`repositories must list at most ${MAX_REPOSITORIES} globs`);
  for (const g of repositories) {
    const p = typeof g === 'string' ? globProblem(g) : 'must be a string';
    if (p) bad(`repository glob ${JSON.stringify(String(g).slice(0, 64))} ${p}`);
  }
  const metadata = f.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) bad('metadata must be an object of strings');
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_ENTRIES) bad(`metadata may hold at most ${MAX_METADATA_ENTRIES} entries`);
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(k)) bad(`metadata key ${JSON.stringify(k.slice(0, 64))} must be 1 to ${MAX_METADATA_KEY} letters, digits, ".", "_" or "-"`);
    if (typeof v !== 'string' || v.length > MAX_METADATA_VALUE) bad(`metadata value for "${k}" must be a string of at most ${MAX_METADATA_VALUE} characters`);
  }
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) bad(`metadata may take at most ${MAX_METADATA_BYTES} bytes`);
  let expiresAt: Date | undefined;
  if (f.expires_at !== undefined) {
    const t = typeof f.expires_at === 'string' && /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(f.expires_at) ? Date.parse(f.expires_at) : NaN;
    if (Number.isNaN(t)) bad('expires_at must be an ISO 8601 date or date-time, e.g. 2027-01-01T00:00:00Z');
    if (t <= Date.now()) bad(`expires_at ${new Date(t).toISOString()} is in the past`);
    expiresAt = new Date(t);
  }
  return { name, repositories: [...new Set(repositories)], metadata: { ...metadata }, ...(expiresAt ? { expiresAt } : {}) };
}

const earliest = (...ds: (Date | undefined)[]): Date | undefined => {
  const xs = ds.filter((d): d is Date => d !== undefined);
  return xs.length === 0 ? undefined : new Date(Math.min(...xs.map((d) => d.getTime())));
};

export function statusOf(r: Pick<Row, 'revoked_at' | 'expires_at' | 'rotated_to'>, now = new Date()): KeyStatus {
  if (r.revoked_at) return 'revoked';
  if (r.expires_at && Date.parse(r.expires_at) <= now.getTime()) return 'expired';
  if (r.rotated_to) return 'rotated';
  return 'active';
}

function infoOf(r: Row, now = new Date()): KeyInfo {
  const info: KeyInfo = {
    id: r.id,
    name: r.name,
    type: r.type as KeyType,
    fingerprint: r.fingerprint,
    algorithm: r.algorithm,
    repositories: JSON.parse(r.repositories) as string[],
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    created_at: r.created_at,
    expires_at: r.expires_at,
    revoked_at: r.revoked_at,
    status: statusOf(r, now),
    custody: r.custody as Custody,
  };
  if (r.revocation_reason) info.revocation_reason = r.revocation_reason;
  if (r.subkeys) info.subkeys = JSON.parse(r.subkeys) as SubkeyInfo[];
  if (r.rotated_from) info.rotated_from = r.rotated_from;
  if (r.rotated_to) info.rotated_to = r.rotated_to;
  return info;
}

/** Whether a token limited to `globs` may see a key bound to `keyGlobs`: some pair of globs shares a repository. */
export function visibleTo(keyGlobs: readonly string[], globs: readonly string[] | undefined): boolean {
  if (!globs) return true;
  return keyGlobs.some((k) => globs.some((g) => globsIntersect(k, g)));
}

const isUniqueViolation = (e: unknown): boolean => {
  const x = e as { code?: string; message?: string };
  return x.code === '23505' || x.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(x.message ?? '');
};

/**
 * Signing keys: public keys imported for verification (custody "external") and keys generated here whose
 * private half is sealed with the SecretStore (custody "software"). Every change is an audit event. Key rows
 * are never removed: delete tombstones them.
 */
export class KeyService {
  private readonly db: KeysDb;
  private readonly trustCache = new Map<string, TrustedKey>();

  constructor(
    private readonly database: OpenDb,
    private readonly secrets: SecretStore,
    private readonly audit: AuditLog,
  ) {
    this.db = database.db.withTables<KeysTables>();
  }

  private async row(id: string): Promise<Row | undefined> {
    if (typeof id !== 'string' || id.length > 64) return undefined;
    return this.db.selectFrom('signing_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The live (not deleted) key, as visible to a token limited to `globs`; KEY_NOT_FOUND otherwise. */
  private async live(id: string, globs?: readonly string[]): Promise<Row> {
    const r = await this.row(id);
    if (!r || !visibleTo(JSON.parse(r.repositories) as string[], globs)) throw new KeyError('KEY_NOT_FOUND', `no signing key with id ${id}`);
    if (r.deleted_at) throw new KeyError('KEY_NOT_FOUND', `signing key ${id} was deleted at ${r.deleted_at}`);
    return r;
  }

  /**
   * Runs statements in one transaction; a step with `mustChange` that changes no row rolls all back with that
   * message. On SQLite this is one synchronous better-sqlite3 transaction, started only when no other
   * transaction is open on the shared connection (it would otherwise nest as a savepoint inside it).
   */
  private async atomically(steps: { query: CompiledQuery; mustChange?: string }[]): Promise<void> {
    const s = this.database.sqlite;
    if (s) {
      while (s.inTransaction) await new Promise((r) => setTimeout(r, 1));
      s.transaction(() => {
        for (const st of steps) {
          const r = s.prepare(st.query.sql).run(...(st.query.parameters as unknown[]));
          if (st.mustChange && r.changes === 0) throw new KeyError('KEY_STATE_CONFLICT', st.mustChange);
        }
      }).immediate();
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      for (const st of steps) {
        const r = await tx.executeQuery(st.query);
        if (st.mustChange && Number(r.numAffectedRows ?? 0n) === 0) throw new KeyError('KEY_STATE_CONFLICT', st.mustChange);
      }
    });
  }

  private async insert(row: Row): Promise<void> {
    try {
      await this.db.insertInto('signing_keys').values(row).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const other = await this.db.selectFrom('signing_keys').select('id').where('fingerprint', '=', row.fingerprint).where('deleted_at', 'is', null).executeTakeFirst();
      throw new KeyError('KEY_EXISTS', `a signing key with fingerprint ${row.fingerprint} is already registered${other ? ` (id ${other.id})` : ''}`);
    }
  }

  private newRow(id: string, fields: ReturnType<typeof checkFields>, parsed: ParsedKey, custody: Custody, secretName: string | null, rotatedFrom?: string): Row {
    const expires = earliest(fields.expiresAt, parsed.notAfter);
    return {
      id,
      name: fields.name,
      type: parsed.type,
      algorithm: parsed.algorithm,
      fingerprint: parsed.fingerprint,
      public_key: parsed.publicText,
      repositories: JSON.stringify(fields.repositories),
      metadata: JSON.stringify(fields.metadata),
      subkeys: parsed.subkeys ? JSON.stringify(parsed.subkeys) : null,
      custody,
      secret_name: secretName,
      created_at: new Date().toISOString(),
      not_before: parsed.notBefore?.toISOString() ?? null,
      expires_at: expires?.toISOString() ?? null,
      revoked_at: null,
      revocation_reason: null,
      deleted_at: null,
      rotated_from: rotatedFrom ?? null,
      rotated_to: null,
    };
  }

  private static summary(r: Row): Record<string, unknown> {
    return { name: r.name, type: r.type, fingerprint: r.fingerprint, algorithm: r.algorithm, custody: r.custody, repositories: JSON.parse(r.repositories) as unknown, expires_at: r.expires_at };
  }

  /** Imports a public key (custody "external"). */
  async import(req: ImportRequest, actor: Actor): Promise<KeyInfo> {
    const fields = checkFields(req);
    if (req.type !== undefined && !(KEY_TYPES as readonly string[]).includes(req.type)) bad(`type must be one of ${KEY_TYPES.join(', ')}`);
    if (typeof req.public_key !== 'string' || req.public_key.trim() === '') bad('public_key is required');
    if (req.public_key.length > MAX_PUBLIC_KEY) bad(`public_key may be at most ${MAX_PUBLIC_KEY} characters`);
    const parsed = await parseKeyMaterial(req.public_key, req.type);
    const row = this.newRow(randomUUID(), fields, parsed, 'external', null);
    await this.insert(row);
    await this.audit.record({ actor, action: 'key.import', target: `key:${row.id}`, outcome: 'allowed', details: KeyService.summary(row) });
    return infoOf(row);
  }

  private async generateParsed(algorithm: GenerateAlgorithm, id: string): Promise<{ parsed: ParsedKey; secretName: string }> {
    const pair = await generateKeyPair(algorithm);
    const secretName = `keys/${id}/private`;
    await this.secrets.putIfAbsent(secretName, pkcs8Der(pair.privateKey));
    return {
      parsed: { type: 'pem', algorithm, fingerprint: sha256Fingerprint(spkiDer(pair.publicKey)), publicText: publicKeyPem(pair.publicKey) },
      secretName,
    };
  }

  /** Generates a key held here (custody "software"): the private key is sealed and never leaves the server. */
  async generate(req: GenerateRequest, actor: Actor): Promise<KeyInfo> {
    const fields = checkFields(req);
    const algorithm = req.algorithm ?? 'ecdsa-p256';
    if (!(GENERATE_ALGORITHMS as readonly string[]).includes(algorithm)) bad(`generate.algorithm must be one of ${GENERATE_ALGORITHMS.join(', ')}`);
    const id = randomUUID();
    const { parsed, secretName } = await this.generateParsed(algorithm, id);
    const row = this.newRow(id, fields, parsed, 'software', secretName);
    await this.insert(row);
    await this.audit.record({ actor, action: 'key.generate', target: `key:${row.id}`, outcome: 'allowed', details: KeyService.summary(row) });
    return infoOf(row);
  }

  /** Live keys, optionally those whose globs match a repository, with a status, visible to a limited token. */
  async list(filter: { repository?: string; status?: KeyStatus; visibleTo?: readonly string[] } = {}): Promise<KeyInfo[]> {
    if (filter.repository !== undefined) {
      const p = repositoryProblem(filter.repository);
      if (p) bad(`repository ${JSON.stringify(filter.repository.slice(0, 64))} ${p}`);
    }
    const rows = await this.db.selectFrom('signing_keys').selectAll().where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    const now = new Date();
    return rows
      .filter((r) => {
        const globs = JSON.parse(r.repositories) as string[];
        if (!visibleTo(globs, filter.visibleTo)) return false;
        return filter.repository === undefined || globs.some((g) => globMatches(g, filter.repository as string));
      })
      .map((r) => infoOf(r, now))
      .filter((k) => !filter.status || k.status === filter.status);
  }

  async info(id: string, globs?: readonly string[]): Promise<KeyInfo> {
    return infoOf(await this.live(id, globs));
  }

  /** The public key in the text form it was imported in. */
  async publicText(id: string, globs?: readonly string[]): Promise<string> {
    return (await this.live(id, globs)).public_key;
  }

  async revoke(id: string, reason: string | undefined, actor: Actor): Promise<KeyInfo> {
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 1024)) bad('reason must be a string of at most 1024 characters');
    const r = await this.live(id);
    if (r.revoked_at) throw new KeyError('KEY_STATE_CONFLICT', `signing key ${id} was already revoked at ${r.revoked_at}`);
    const now = new Date().toISOString();
    const res = await this.db
      .updateTable('signing_keys')
      .set({ revoked_at: now, revocation_reason: reason ?? null })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new KeyError('KEY_STATE_CONFLICT', `signing key ${id} changed while it was being revoked; retry`);
    const updated = { ...r, revoked_at: now, revocation_reason: reason ?? null };
    await this.audit.record({ actor, action: 'key.revoke', target: `key:${id}`, outcome: 'allowed', details: { ...KeyService.summary(updated), ...(reason ? { reason } : {}) } });
    return infoOf(updated);
  }

  /**
   * Replaces a key by a new one with the same name, repositories and metadata. The old key stays trusted for
   * the overlap (its expires_at becomes now + overlap unless it expires sooner) and names its successor.
   */
  async rotate(id: string, req: RotateRequest, actor: Actor): Promise<KeyInfo> {
    const overlapMs = parseDuration(req.overlap ?? '7d', 'overlap');
    if (req.type !== undefined && !(KEY_TYPES as readonly string[]).includes(req.type)) bad(`type must be one of ${KEY_TYPES.join(', ')}`);
    const old = await this.live(id);
    if (old.revoked_at) throw new KeyError('KEY_STATE_CONFLICT', `signing key ${id} is revoked; import a new key instead of rotating it`);
    if (old.rotated_to) throw new KeyError('KEY_STATE_CONFLICT', `signing key ${id} was already rotated to ${old.rotated_to}`);
    const fields = checkFields({ name: old.name, repositories: JSON.parse(old.repositories) as string[], metadata: JSON.parse(old.metadata) as Record<string, string> });
    const newId = randomUUID();
    let row: Row;
    if (old.custody === 'software') {
      if (req.public_key !== undefined) bad(`signing key ${id} is held by the server: it is rotated by generating a new key, so public_key must be absent`);
      const { parsed, secretName } = await this.generateParsed(old.algorithm as GenerateAlgorithm, newId);
      row = this.newRow(newId, fields, parsed, 'software', secretName, id);
    } else {
      if (typeof req.public_key !== 'string' || req.public_key.trim() === '') bad(`public_key is required to rotate the external key ${id}`);
      if (req.public_key!.length > MAX_PUBLIC_KEY) bad(`public_key may be at most ${MAX_PUBLIC_KEY} characters`);
      const parsed = await parseKeyMaterial(req.public_key!, req.type ?? (old.type as KeyType));
      row = this.newRow(newId, fields, parsed, 'external', null, id);
    }
    const overlapEnd = new Date(Date.now() + overlapMs);
    const oldExpires = earliest(old.expires_at ? new Date(old.expires_at) : undefined, overlapEnd)!.toISOString();
    try {
      await this.atomically([
        { query: this.db.insertInto('signing_keys').values(row).compile() },
        {
          query: this.db
            .updateTable('signing_keys')
            .set({ rotated_to: newId, expires_at: oldExpires })
            .where('id', '=', id)
            .where('rotated_to', 'is', null)
            .where('revoked_at', 'is', null)
            .where('deleted_at', 'is', null)
            .compile(),
          mustChange: `signing key ${id} changed while it was being rotated; retry`,
        },
      ]);
    } catch (e) {
      if (isUniqueViolation(e)) throw new KeyError('KEY_EXISTS', `a signing key with fingerprint ${row.fingerprint} is already registered`);
      throw e;
    }
    await this.audit.record({
      actor,
      action: 'key.rotate',
      target: `key:${id}`,
      outcome: 'allowed',
      details: { ...KeyService.summary(row), rotated_to: newId, old_fingerprint: old.fingerprint, old_expires_at: oldExpires },
    });
    return infoOf(row);
  }

  /** Tombstones a key: it leaves every list and every trust decision, and its row stays for history. */
  async delete(id: string, actor: Actor): Promise<void> {
    const r = await this.live(id);
    const now = new Date().toISOString();
    const res = await this.db.updateTable('signing_keys').set({ deleted_at: now }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new KeyError('KEY_NOT_FOUND', `signing key ${id} was deleted meanwhile`);
    await this.audit.record({ actor, action: 'key.delete', target: `key:${id}`, outcome: 'allowed', details: KeyService.summary(r) });
  }

  private record(r: Row): TrustedKeyRecord {
    const info = infoOf(r);
    let base = this.trustCache.get(r.id);
    if (!base) {
      base = trustedKeyOf(r.type as KeyType, r.public_key, r.name);
      if (this.trustCache.size > 4096) this.trustCache.clear();
      this.trustCache.set(r.id, base);
    }
    const validity: Validity = {};
    if (r.not_before) validity.notBefore = new Date(r.not_before);
    if (r.expires_at) validity.notAfter = new Date(r.expires_at);
    if (r.revoked_at) validity.revokedAt = new Date(r.revoked_at);
    return { id: r.id, info, trust: { ...base, validity } as TrustedKey, validity, deletedAt: r.deleted_at };
  }

  /** Any key by id, deleted ones included (audit history and past verdicts name them). */
  async get(id: string): Promise<TrustedKeyRecord | undefined> {
    const r = await this.row(id);
    return r && this.record(r);
  }

  /**
   * The keys to verify with for a repository, read from the database on every call so that a revocation or
   * deletion on any server takes effect at once. A revoked or deleted key is never returned; expiry (and a
   * certificate's notBefore) is judged at `at` (default now), e.g. a signature's trusted timestamp. With
   * `includeInvalid`, keys outside their validity are returned too (their `validity` says why), so a verdict can
   * name a revoked or expired key.
   */
  async trustedKeysFor(repository: string, at: Date = new Date(), opts: { includeInvalid?: boolean } = {}): Promise<TrustedKeyRecord[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().where('deleted_at', 'is', null).orderBy('created_at').execute();
    const t = at.getTime();
    return rows
      .filter((r) => (JSON.parse(r.repositories) as string[]).some((g) => globMatches(g, repository)))
      .filter(
        (r) =>
          opts.includeInvalid ||
          (!r.revoked_at && !(r.expires_at && Date.parse(r.expires_at) <= t) && !(r.not_before && Date.parse(r.not_before) > t)),
      )
      .map((r) => this.record(r));
  }

  /** The private key of a software-custody key, for the signing service (never for an API response). */
  async privateKey(id: string): Promise<KeyObject> {
    const r = await this.live(id);
    if (r.custody !== 'software' || !r.secret_name) throw new KeyError('KEY_STATE_CONFLICT', `signing key ${id} is not held by the server`);
    const der = await this.secrets.get(r.secret_name);
    if (!der) throw new Error(`the private key of signing key ${id} is missing from the secret store`);
    return privateKeyFromPkcs8(der);
  }
}
