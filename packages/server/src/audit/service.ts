import { createHash, createPublicKey, sign as signCb, type KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { canonicalize, generateKeyPair, pkcs8Der, privateKeyFromPkcs8, publicKeyPem } from '@signet/core';
import type { OpenDb } from '../storage/db.js';
import type { SecretStore } from '../storage/secrets.js';
import type { Principal } from '../identity/index.js';
import { canonicalizeProposedEntry, type TransparencyLog } from '../tlog/index.js';
import { AuditError } from './errors.js';
import { anchorArtifact, type AuditEvent } from './chain.js';
import { AuditStore, type AuditTables, type NewEvent } from './store.js';

/** Who did something: a token's principal, or the server itself, or nobody authenticated. */
export type Actor = Principal | 'system' | 'anonymous';

export interface AuditInput {
  actor: Actor;
  /** Dotted verb, e.g. key.import, token.create, registry.push, signature.verify. */
  action: string;
  /** What it was done to, e.g. "key:<id>", "token:<id>", "repo:production/app@sha256:…". */
  target: string;
  /** allowed | denied | error | … (lowercase word). */
  outcome: string;
  /** JSON details; never secrets (fields named like secrets are replaced by "[redacted]" anyway). */
  details?: Record<string, unknown>;
}

export type Anchor = AuditTables['audit_anchors'];

export const MAX_TARGET = 512;
export const MAX_DETAILS_BYTES = 16_384;
const ANCHOR_KEY_SECRET = 'audit/anchor-key';
const SECRET_FIELD = /^(token|password|passphrase|secret|private_?key|authorization|api_?key)$/i;

function scrub(v: unknown, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_FIELD.test(k) ? '[redacted]' : scrub(x, depth + 1);
    return out;
  }
  return v;
}

function prepare(input: AuditInput): NewEvent {
  if (typeof input.action !== 'string' || !/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/.test(input.action) || input.action.length > 64) {
    throw new AuditError('INVALID_AUDIT_EVENT', `audit action ${JSON.stringify(String(input.action).slice(0, 64))} must be a dotted lowercase name such as key.import`);
  }
  if (typeof input.outcome !== 'string' || !/^[a-z][a-z_]{0,31}$/.test(input.outcome)) {
    throw new AuditError('INVALID_AUDIT_EVENT', `audit outcome ${JSON.stringify(String(input.outcome).slice(0, 32))} must be a lowercase word such as allowed or denied`);
  }
  const target = String(input.target ?? '').slice(0, MAX_TARGET);
  // A JSON round trip turns Dates into strings and drops undefined, so what is hashed is what is read back.
  let details = JSON.parse(JSON.stringify(scrub(input.details ?? {}))) as unknown;
  if (!details || typeof details !== 'object' || Array.isArray(details)) details = { value: details };
  let detailsJcs = canonicalize(details);
  if (Buffer.byteLength(detailsJcs) > MAX_DETAILS_BYTES) detailsJcs = canonicalize({ truncated: true, bytes: Buffer.byteLength(detailsJcs) });
  const a = input.actor;
  const actor = typeof a === 'string' ? a : a.tokenId;
  const actorName = typeof a === 'string' ? null : a.name;
  return { actor, actor_name: actorName, action: input.action, target, outcome: input.outcome, detailsJcs };
}

interface Pending {
  event: NewEvent;
  resolve: (e: AuditEvent) => void;
  reject: (e: unknown) => void;
}

function signAsync(key: KeyObject, data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => signCb('sha256', data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}

/**
 * The append-only, hash-chained audit log (construction in chain.ts). Writers from every domain call
 * record(); concurrent calls are appended together in one transaction (group commit). The chain head is
 * anchored in the server's own transparency log every `anchorIntervalMs` and on demand.
 */
export class AuditLog {
  readonly store: AuditStore;
  private queue: Pending[] = [];
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private anchoring: Promise<Anchor | undefined> | undefined;
  private closed = false;
  readonly publicKey: KeyObject;

  private constructor(
    database: OpenDb,
    private readonly privateKey: KeyObject,
    private readonly tlog: TransparencyLog,
    private readonly log: FastifyBaseLogger,
  ) {
    this.store = new AuditStore(database);
    this.publicKey = createPublicKey(privateKey);
  }

  /** Opens the audit log; the anchoring key (ECDSA P-256) is made at first start and sealed in the SecretStore. */
  static async open(opts: { database: OpenDb; secrets: SecretStore; tlog: TransparencyLog; log: FastifyBaseLogger }): Promise<AuditLog> {
    let der = await opts.secrets.get(ANCHOR_KEY_SECRET);
    if (!der) der = await opts.secrets.putIfAbsent(ANCHOR_KEY_SECRET, pkcs8Der((await generateKeyPair('ecdsa-p256')).privateKey));
    return new AuditLog(opts.database, privateKeyFromPkcs8(der), opts.tlog, opts.log);
  }

  publicKeyPem(): string {
    return publicKeyPem(this.publicKey);
  }

  /** Appends an event; resolves once it is durable, with its seq and hash. */
  record(input: AuditInput): Promise<AuditEvent> {
    let event: NewEvent;
    try {
      event = prepare(input);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.draining) this.draining = new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 256);
        try {
          const written = await this.store.append(batch.map((p) => p.event));
          batch.forEach((p, i) => p.resolve(written[i] as AuditEvent));
        } catch (e) {
          this.log.error({ err: e }, 'audit events could not be written');
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** Starts periodic anchoring (0 = only on demand). */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.anchor().catch((e: unknown) => this.log.error({ err: e }, 'anchoring the audit chain failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * Anchors the chain head in the transparency log, unless it is anchored already (then that anchor is
   * returned) or the chain is empty (undefined). The entry goes through the same validation as an entry
   * posted to the log's HTTP API (canonicalizeProposedEntry verifies the signature), then TransparencyLog.add.
   */
  anchor(): Promise<Anchor | undefined> {
    if (!this.anchoring) {
      this.anchoring = this.anchorNow().finally(() => {
        this.anchoring = undefined;
      });
    }
    return this.anchoring;
  }

  private async anchorNow(): Promise<Anchor | undefined> {
    if (this.closed) return undefined;
    if (this.draining) await this.draining;
    const head = await this.store.head();
    if (!head) return undefined;
    const last = await this.store.lastAnchor();
    if (last && last.seq >= head.seq) return last;
    const artifact = anchorArtifact(head.hash);
    const sig = await signAsync(this.privateKey, artifact);
    const proposed = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(artifact).digest('hex') } },
        signature: { content: sig.toString('base64'), publicKey: { content: Buffer.from(this.publicKeyPem()).toString('base64') } },
      },
    };
    const entry = await canonicalizeProposedEntry(proposed);
    const r = await this.tlog.add(entry);
    const anchor: Anchor = { seq: head.seq, head_hash: head.hash, log_index: r.entry.logIndex, uuid: r.entryId.slice(-64), created_at: new Date().toISOString() };
    if (!(await this.store.addAnchor(anchor))) return this.store.lastAnchor();
    this.log.info({ seq: anchor.seq, logIndex: anchor.log_index }, 'audit chain anchored');
    return anchor;
  }

  /** Stops anchoring and waits for queued events and a running anchor. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.anchoring?.catch(() => undefined);
    this.closed = true;
    while (this.draining) await this.draining;
  }
}
