import type { Principal } from '../identity/index.js';
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { OpenDb } from '../storage/db.js';
import type { SecretStore } from '../storage/secrets.js';
import { RegistryTokens } from './access.js';
import { FsBlobStore, type BlobRange, type BlobStore } from './blobs.js';
import { RegistryError } from './errors.js';
import { checkTag, parseDigest, parseManifest, parseReference, type Digest, type DigestAlgorithm } from './oci.js';
import { RegistryStore, type ReferrerRow } from './store.js';

/** The largest manifest accepted (the spec asks for at least 4 MB). */
export const MAX_MANIFEST_BYTES = 8 << 20;
/** An upload session idle this long is abandoned (garbage collection removes it). */
const UPLOAD_TTL_MS = 24 * 3_600_000;
/** Manifest bytes kept in memory (content-addressed, so never stale). */
const MANIFEST_CACHE_BYTES = 16 << 20;

interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface RegistryOptions {
  database: OpenDb;
  dataDir: string;
  /** Holds the key that signs registry tokens; without it the token endpoint is off (e.g. `signet-server gc`). */
  secrets?: SecretStore;
  baseUrl: string;
  anonymousPull?: boolean;
  /** 0 disables the timer. */
  gcIntervalMs?: number;
  gcGraceMs?: number;
  log?: Logger;
  blobStore?: BlobStore;
}

/** Sent to subscribers once a manifest is stored (a signature indexer, policy, audit). */
export interface ManifestEvent {
  repo: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  /** The tag it was pushed under, if any (the first of `tags`). */
  tag?: string;
  tags: string[];
  bytes: Buffer;
}

export type ManifestListener = (e: ManifestEvent) => void | Promise<void>;

/**
 * Policy enforcement points (design: "push under policy"). The registry stays policy-agnostic: the policy domain
 * installs a gate. Signature and attestation artifacts (referrers, `sha256-<hex>.sig|.att|.sbom` and referrers-index
 * tags) never pass through it.
 */
export interface ReleaseGate {
  /**
   * Before `tags` point at `digest`. Throw a RegistryError (DENIED) to refuse the tag: the manifest itself is still
   * stored by digest, unreleased, so it can be signed and the tag pushed again. Returns warnings for the client.
   */
  beforeTag(ctx: { repo: string; digest: string; tags: string[]; mediaType: string; actor: string; principal?: Principal }): Promise<{ warnings: string[] }>;
  /** Before a consumer (a caller without push rights on the repository) reads manifest `digest`; throw to refuse. */
  beforeServe(ctx: { repo: string; digest: string; reference: string }): Promise<void>;
}

/** Tags that hold signatures, attestations, SBOMs or a referrers index (reference §1.1, §2.2): exempt from gates. */
export const ATTACHMENT_TAG = /^(sha256|sha512)-[0-9a-f]{64,128}(\.(sig|att|sbom))?$/;

export interface ResolvedManifest {
  digest: string;
  mediaType: string;
  size: number;
}

export interface GcResult {
  removed_blobs: number;
  freed_bytes: number;
  removed_uploads: number;
}

interface Session {
  repo: string;
  offset: number;
  algorithm: DigestAlgorithm;
  hash: Hash;
  startedAt: string;
  /** Whether the session has a database row (written once data has arrived). */
  persisted: boolean;
}

/** An upload session as the client names it: id from the path, `_state` from the Location's query. */
export interface UploadRef {
  repo: string;
  id: string;
  state: string | undefined;
}

const noopLog: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function etagOf(digest: string): string {
  return `"${digest}"`;
}

/**
 * The OCI registry: blob uploads, manifests, tags, referrers and garbage collection over a BlobStore and
 * the database. Other domains read through resolve/readManifest/openBlob and subscribe with onManifest.
 */
