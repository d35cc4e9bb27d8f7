import { readStream } from './blobs.js';
/**
 * Generic file repositories: files at arbitrary paths (/files/<repo>/<path>), content-addressed in the registry's
 * blob store, plus the detached signatures stored beside them.
 *
 * Bytes go through the registry's own upload path (Registry.startUpload/appendChunk/finishUpload): streamed to disk,
 * hashed as they arrive, fsynced and renamed into place before the request is acknowledged, and coordinated with
 * garbage collection. Each file also holds a row in registry_manifest_refs (manifest_digest `file:<path>`), the
 * table garbage collection reads to decide what is referenced, so a stored file's blob is never collected.
 *
 * Detached signatures (`<path>.sig`, `.asc`, `.sigstore.json`, `.minisig`) are ordinary files too; whenever a file
 * or its signature is stored, the pair is verified with core's verify() against the keys registered for the
 * repository (KeyService.trustedKeysFor) and the verdict is recorded in generic_signatures. A signed SHA256SUMS
 * vouches for the files it lists in its directory whose sha256 matches (core's checksums module).
 *
 * Signing policies apply through `gate` (FileGate, installed by the policy domain): put() stages the content in the
 * blob store, asks the gate with the signatures already beside the path judged against the staged content, and only
 * then records the path ("sign, then push": signatures may be stored before the file they sign).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { checkValidity, detectSignatureKind, parseChecksums, verify, type SignatureKind, type TrustedKey, type Verdict, type Artifact } from '@signet/core';
import type { Db } from '../storage/db.js';
import type { KeyService, TrustedKeyRecord } from '../keys/index.js';
import type { Principal } from '../identity/index.js';
import type { BlobFile, BlobRange } from './blobs.js';
import { parseDigest } from './oci.js';
import { RepositoryError } from './repository-errors.js';
import type { Registry } from './service.js';

export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
/** Signature files larger than this are recorded as invalid without parsing (bundles and armored signatures are small). */
const MAX_SIGNATURE_FILE = 1 << 20;
/** Files up to this size are verified from their bytes; larger ones from streamed digests (formats that sign a digest). */
const MAX_VERIFY_IN_MEMORY = 64 << 20;
/** A SHA256SUMS list larger than this is not read. */
const MAX_CHECKSUMS_FILE = 4 << 20;

/** The detached-signature suffixes, longest first (`.sigstore.json` before anything shorter). */
export const SIGNATURE_SUFFIXES = ['.sigstore.json', '.minisig', '.asc', '.sig'] as const;
export const CHECKSUM_LISTS = ['SHA256SUMS'] as const;

interface Logger {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface FileRow {
  repo: string;
  path: string;
  digest: string;
  size: number;
  content_type: string;
  uploaded_by: string;
  created_at: string;
  updated_at: string;
}

export interface SignatureRow {
  repo: string;
  path: string;
  signature_path: string;
  file_digest: string;
  signature_digest: string;
  kind: string;
  status: 'valid' | 'invalid' | 'unverified';
  key_id: string | null;
  key_fingerprint: string | null;
  identity: string | null;
  signed_at: string | null;
  checks: { name: string; ok: boolean; detail: string }[];
  reason: string | null;
  created_at: string;
}

/** A signature as shown to API clients: its recorded verdict, judged again against the key's validity now. */
export interface SignatureView {
  signature_path: string;
  kind: string;
  status: 'valid' | 'invalid' | 'unverified';
  /** When a SHA256SUMS list vouches for the file: the list's path. */
  via?: string;
  signer: { key_id?: string; key_fingerprint?: string; key_status?: string; identity?: string };
  signed_at?: string;
  reason?: string;
  checks: { name: string; ok: boolean; detail: string }[];
  recorded_at?: string;
}

/**
 * Policy enforcement for generic files (design: "push under policy"). The registry stays policy-agnostic: the policy
 * domain implements this gate and app.ts installs it as GenericFiles.gate. Signature files and checksum lists
 * (exemptFromPolicy) never pass through it, as OCI signature tags never pass through the registry's ReleaseGate.
 */
export interface FileGate {
  /**
   * Before `file.path` is pointed at the staged content `file.digest` (already in the blob store, not yet recorded).
   * `signatures()` gives the signatures already beside the path, judged against the staged content (nothing is
   * recorded by it). Throw to refuse: nothing is recorded at the path (an older file there stays as it was) and the
   * staged blob is left for garbage collection. Returns warnings for the client (Warning: 299 headers).
   */
  beforeStore(ctx: { file: FileRow; principal: Principal | undefined; replacing: boolean; signatures: () => Promise<SignatureView[]> }): Promise<{ warnings: string[] }>;
  /** Before a consumer (a caller who may not write the repository) reads a stored file; throw to refuse. Returns warnings. */
  beforeServe(ctx: { file: FileRow; principal: Principal | null }): Promise<{ warnings: string[] }>;
}

/** Signature files and checksum lists: never refused or held by a policy (they are how files get to satisfy one). */
export function exemptFromPolicy(path: string): boolean {
  if (signatureTarget(path)) return true;
  const name = path.slice(path.lastIndexOf('/') + 1);
  return (CHECKSUM_LISTS as readonly string[]).includes(name);
}

/** What verifying one signature file against one file found. */
export type PairVerdict = Omit<SignatureRow, 'repo' | 'path' | 'signature_path' | 'file_digest' | 'signature_digest' | 'created_at'>;
/** Verdicts worked out for staged content, by signature path, so that storing it does not verify them again. */
export type StagedVerdicts = Map<string, { signatureDigest: string; fileDigest: string; verdict: PairVerdict }>;

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Splits and checks the path part of /files/<...> (percent-decoded segment by segment): no empty, "." or ".."
 * segments, no NUL or control characters, no backslash, each segment ≤ 255 bytes and ≤ 1024 bytes in all.
 * A trailing "/" is allowed when `dir` (listings). Throws FILE_PATH_INVALID naming the problem.
 */
export function splitFilesPath(raw: string, dir = false): string[] {
  if (raw.length > MAX_PATH_BYTES * 3 + 512) throw new RepositoryError('FILE_PATH_INVALID', `the path is longer than ${MAX_PATH_BYTES} bytes`);
  const parts = raw.split('/');
  if (dir && parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const out: string[] = [];
  for (const p of parts) {
    let s: string;
    try {
      s = decodeURIComponent(p);
    } catch {
      throw new RepositoryError('FILE_PATH_INVALID', `path segment ${JSON.stringify(p.slice(0, 100))} is not valid percent-encoded UTF-8`);
    }
    if (s === '') throw new RepositoryError('FILE_PATH_INVALID', 'the path has an empty segment ("//", or a leading or trailing "/")');
    if (s === '.' || s === '..') throw new RepositoryError('FILE_PATH_INVALID', `the path may not contain "${s}" segments`);
    if (CONTROL.test(s)) throw new RepositoryError('FILE_PATH_INVALID', 'the path may not contain NUL or control characters');
    if (s.includes('/') || s.includes('\\')) throw new RepositoryError('FILE_PATH_INVALID', 'a path segment may not contain an encoded "/" or a "\\"');
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) throw new RepositoryError('FILE_PATH_INVALID', `path segment "${s.slice(0, 40)}…" is longer than ${MAX_SEGMENT_BYTES} bytes`);
    out.push(s);
  }
  if (Buffer.byteLength(out.join('/')) > MAX_PATH_BYTES) throw new RepositoryError('FILE_PATH_INVALID', `the path is longer than ${MAX_PATH_BYTES} bytes`);
  return out;
}

/** The file a detached signature file signs, or undefined when `path` is not named like a signature. */
export function signatureTarget(path: string): { target: string; suffix: string } | undefined {
  for (const s of SIGNATURE_SUFFIXES) {
    if (path.endsWith(s) && path.length > s.length && !path.slice(0, -s.length).endsWith('/')) return { target: path.slice(0, -s.length), suffix: s };
  }
  return undefined;
}

/** Which kind of registered key can verify a signature kind. */
function keyKindFor(kind: SignatureKind): TrustedKey['kind'] {
  switch (kind) {
    case 'pgp':
      return 'pgp';
    case 'minisign':
    case 'signify':
      return 'minisign';
    case 'sshsig':
      return 'ssh';
    default:
      return 'pkix';
  }
}

/** Hashes and counts what flows through. */
class Hasher extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}