export class Registry {
  readonly store: RegistryStore;
  readonly blobs: BlobStore;
  readonly anonymousPull: boolean;
  readonly baseUrl: string;
  /** host[:port] of the base URL: the registry's `service` and the prefix of `host/name`. */
  readonly host: string;
  readonly tokens: RegistryTokens | undefined;
  private readonly log: Logger;
  private readonly gcGraceMs: number;
  private readonly listeners: ManifestListener[] = [];
  /** Installed by the policy domain; absent means no enforcement. */
  gate?: ReleaseGate;
  /** Running hashes of upload sessions (re-made from the staged file after a restart). */
  private readonly sessions = new Map<string, Session>();
  private readonly sessionBusy = new Set<string>();
  /** Digests being committed or referenced by a manifest being stored: GC leaves them alone. */
  private readonly busyDigests = new Map<string, number>();
  /** Digests GC is deleting right now: a commit of the same digest waits. */
  private readonly gcDeleting = new Map<string, Promise<void>>();
  private readonly tagLocks = new Map<string, Promise<void>>();
  private readonly manifestCache = new Map<string, Buffer>();
  private manifestCacheBytes = 0;
  private gcRunning: Promise<GcResult> | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Signs the `_state` of upload sessions, so any process can continue a session that has no row yet. */
  private readonly uploadKey: Buffer;