const now = (): string => new Date().toISOString();
const fileRef = (path: string): string => `file:${path}`;

export interface PutResult {
  file: FileRow;
  created: boolean;
  /** Verdicts recorded because of this upload (the file's signatures, or this signature's file). */
  signatures: SignatureView[];
  /** The gate's warnings (a warn-mode policy rule not met, or the file held in quarantine). */
  warnings: string[];
}

export class GenericFiles {
  private pgp: Promise<typeof import('@signet/core/pgp')> | undefined;
  /** Installed by the policy domain (app.ts); absent means no enforcement. */
  gate?: FileGate;

  constructor(
    private readonly db: Db,
    private readonly registry: Registry,
    private readonly keys: KeyService | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * Splits /files/<segments> into a generic repository and a path: the longest existing repository name made of
   * leading segments. REPOSITORY_NOT_FOUND when none exists, REPOSITORY_KIND_MISMATCH when it is an OCI repository.
   */
  async resolve(segments: string[], allowEmptyPath = false): Promise<{ repo: string; path: string; visibility: 'private' | 'public' }> {
    const max = allowEmptyPath ? segments.length : segments.length - 1;
    const candidates: string[] = [];
    for (let i = 1; i <= max; i++) candidates.push(segments.slice(0, i).join('/'));
    const rows = candidates.length
      ? await this.db.selectFrom('repositories').select(['name', 'kind', 'visibility']).where('name', 'in', candidates).execute()
      : [];
    const best = rows.sort((a, b) => b.name.length - a.name.length)[0];
    if (!best) {
      throw new RepositoryError(
        'REPOSITORY_NOT_FOUND',
        `no generic repository is a prefix of "${segments.join('/').slice(0, 200)}": create it first with POST /api/v1/repositories {"name": …, "kind": "generic"}`,
      );
    }
    if (best.kind !== 'generic') throw new RepositoryError('REPOSITORY_KIND_MISMATCH', `repository "${best.name}" is an OCI repository: push images to it over /v2/`);
    return { repo: best.name, path: segments.slice(best.name.split('/').length).join('/'), visibility: best.visibility };
  }

  /** Generic repositories by name, after `after` (for callers that walk every file, e.g. policy dry runs). */
  async repositories(limit: number, after?: string): Promise<{ name: string; visibility: 'private' | 'public' }[]> {
    let q = this.db.selectFrom('repositories').select(['name', 'visibility']).where('kind', '=', 'generic');
    if (after !== undefined) q = q.where('name', '>', after);
    return q.orderBy('name').limit(limit).execute();
  }

  async stat(repo: string, path: string): Promise<FileRow | undefined> {
    const r = await this.db.selectFrom('generic_files').selectAll().where('repo', '=', repo).where('path', '=', path).executeTakeFirst();
    return r ? { ...r, size: Number(r.size) } : undefined;
  }

  /** A stream of a stored file (or a range of it). */
  async open(f: FileRow, range?: BlobRange): Promise<Readable> {
    const s = await this.registry.blobs.open(parseDigest(f.digest), range);
    if (!s) {
      this.log.error({ repo: f.repo, path: f.path, digest: f.digest }, 'generic file is recorded but its blob is missing');
      throw new RepositoryError('FILE_NOT_FOUND', `the content of ${f.repo}/${f.path} is missing from the blob store`);
    }
    return s;
  }

  /** A stored file opened for serving over HTTP (BlobFile.copyTo: pooled buffers, no per-chunk allocation). */
  async openForServing(f: FileRow): Promise<BlobFile> {
    const b = await this.registry.blobs.openForServing(parseDigest(f.digest));
    if (!b) {
      this.log.error({ repo: f.repo, path: f.path, digest: f.digest }, 'generic file is recorded but its blob is missing');
      throw new RepositoryError('FILE_NOT_FOUND', `the content of ${f.repo}/${f.path} is missing from the blob store`);
    }
    return b;
  }

  async list(repo: string, opts: { prefix?: string; after?: string; limit: number }): Promise<{ files: { path: string; digest: string; size: number; content_type: string; updated_at: string }[]; next?: string }> {
    let q = this.db.selectFrom('generic_files').select(['path', 'digest', 'size', 'content_type', 'updated_at']).where('repo', '=', repo);
    // A prefix is matched as a string range, so LIKE wildcards in paths need no escaping: [prefix, prefix + U+10FFFF).
    if (opts.prefix) q = q.where('path', '>=', opts.prefix).where('path', '<', `${opts.prefix}\u{10ffff}`);
    if (opts.after !== undefined) q = q.where('path', '>', opts.after);
    const rows = await q.orderBy('path').limit(opts.limit + 1).execute();
    const page = rows.slice(0, opts.limit).map((r) => ({ ...r, size: Number(r.size) }));
    return { files: page, ...(rows.length > opts.limit && page.length ? { next: page[page.length - 1]!.path } : {}) };
  }

  /**
   * Stores a file: streams `source` into the blob store (sha256 computed while receiving), checks a declared
   * sha256 (nothing is kept on a mismatch), asks the gate (signing policies; signature files and checksum lists
   * exempt), then records the path. Verifies the signatures this completes.
   */
  async put(repo: string, path: string, source: Readable, opts: { declaredSha256?: string; contentType: string; actor: string; principal?: Principal }): Promise<PutResult> {
    const u = await this.registry.startUpload(repo);
    const hasher = new Hasher();
    let digest: string;
    try {
      // pipeline: a request that breaks off destroys the hasher too, so the upload fails instead of waiting.
      await this.registry.appendChunk(u, pipeline(source, hasher, () => undefined));
      digest = `sha256:${hasher.hash.digest('hex')}`;
      if (opts.declaredSha256 !== undefined && opts.declaredSha256 !== digest.slice(7)) {
        throw new RepositoryError('CHECKSUM_MISMATCH', `the uploaded content has sha256 ${digest.slice(7)}, but the request declared ${opts.declaredSha256}; nothing was stored`);
      }
      // Compares the digest once more against the registry's own running hash, fsyncs and moves the blob into place.
      await this.registry.finishUpload(u, parseDigest(digest), undefined);
    } catch (e) {
      await this.registry.cancelUpload(u).catch(() => undefined);
      throw e;
    }
    const at = now();
    let warnings: string[] = [];
    const staged: StagedVerdicts = new Map();
    if (this.gate && !exemptFromPolicy(path)) {
      // Judged before the path is recorded: the signatures beside it are verified against the staged content.
      // A refusal throws from here; the staged blob has no reference and is left for garbage collection.
      const file: FileRow = { repo, path, digest, size: hasher.size, content_type: opts.contentType, uploaded_by: opts.actor, created_at: at, updated_at: at };
      const replacing = (await this.stat(repo, path)) !== undefined;
      ({ warnings } = await this.gate.beforeStore({ file, principal: opts.principal, replacing, signatures: async () => (await this.signatures(file, { staged })).signatures }));
    }
    const created = await this.db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('generic_files').select('digest').where('repo', '=', repo).where('path', '=', path).executeTakeFirst();
      await trx
        .insertInto('generic_files')
        .values({ repo, path, digest, size: hasher.size, content_type: opts.contentType, uploaded_by: opts.actor, created_at: at, updated_at: at })
        .onConflict((oc) => oc.columns(['repo', 'path']).doUpdateSet({ digest, size: hasher.size, content_type: opts.contentType, uploaded_by: opts.actor, updated_at: at }))
        .execute();
      // The reference that keeps garbage collection away from the file's blob (see the module comment).
      await trx.deleteFrom('registry_manifest_refs').where('repo', '=', repo).where('manifest_digest', '=', fileRef(path)).execute();
      await trx.insertInto('registry_manifest_refs').values({ repo, manifest_digest: fileRef(path), digest }).execute();
      return before === undefined;
    });
    const file = (await this.stat(repo, path)) as FileRow;
    const signatures: SignatureView[] = [];
    try {
      const sig = signatureTarget(path);
      if (sig) {
        const target = await this.stat(repo, sig.target);
        if (target) signatures.push(await this.verifyPair(target, file));
      }
      for (const s of SIGNATURE_SUFFIXES) {
        const sf = await this.stat(repo, `${path}${s}`);
        if (!sf) continue;
        const known = staged.get(sf.path);
        signatures.push(known && known.signatureDigest === sf.digest && known.fileDigest === file.digest ? await this.recordPair(file, sf, known.verdict) : await this.verifyPair(file, sf));
      }
    } catch (e) {
      // The file is stored; a verification that could not run is tried again when its status is read.
      this.log.error({ err: e, repo, path }, 'verifying a generic file signature failed');
    }
    return { file, created, signatures, warnings };
  }

  /** Deletes a file, its signature records and its garbage-collection reference; false when it was not there. */
  async delete(repo: string, path: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('generic_files').where('repo', '=', repo).where('path', '=', path).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await trx.deleteFrom('registry_manifest_refs').where('repo', '=', repo).where('manifest_digest', '=', fileRef(path)).execute();
      await trx
        .deleteFrom('generic_signatures')
        .where('repo', '=', repo)
        .where((eb) => eb.or([eb('path', '=', path), eb('signature_path', '=', path)]))
        .execute();
      return true;
    });
  }

  // ---- signatures

  private async keysFor(repo: string): Promise<TrustedKeyRecord[]> {
    return this.keys ? this.keys.trustedKeysFor(repo, new Date(), { includeInvalid: true }) : [];
  }

  private pgpModule(): Promise<typeof import('@signet/core/pgp')> {
    this.pgp ??= import('@signet/core/pgp');
    return this.pgp;
  }

  /** The artifact as the signature kind needs it: the bytes when small enough, else the digest that kind signs. */
  private async artifactFor(file: FileRow, kind: SignatureKind): Promise<Artifact | string> {
    if (file.size <= MAX_VERIFY_IN_MEMORY) return { bytes: await readStream(await this.open(file), MAX_VERIFY_IN_MEMORY) };
    const algorithm = kind === 'minisign' ? 'blake2b512' : kind === 'sshsig' ? 'sha512' : 'sha256';
    if (kind === 'pgp' || kind === 'signify') return `a ${kind} signature covers the file bytes; files over ${MAX_VERIFY_IN_MEMORY >> 20} MiB are not verified from their bytes`;
    if (algorithm === 'sha256') return { digest: { algorithm, value: Buffer.from(file.digest.slice(7), 'hex') } };
    const h = createHash(algorithm);
    for await (const c of await this.open(file)) h.update(c as Buffer);
    return { digest: { algorithm, value: h.digest() } };
  }

  /** Verifies `sig` (a signature file) against `file` with the repository's registered keys and records the verdict. */
  async verifyPair(file: FileRow, sig: FileRow): Promise<SignatureView> {
    return this.recordPair(file, sig, await this.evaluate(file, sig));
  }

  private async recordPair(file: FileRow, sig: FileRow, rec: PairVerdict): Promise<SignatureView> {
    const base = { repo: file.repo, path: file.path, signature_path: sig.path, file_digest: file.digest, signature_digest: sig.digest };
    const row = { ...base, ...rec, checks: JSON.stringify(rec.checks), created_at: now() };
    await this.db
      .insertInto('generic_signatures')
      .values(row)
      .onConflict((oc) => oc.columns(['repo', 'path', 'signature_path']).doUpdateSet({ ...row }))
      .execute();
    return this.view({ ...base, ...rec, created_at: row.created_at }, new Map());
  }

  private async evaluate(file: FileRow, sig: FileRow): Promise<PairVerdict> {
    const empty = { key_id: null, key_fingerprint: null, identity: null, signed_at: null };
    if (sig.size > MAX_SIGNATURE_FILE) {
      return { ...empty, kind: 'unknown', status: 'invalid', checks: [], reason: `the signature file is ${sig.size} bytes; signatures over ${MAX_SIGNATURE_FILE} bytes are not read` };
    }
    const material = await readStream(await this.open(sig), MAX_SIGNATURE_FILE);
    const kind = detectSignatureKind(material);
    if (!kind) return { ...empty, kind: 'unknown', status: 'invalid', checks: [], reason: 'not a signature Signet recognises (Sigstore bundle, cosign, OpenPGP, SSH, minisign, signify)' };
    const artifact = await this.artifactFor(file, kind);
    if (typeof artifact === 'string') return { ...empty, kind, status: 'unverified', checks: [], reason: artifact };
    const want = keyKindFor(kind);
    const candidates = (await this.keysFor(file.repo)).filter((k) => k.trust.kind === want);
    if (candidates.length === 0) {
      return { ...empty, kind, status: 'unverified', checks: [], reason: `no ${want === 'pkix' ? 'PEM/cosign' : want} key is registered for repository ${file.repo} (POST /api/v1/signing/keys)` };
    }
    const opts = kind === 'pgp' ? { pgp: (await this.pgpModule()).pgpVerifier } : {};
    let last: { verdict: Verdict; key: TrustedKeyRecord } | undefined;
    for (const key of candidates) {
      let verdict: Verdict;
      try {
        // The key's validity (revocation, expiry) is part of the trust material: a revoked key fails here.
        verdict = await verify({ artifact, signature: material, trust: { keys: [key.trust] }, kind }, opts);
      } catch (e) {
        verdict = { ok: false, kind, checks: [{ name: 'format', ok: false, detail: (e as Error).message }] };
      }
      last = { verdict, key };
      if (verdict.ok) break;
    }
    const v = (last as { verdict: Verdict; key: TrustedKeyRecord }).verdict;
    const failed = v.checks.find((c) => !c.ok);
    return {
      kind,
      status: v.ok ? 'valid' : 'invalid',
      key_id: v.ok ? (last as { key: TrustedKeyRecord }).key.id : null,
      key_fingerprint: v.ok ? ((last as { key: TrustedKeyRecord }).key.info.fingerprint ?? null) : null,
      identity: v.ok ? (v.signer?.identity ?? null) : null,
      signed_at: v.ok ? (v.signer?.timestamp ?? null) : null,
      checks: v.checks,
      reason: v.ok ? null : failed ? `${failed.name}: ${failed.detail}` : 'verification failed',
    };
  }

  private async records(repo: string, path: string): Promise<SignatureRow[]> {
    const rows = await this.db.selectFrom('generic_signatures').selectAll().where('repo', '=', repo).where('path', '=', path).orderBy('signature_path').execute();
    return rows.map((r) => ({ ...r, status: r.status as SignatureRow['status'], checks: JSON.parse(r.checks) as SignatureRow['checks'] }));
  }

  /**
   * The signature records of a file, refreshed first where stale: a replaced file or signature, a signature with
   * no record yet, or one nobody could verify before (a key may have been registered since). With `staged` (content
   * not recorded at the path yet) stale verdicts are worked out but not recorded: they are kept in `staged`.
   */
  private async current(file: FileRow, staged?: StagedVerdicts): Promise<SignatureRow[]> {
    let rows = await this.records(file.repo, file.path);
    let changed = false;
    for (const s of SIGNATURE_SUFFIXES) {
      const sf = await this.stat(file.repo, `${file.path}${s}`);
      if (!sf) continue;
      const r = rows.find((x) => x.signature_path === sf.path);
      if (!r || r.file_digest !== file.digest || r.signature_digest !== sf.digest || r.status === 'unverified') {
        if (staged) {
          const verdict = await this.evaluate(file, sf);
          staged.set(sf.path, { signatureDigest: sf.digest, fileDigest: file.digest, verdict });
          const row: SignatureRow = { repo: file.repo, path: file.path, signature_path: sf.path, file_digest: file.digest, signature_digest: sf.digest, ...verdict, created_at: now() };
          rows = [...rows.filter((x) => x.signature_path !== sf.path), row];
        } else {
          await this.verifyPair(file, sf);
          changed = true;
        }
      }
    }
    if (changed) rows = await this.records(file.repo, file.path);
    return rows.sort((a, b) => (a.signature_path < b.signature_path ? -1 : a.signature_path > b.signature_path ? 1 : 0));
  }

  /** The recorded verdict judged again now: a key revoked or expired since makes a valid record invalid. */
  private view(r: Omit<SignatureRow, 'repo' | 'path'> & { path?: string }, keyCache: Map<string, TrustedKeyRecord | null>, via?: string): SignatureView {
    let status = r.status;
    let reason = r.reason ?? undefined;
    let keyStatus: string | undefined;
    const k = r.key_id ? keyCache.get(r.key_id) : undefined;
    if (r.key_id && k !== undefined) {
      if (k === null || k.deletedAt) {
        keyStatus = 'deleted';
        if (status === 'valid') [status, reason] = ['invalid', `key ${r.key_id} has been deleted`];
      } else {
        keyStatus = k.info.status;
        const v = checkValidity(k.validity, new Date());
        if (v && !v.ok && status === 'valid') [status, reason] = ['invalid', `key-validity: ${v.detail}`];
      }
    }
    return {
      signature_path: r.signature_path,
      kind: via ? `checksums+${r.kind}` : r.kind,
      status,
      ...(via ? { via } : {}),
      signer: {
        ...(r.key_id ? { key_id: r.key_id } : {}),
        ...(r.key_fingerprint ? { key_fingerprint: r.key_fingerprint } : {}),
        ...(keyStatus ? { key_status: keyStatus } : {}),
        ...(r.identity ? { identity: r.identity } : {}),
      },
      ...(r.signed_at ? { signed_at: r.signed_at } : {}),
      ...(reason ? { reason } : {}),
      checks: r.checks,
      recorded_at: r.created_at,
    };
  }

  private async keyCache(rows: SignatureRow[]): Promise<Map<string, TrustedKeyRecord | null>> {
    const m = new Map<string, TrustedKeyRecord | null>();
    for (const id of new Set(rows.map((r) => r.key_id).filter((x): x is string => !!x))) m.set(id, (await this.keys?.get(id)) ?? null);
    return m;
  }

  /**
   * Every signature that speaks for a file: its own detached signatures, and those of a SHA256SUMS in its directory
   * that lists it (valid only when the listed sha256 is the file's). `signed` is true when any is valid now.
   */
  async signatures(file: FileRow, opts: { staged?: StagedVerdicts } = {}): Promise<{ signed: boolean; signatures: SignatureView[] }> {
    const own = await this.current(file, opts.staged);
    const views = [...own.map((r) => ({ r, via: undefined as string | undefined }))];
    const slash = file.path.lastIndexOf('/');
    const dir = slash >= 0 ? file.path.slice(0, slash + 1) : '';
    const name = file.path.slice(dir.length);
    const extra: SignatureView[] = [];
    for (const listName of CHECKSUM_LISTS) {
      const listPath = `${dir}${listName}`;
      if (listPath === file.path || signatureTarget(file.path)?.target === listPath) continue;
      const list = await this.stat(file.repo, listPath);
      if (!list || list.size > MAX_CHECKSUMS_FILE) continue;
      let entries;
      try {
        entries = parseChecksums((await readStream(await this.open(list), MAX_CHECKSUMS_FILE)).toString('utf8'));
      } catch (e) {
        extra.push({ signature_path: listPath, kind: 'checksums', status: 'invalid', via: listPath, signer: {}, reason: `${listPath} cannot be read: ${(e as Error).message}`, checks: [] });
        continue;
      }
      const entry = entries.find((x) => x.name.replace(/^\.\//, '') === name);
      if (!entry) continue;
      const listSigs = await this.current(list);
      const cache = await this.keyCache(listSigs);
      const matches = entry.algorithm === 'sha256' && entry.digest === file.digest.slice(7);
      for (const r of listSigs) {
        const v = this.view(r, cache, listPath);
        const check = { name: 'checksum', ok: matches, detail: matches ? `${listPath} lists ${name} with its sha256` : `${listPath} lists ${name} with ${entry.algorithm} ${entry.digest}, not the file's ${file.digest}` };
        extra.push({ ...v, status: matches ? v.status : 'invalid', ...(matches ? {} : { reason: check.detail }), checks: [check, ...v.checks] });
      }
    }
    const cache = await this.keyCache(own);
    const all = [...views.map((x) => this.view(x.r, cache)), ...extra];
    return { signed: all.some((s) => s.status === 'valid'), signatures: all };
  }
}