  private constructor(opts: RegistryOptions, tokens: RegistryTokens | undefined, uploadKey: Buffer) {
    this.uploadKey = uploadKey;
    this.store = new RegistryStore(opts.database.db, opts.database.kind);
    this.blobs = opts.blobStore ?? new FsBlobStore(opts.dataDir);
    this.anonymousPull = opts.anonymousPull ?? false;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.host = new URL(this.baseUrl).host;
    this.tokens = tokens;
    this.log = opts.log ?? noopLog;
    this.gcGraceMs = opts.gcGraceMs ?? 3_600_000;
    const interval = opts.gcIntervalMs ?? 0;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.gc().then(
          (r) => this.log.info(r, 'registry garbage collection'),
          (e: unknown) => this.log.error({ err: e }, 'registry garbage collection failed'),
        );
      }, interval);
      this.timer.unref();
    }
  }

  static async open(opts: RegistryOptions): Promise<Registry> {
    let tokens: RegistryTokens | undefined;
    let uploadKey = randomBytes(32);
    if (opts.secrets) {
      const key = await opts.secrets.putIfAbsent('registry/token-key', randomBytes(32));
      const base = opts.baseUrl.replace(/\/+$/, '');
      tokens = new RegistryTokens(key, base, new URL(base).host);
      uploadKey = createHmac('sha256', key).update('signet registry upload state').digest();
    }
    return new Registry(opts, tokens, uploadKey);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.blobs.close();
  }

  // ---- hooks for other domains

  /** Subscribes to stored manifests; returns the unsubscribe function. Listener errors are logged, never fail a push. */
  onManifest(listener: ManifestListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Resolves a tag or digest in a repository; undefined when unknown. Throws RegistryError on a malformed reference. */
  async resolve(repo: string, reference: string): Promise<ResolvedManifest | undefined> {
    const ref = parseReference(reference);
    return 'tag' in ref ? this.store.manifestByTag(repo, ref.tag) : this.store.manifestByDigest(repo, ref.digest.value);
  }

  /** A manifest's exact bytes with its digest and media type; undefined when unknown. */
  async readManifest(repo: string, reference: string): Promise<(ResolvedManifest & { bytes: Buffer }) | undefined> {
    const m = await this.resolve(repo, reference);
    if (!m) return undefined;
    const bytes = await this.manifestBytes(m.digest);
    return bytes ? { ...m, bytes } : undefined;
  }

  /** A blob of a repository as a stream (optionally a byte range); undefined when the repository has no such blob. */
  async openBlob(repo: string, digest: string, range?: BlobRange): Promise<{ size: number; stream: Readable } | undefined> {
    const d = parseDigest(digest);
    const size = await this.store.blobInRepo(repo, d.value);
    if (size === undefined) return undefined;
    const stream = await this.blobs.open(d, range);
    if (!stream) {
      this.log.error({ digest: d.value }, 'blob is recorded but its file is missing');
      return undefined;
    }
    return { size, stream };
  }

  /** Size of a blob the repository may serve over /v2/ (none for a generic file repository). */
  blobSize(repo: string, digest: Digest): Promise<number | undefined> {
    return this.store.ociBlobInRepo(repo, digest.value);
  }

  async manifestBytes(digest: string): Promise<Buffer | undefined> {
    const hit = this.manifestCache.get(digest);
    if (hit) return hit;
    const bytes = await this.blobs.readAll(parseDigest(digest));
    if (bytes && bytes.length <= 1 << 20) {
      this.manifestCache.set(digest, bytes);
      this.manifestCacheBytes += bytes.length;
      for (const [k, v] of this.manifestCache) {
        if (this.manifestCacheBytes <= MANIFEST_CACHE_BYTES) break;
        this.manifestCache.delete(k);
        this.manifestCacheBytes -= v.length;
      }
    }
    return bytes;
  }

  // ---- uploads (distribution-spec §Pushing blobs)

  /**
   * Opens an upload session. No database write happens yet: the session is named by its id and a signed
   * `_state` (repository, id, start time) in the Location, and gets its row once data arrives.
   */
  async startUpload(repo: string, algorithm: DigestAlgorithm = 'sha256'): Promise<UploadRef> {
    await this.store.ensureRepository(repo);
    const id = randomUUID();
    const startedMs = Date.now();
    if (this.sessions.size >= 10_000) this.sessions.delete(this.sessions.keys().next().value as string);
    this.sessions.set(id, { repo, offset: 0, algorithm, hash: createHash(algorithm), startedAt: new Date(startedMs).toISOString(), persisted: false });
    return { repo, id, state: this.signState(repo, id, startedMs) };
  }

  private signState(repo: string, id: string, startedMs: number): string {
    const t = startedMs.toString(36);
    return `${t}.${createHmac('sha256', this.uploadKey).update(`${repo}\0${id}\0${t}`).digest('base64url').slice(0, 22)}`;
  }

  /** The start time of a session from its `_state`, or undefined when the state is not valid for it. */
  private checkState(u: UploadRef): number | undefined {
    const m = u.state === undefined ? null : /^([0-9a-z]{1,12})\.([\w-]{22})$/.exec(u.state);
    if (!m) return undefined;
    const want = Buffer.from(this.signState(u.repo, u.id, parseInt(m[1] as string, 36)));
    const got = Buffer.from(u.state as string);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    const started = parseInt(m[1] as string, 36);
    return started > Date.now() - UPLOAD_TTL_MS ? started : undefined;
  }

  /** Bytes received so far in an upload session. */
  async uploadOffset(u: UploadRef): Promise<number> {
    return (await this.sessionStart(u)).offset;
  }

  /** The committed state of a session: its row, or a valid `_state` for one that has no data yet. */
  private async sessionStart(u: UploadRef): Promise<{ offset: number; startedAt: string; persisted: boolean }> {
    if (!/^[0-9a-f-]{36}$/.test(u.id)) throw unknownUpload(u.id);
    const row = await this.store.upload(u.id);
    if (row) {
      if (row.repo !== u.repo || row.offset < 0) throw unknownUpload(u.id);
      return { offset: row.offset, startedAt: row.startedAt, persisted: true };
    }
    const started = this.checkState(u);
    if (started === undefined) throw unknownUpload(u.id);
    return { offset: 0, startedAt: new Date(started).toISOString(), persisted: false };
  }

  /**
   * Appends a chunk. With a Content-Range the chunk must start where the upload ends (else 416); without
   * one (skopeo's single streamed PATCH) it is appended. Resolves the new offset.
   */
  async appendChunk(u: UploadRef, source: Readable, range?: BlobRange): Promise<number> {
    return this.withSession(u, async (s) => {
      if (range && range.start !== s.offset) {
        throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at ${range.start} but the upload has ${s.offset} bytes: chunks must be sent in order`, {
          status: 416,
          headers: uploadHeaders(u, s.offset),
        });
      }
      s.offset += await this.appendRange(u, s, source, range, false);
      await this.store.saveUpload(u.id, u.repo, s.startedAt, s.offset);
      s.persisted = true;
      return s.offset;
    });
  }

  /** Closes an upload (optionally with a last chunk, optionally with its Content-Range), checks the digest and stores the blob. */
  async finishUpload(u: UploadRef, digest: Digest, source: Readable | undefined, range?: BlobRange): Promise<number> {
    return this.withSession(u, async (s) => {
      if (range && range.start !== s.offset) {
        throw new RegistryError('BLOB_UPLOAD_INVALID', `the last chunk starts at ${range.start} but the upload has ${s.offset} bytes`, { status: 416, headers: uploadHeaders(u, s.offset) });
      }
      if (source) {
        s.offset += await this.appendRange(u, s, source, range, true);
      }
      let hash = s.hash;
      if (s.algorithm !== digest.algorithm) hash = await this.blobs.hashUpload(u.id, digest.algorithm, s.offset);
      const got = `${digest.algorithm}:${hash.digest('hex')}`;
      this.sessions.delete(u.id);
      if (got !== digest.value) {
        await this.discardUpload(u, s.startedAt);
        throw new RegistryError('DIGEST_INVALID', `the uploaded content has digest ${got}, not ${digest.value}; the upload is cancelled`);
      }
      await this.commit(u.id, digest, s.offset, u.repo, { synced: source !== undefined, session: { id: u.id, startedAt: s.startedAt } });
      return s.offset;
    });
  }

  /** A whole blob in one request (POST ?digest=); no session row is needed. */
  async pushMonolithic(repo: string, digest: Digest, source: Readable): Promise<number> {
    await this.store.ensureRepository(repo);
    const id = `mono-${randomUUID()}`;
    const hash = createHash(digest.algorithm);
    let size: number;
    try {
      size = await this.blobs.append(id, 0, source, hash, { sync: true });
    } catch (e) {
      await this.blobs.deleteUpload(id).catch(() => undefined);
      throw e;
    }
    const got = `${digest.algorithm}:${hash.digest('hex')}`;
    if (got !== digest.value) {
      await this.blobs.deleteUpload(id);
      throw new RegistryError('DIGEST_INVALID', `the uploaded content has digest ${got}, not ${digest.value}`);
    }
    await this.commit(id, digest, size, repo, { synced: true });
    return size;
  }

  async cancelUpload(u: UploadRef): Promise<void> {
    if (this.sessionBusy.has(u.id)) throw new RegistryError('BLOB_UPLOAD_INVALID', `upload ${u.id} is busy with another request`, { status: 416 });
    const start = await this.sessionStart(u);
    await this.discardUpload(u, start.startedAt);
  }

  /**
   * Links a blob another repository has into `repo` (cross-repository mount). False when none of `sources` has it;
   * a generic file repository is never a source (its files are read only through /files/).
   */
  async mount(repo: string, digest: Digest, sources: string[]): Promise<boolean> {
    for (const from of sources) {
      if ((await this.store.ociBlobInRepo(from, digest.value)) === undefined) continue;
      await this.waitForGc(digest.value);
      await this.store.ensureRepository(repo);
      // Refreshing the blob's time restarts GC's grace period for a blob about to be referenced again.
      await this.store.recordBlob(digest.value, (await this.store.blobSize(digest.value)) ?? 0, repo);
      return true;
    }
    return false;
  }

  /**
   * Appends a chunk; with a Content-Range, exactly the announced bytes must arrive (else the chunk is rolled back and
   * the client gets 416 with the offset to resume from). Resolves the bytes appended; the caller advances the offset.
   */
  private async appendRange(u: UploadRef, s: Session, source: Readable, range: BlobRange | undefined, sync: boolean): Promise<number> {
    const n = await this.appendTo(u.id, s, source, sync);
    if (range && n !== range.end - range.start + 1) {
      await this.rollback(u.id, s.offset);
      throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${range.start}-${range.end} announces ${range.end - range.start + 1} bytes but ${n} arrived`, {
        status: 416,
        headers: uploadHeaders(u, s.offset),
      });
    }
    return n;
  }

  private async appendTo(id: string, s: Session, source: Readable, sync = false): Promise<number> {
    try {
      return await this.blobs.append(id, s.offset, source, s.hash, { sync });
    } catch (e) {
      await this.rollback(id, s.offset).catch(() => undefined);
      throw e;
    }
  }

  /** After a failed chunk: cut the file back and forget the running hash (it is re-made on next use). */
  private async rollback(id: string, offset: number): Promise<void> {
    this.sessions.delete(id);
    await this.blobs.truncateUpload(id, offset);
  }

  /** Ends a session for good: a tombstone row (offset -1) makes its `_state` useless; GC drops it later. */
  private async discardUpload(u: UploadRef, startedAt: string): Promise<void> {
    this.sessions.delete(u.id);
    await this.store.saveUpload(u.id, u.repo, startedAt, -1);
    await this.blobs.deleteUpload(u.id);
  }

  /** Runs `fn` with the session's running state, one request at a time per session. */
  private async withSession<T>(u: UploadRef, fn: (s: Session) => Promise<T>): Promise<T> {
    if (this.sessionBusy.has(u.id)) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload ${u.id} is busy with another request`, { status: 416 });
    }
    this.sessionBusy.add(u.id);
    try {
      const start = await this.sessionStart(u);
      let s = this.sessions.get(u.id);
      if (!s || s.repo !== u.repo || s.offset !== start.offset) {
        // No running hash here (restart, another process, a failed chunk): re-hash what is on disk.
        const algorithm = s?.algorithm ?? 'sha256';
        let offset = 0;
        let hash = createHash(algorithm);
        if (start.offset > 0) {
          offset = Math.min((await this.blobs.uploadSize(u.id)) ?? 0, start.offset);
          await this.blobs.truncateUpload(u.id, offset);
          hash = await this.blobs.hashUpload(u.id, algorithm, offset);
          if (offset !== start.offset) await this.store.saveUpload(u.id, u.repo, start.startedAt, offset);
        }
        s = { repo: u.repo, offset, algorithm, hash, startedAt: start.startedAt, persisted: start.persisted };
        this.sessions.set(u.id, s);
      }
      s.persisted = start.persisted;
      return await fn(s);
    } finally {
      this.sessionBusy.delete(u.id);
    }
  }

  /** Moves verified bytes into place and records them; coordinated with GC so a blob is never half-deleted. */
  private async commit(id: string, digest: Digest, size: number, repo: string, opts: { synced: boolean; session?: { id: string; startedAt: string } }): Promise<void> {
    await this.waitForGc(digest.value);
    this.busy(digest.value, +1);
    try {
      await this.blobs.commit(id, digest, { synced: opts.synced });
      await this.store.recordBlob(digest.value, size, repo, opts.session);
    } finally {
      this.busy(digest.value, -1);
    }
  }

  private busy(digest: string, delta: 1 | -1): void {
    const n = (this.busyDigests.get(digest) ?? 0) + delta;
    if (n <= 0) this.busyDigests.delete(digest);
    else this.busyDigests.set(digest, n);
  }

  private async waitForGc(digest: string): Promise<void> {
    for (let p = this.gcDeleting.get(digest); p; p = this.gcDeleting.get(digest)) await p;
  }

  // ---- manifests (distribution-spec §Pushing manifests)

  /**
   * Validates and stores a manifest byte-exact under a tag or digest (plus `extraTags`), then notifies
   * subscribers. `ifMatch`/`ifNoneMatch` make a tag update conditional (the referrers tag schema).
   */
  async putManifest(
    repo: string,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    opts: { extraTags?: string[]; ifMatch?: string; ifNoneMatch?: string; actor?: string; principal?: Principal } = {},
  ): Promise<{ digest: string; subject: string | null; warnings: string[] }> {
    const ref = parseReference(reference);
    const algorithm = 'digest' in ref ? ref.digest.algorithm : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if ('digest' in ref && ref.digest.value !== digest) throw new RegistryError('DIGEST_INVALID', `the manifest's digest is ${digest}, not ${ref.digest.value}`);
    const parsed = parseManifest(bytes, contentType);
    const tags = [...new Set([...('tag' in ref ? [ref.tag] : []), ...(opts.extraTags ?? [])])];
    for (const t of tags) checkTag(t);
    let warnings: string[] = [];
    let refused: unknown;
    const gated = tags.filter((t) => !ATTACHMENT_TAG.test(t));
    if (this.gate && gated.length > 0 && !parsed.subject) {
      try {
        ({ warnings } = await this.gate.beforeTag({ repo, digest, tags: gated, mediaType: parsed.mediaType, actor: opts.actor ?? 'unknown', ...(opts.principal ? { principal: opts.principal } : {}) }));
      } catch (e) {
        // Keep the content, unreleased: stored by digest without the refused tags.
        refused = e;
        tags.splice(0, tags.length, ...tags.filter((t) => !gated.includes(t)));
      }
    }
    const conditional = opts.ifMatch !== undefined || opts.ifNoneMatch !== undefined;
    if (conditional && tags.length !== 1) throw new RegistryError('MANIFEST_INVALID', 'If-Match / If-None-Match need exactly one tag');

    const refs = [...parsed.blobs, ...parsed.manifests];
    for (const d of [...refs, digest]) {
      await this.waitForGc(d);
      this.busy(d, +1);
    }
    const unlock = conditional ? await this.lockTag(repo, tags[0] as string) : undefined;
    try {
      if (conditional) await this.checkPrecondition(repo, tags[0] as string, opts.ifMatch, opts.ifNoneMatch);
      const haveBlobs = await this.store.presentBlobs(repo, parsed.blobs);
      const missingBlob = parsed.blobs.find((d) => !haveBlobs.has(d));
      if (missingBlob) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `blob ${missingBlob} referenced by the manifest is not in ${repo}`, { detail: { digest: missingBlob } });
      const haveManifests = await this.store.presentManifests(repo, parsed.manifests);
      const missingManifest = parsed.manifests.find((d) => !haveManifests.has(d));
      if (missingManifest) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest ${missingManifest} listed by the index is not in ${repo}`, { detail: { digest: missingManifest } });
      if ((await this.store.blobSize(digest)) === undefined) await this.blobs.put(parseDigest(digest), bytes);
      await this.store.putManifest({
        repo,
        digest,
        mediaType: parsed.mediaType,
        artifactType: parsed.artifactType,
        subjectDigest: parsed.subject?.digest ?? null,
        size: bytes.length,
        annotations: parsed.annotations ? JSON.stringify(parsed.annotations) : null,
        refs,
        tags,
      });
    } finally {
      unlock?.();
      for (const d of [...refs, digest]) this.busy(d, -1);
    }
    const event: ManifestEvent = {
      repo,
      digest,
      mediaType: parsed.mediaType,
      artifactType: parsed.artifactType,
      subject: parsed.subject?.digest ?? null,
      ...(tags[0] !== undefined ? { tag: tags[0] } : {}),
      tags,
      bytes,
    };
    for (const l of [...this.listeners]) {
      try {
        await l(event);
      } catch (e) {
        this.log.error({ err: e, repo, digest }, 'a manifest listener failed');
      }
    }
    if (refused !== undefined) throw refused;
    return { digest, subject: parsed.subject?.digest ?? null, warnings };
  }

  private async checkPrecondition(repo: string, tag: string, ifMatch: string | undefined, ifNoneMatch: string | undefined): Promise<void> {
    const current = await this.store.manifestByTag(repo, tag);
    const etag = current ? etagOf(current.digest) : undefined;
    const list = (h: string): string[] => h.split(',').map((x) => x.trim().replace(/^W\//, ''));
    if (ifMatch !== undefined) {
      const want = list(ifMatch);
      const ok = etag !== undefined && (want.includes('*') || want.includes(etag));
      if (!ok) throw new RegistryError('MANIFEST_INVALID', `If-Match ${ifMatch} does not match tag ${tag} (${etag ?? 'absent'})`, { status: 412 });
    }
    if (ifNoneMatch !== undefined && etag !== undefined) {
      const want = list(ifNoneMatch);
      if (want.includes('*') || want.includes(etag)) throw new RegistryError('MANIFEST_INVALID', `If-None-Match ${ifNoneMatch}: tag ${tag} is ${etag}`, { status: 412 });
    }
  }

  /** Serialises conditional updates of one tag in this process. */
  private async lockTag(repo: string, tag: string): Promise<() => void> {
    const key = `${repo}:${tag}`;
    for (let p = this.tagLocks.get(key); p; p = this.tagLocks.get(key)) await p;
    let release!: () => void;
    this.tagLocks.set(key, new Promise<void>((r) => (release = r)));
    return () => {
      this.tagLocks.delete(key);
      release();
    };
  }

  /** Deletes a manifest (by digest: with its tags) or a tag; false when there was nothing to delete. */
  async deleteManifest(repo: string, reference: string): Promise<boolean> {
    const ref = parseReference(reference);
    return 'tag' in ref ? this.store.deleteTag(repo, ref.tag) : this.store.deleteManifest(repo, ref.digest.value);
  }

  /** Removes a blob from a repository (its bytes go at the next GC if nothing references them). */
  deleteBlob(repo: string, digest: Digest): Promise<boolean> {
    return this.store.unlinkBlob(repo, digest.value);
  }

  tags(repo: string, n: number, last?: string): Promise<string[]> {
    return this.store.tags(repo, n, last);
  }

  referrers(repo: string, subject: string, n: number, last?: string, artifactType?: string): Promise<ReferrerRow[]> {
    return this.store.referrers(repo, subject, n, last, artifactType);
  }

  // ---- garbage collection

  /**
   * Removes blobs that no manifest in any repository is or references (config, layers, index children),
   * once older than the grace period; files no row knows (a crash between rename and commit) likewise;
   * and upload sessions idle for a day. Blobs being committed or referenced right now are left alone.
   */
  gc(opts: { graceMs?: number; nowMs?: number } = {}): Promise<GcResult> {
    this.gcRunning ??= this.runGc(opts).finally(() => (this.gcRunning = undefined));
    return this.gcRunning;
  }

  private async runGc(opts: { graceMs?: number; nowMs?: number }): Promise<GcResult> {
    const now = opts.nowMs ?? Date.now();
    const grace = opts.graceMs ?? this.gcGraceMs;
    const cutoffMs = now - grace;
    const cutoff = new Date(cutoffMs).toISOString();
    const result: GcResult = { removed_blobs: 0, freed_bytes: 0, removed_uploads: 0 };
    const seen = new Set<string>();
    for (;;) {
      const batch = (await this.store.unreferencedBlobs(cutoff, 500)).filter((b) => !seen.has(b.digest));
      if (batch.length === 0) break;
      for (const b of batch) {
        seen.add(b.digest);
        if (await this.gcDelete(b.digest, () => this.store.deleteBlobIfUnreferenced(b.digest, cutoff))) {
          result.removed_blobs++;
          result.freed_bytes += b.size;
        }
      }
    }
    // Files without a row: a crash after the rename and before the database commit.
    let pending: { digest: string; size: number }[] = [];
    const sweep = async (): Promise<void> => {
      const known = await this.store.knownBlobs(pending.map((p) => p.digest));
      for (const f of pending) {
        if (known.has(f.digest)) continue;
        if (await this.gcDelete(f.digest, async () => !(await this.store.knownBlobs([f.digest])).has(f.digest))) {
          result.removed_blobs++;
          result.freed_bytes += f.size;
        }
      }
      pending = [];
    };
    for await (const f of this.blobs.list()) {
      if (f.modifiedMs >= cutoffMs || seen.has(f.digest)) continue;
      pending.push({ digest: f.digest, size: f.size });
      if (pending.length >= 500) await sweep();
    }
    await sweep();

    // Abandoned upload sessions, and staged files no session owns.
    const uploadCutoffMs = now - Math.max(UPLOAD_TTL_MS, grace);
    for (const id of await this.store.staleUploads(new Date(uploadCutoffMs).toISOString())) {
      if (this.sessionBusy.has(id)) continue;
      this.sessions.delete(id);
      await this.store.deleteUpload(id);
      await this.blobs.deleteUpload(id);
      result.removed_uploads++;
    }
    const live = await this.store.uploadIds();
    for await (const u of this.blobs.listUploads()) {
      if (u.modifiedMs < uploadCutoffMs && !live.has(u.id)) await this.blobs.deleteUpload(u.id);
    }
    return result;
  }

  /** Deletes one blob if `decide` (which removes its row) says so, unless a request is using the digest. */
  private async gcDelete(digest: string, decide: () => Promise<boolean>): Promise<boolean> {
    if (this.busyDigests.has(digest)) return false;
    let done!: () => void;
    this.gcDeleting.set(digest, new Promise<void>((r) => (done = r)));
    try {
      if (!(await decide())) return false;
      await this.blobs.delete(parseDigest(digest));
      const cached = this.manifestCache.get(digest);
      if (cached) {
        this.manifestCache.delete(digest);
        this.manifestCacheBytes -= cached.length;
      }
      return true;
    } finally {
      this.gcDeleting.delete(digest);
      done();
    }
  }
}

function unknownUpload(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', `no upload session ${JSON.stringify(id.slice(0, 80))} in this repository`);
}

/**
 * Location, Range and Docker-Upload-UUID of an upload session (distribution-spec §Pushing a blob in
 * chunks). Clients keep the Location's query (`_state`) on the next request, as the spec requires.
 */
export function uploadHeaders(u: UploadRef, offset: number): Record<string, string> {
  return {
    Location: `/v2/${u.repo}/blobs/uploads/${u.id}${u.state ? `?_state=${u.state}` : ''}`,
    Range: `0-${offset > 0 ? offset - 1 : 0}`,
    'Docker-Upload-UUID': u.id,
  };
}
