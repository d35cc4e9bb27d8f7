import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { bundleStatement, envelopePayload, fromUtf8, fulcioIdentity, parseBundle, parseEnvelope, parseManifest, parsePemBlocks } from '@signet/core';
import type { Database } from '../storage/schema.js';
import type { OpenDb } from '../storage/db.js';
import type { Actor, AuditLog } from '../audit/index.js';
import { globMatches, globProblem, globsIntersect, type KeyService, type TrustedKeyRecord } from '../keys/index.js';
import { exemptFromPolicy, readStream, type FileRow, type GenericFiles, type Registry, type SignatureView } from '../registry/index.js';
import type { SignatureIndexer, SignatureRecord, SignatureStore } from '../artifacts/index.js';
import { PolicyError } from './errors.js';
import { parsePolicy, type PolicyDocument, type PolicyEvent, type SignatureType } from './document.js';
import { evaluate, ruleApplies, type Evaluation, type KeyFact, type SignatureFact } from './evaluate.js';

/** A stored policy as the API shows it. */
export interface PolicyInfo extends PolicyDocument {
  id: string;
  created_at: string;
  updated_at: string;
}

export interface DryRunFailure {
  repository: string;
  /** An image's tag; a generic file has `path` instead. */
  tag?: string;
  path?: string;
  digest: string;
  mode: Evaluation['mode'];
  allowed: boolean;
  failures: { rule: string; required: boolean; mode: string; missing: string }[];
}

export interface DryRunResult {
  policy: string;
  repositories: string[];
  evaluated: number;
  failing: number;
  truncated: boolean;
  failures: DryRunFailure[];
}

export interface PolicyServiceOptions {
  database: OpenDb;
  keys: KeyService;
  registry: Registry;
  signatures: SignatureStore;
  /** Key signatures nobody could verify on arrival get another chance with the keys registered now. */
  indexer?: SignatureIndexer;
  /** Generic file repositories: the signatures beside a file (policies then govern files too). */
  files?: GenericFiles;
  audit: AuditLog;
}

type Row = Database['signing_policies'];

/** An image in the OCI registry counts as both artifact types the seed uses for it. */
export const OCI_ARTIFACT_TYPES = ['oci', 'docker'];

/** File-name suffixes that give a generic file a package artifact type (the seed's rpm, deb and apk). */
const FILE_TYPE_SUFFIXES: readonly (readonly [string, string])[] = [
  ['.rpm', 'rpm'],
  ['.deb', 'deb'],
  ['.apk', 'apk'],
];

/**
 * The artifact types of a generic file, from its name: every file is `generic`; `.rpm`, `.deb` and `.apk` files are
 * also `rpm`, `deb` and `apk`. So a rule with artifact_types [] or ["generic"] governs every file, ["rpm"] only .rpm
 * files, and ["docker", "oci"] no file at all.
 */
export function fileArtifactTypes(path: string): string[] {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const types = ['generic'];
  for (const [suffix, type] of FILE_TYPE_SUFFIXES) if (name.endsWith(suffix) && name.length > suffix.length) types.push(type);
  return types;
}

/**
 * The signature_type values a detached signature kind counts as (GenericFiles' kinds; `checksums+<kind>` for a signed
 * SHA256SUMS): OpenPGP → gpg, SSHSIG → ssh, minisign and signify → minisign, a Sigstore bundle → sigstore and cosign,
 * cosign's raw blob signature and a DSSE envelope (cosign attest-blob) → cosign.
 */
export function signatureTypesOf(kind: string): Exclude<SignatureType, 'any'>[] {
  switch (kind.startsWith('checksums+') ? kind.slice('checksums+'.length) : kind) {
    case 'pgp':
      return ['gpg'];
    case 'sshsig':
      return ['ssh'];
    case 'minisign':
    case 'signify':
      return ['minisign'];
    case 'sigstore-bundle':
      return ['sigstore', 'cosign'];
    case 'cosign':
    case 'dsse':
      return ['cosign'];
    default:
      return [];
  }
}
/** Signature records at most read per artifact. */
const MAX_RECORDS = 256;
const MAX_LAYER_BYTES = 1 << 20;
/** Tags (and generic files) at most evaluated by one dry run. */
export const MAX_DRY_RUN_TAGS = 10_000;
/** cosign's legacy signature/attestation/SBOM tags and the referrers tag schema's index tags. */
const SIGNATURE_TAG = /^(sha256|sha512)-[0-9a-f]{64,128}(\.(sig|att|sbom))?$/;
const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';

const isUniqueViolation = (e: unknown): boolean => {
  const x = e as { code?: string; message?: string };
  return x.code === '23505' || x.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed|duplicate key/.test(x.message ?? '');
};

function infoOf(r: Row): PolicyInfo {
  const doc = JSON.parse(r.document) as PolicyDocument;
  return { id: r.id, ...doc, created_at: r.created_at, updated_at: r.updated_at };
}

const documentOf = (p: PolicyInfo): PolicyDocument => ({ name: p.name, description: p.description, repositories: p.repositories, rules: p.rules });

/** Whether a token limited to `globs` may see a policy over `policyGlobs`. */
const visibleTo = (policyGlobs: readonly string[], globs: readonly string[] | undefined): boolean =>
  !globs || policyGlobs.some((p) => globs.some((g) => globsIntersect(p, g)));


/**
 * Signing policies: stored documents (CRUD, every change audited), the facts about an artifact's signatures that
 * evaluation needs (from the artifacts domain's verified records, the keys' current state, and the certificates
 * and statements in the signature layers), evaluation for push and pull, and dry runs over what the registry holds.
 */
/**
 * How long a snapshot of the stored policies serves before it is read again. Every push and every consumer read in
 * a governed repository asks for its policies; changes made through this process take effect at once (the snapshot
 * is dropped), changes made by another node sharing the database within this many milliseconds.
 */
const POLICY_SNAPSHOT_MS = 2_000;

interface DryRunOptions {
  only?: string[];
  canRead: (repo: string) => boolean;
}

/** Notes a dry-run evaluation in `out` when the artifact would fail. */
function record(out: DryRunResult, artifact: { repository: string; digest: string; tag?: string; path?: string }, ev: Evaluation): void {
  if (ev.satisfied) return;
  out.failing++;
  out.failures.push({
    ...artifact,
    mode: ev.mode,
    allowed: ev.allowed,
    failures: ev.results.filter((r) => !r.ok).map((r) => ({ rule: r.rule, required: r.required, mode: r.mode, missing: r.missing ?? '' })),
  });
}

export class PolicyService {
  private readonly db: Kysely<Database>;
  private snapshot: { loadedAt: number; docs: Promise<PolicyDocument[]> } | undefined;

  constructor(private readonly o: PolicyServiceOptions) {
    this.db = o.database.db;
  }

  // ---- documents

  private async row(ref: string): Promise<Row | undefined> {
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 128) return undefined;
    return (
      (await this.db.selectFrom('signing_policies').selectAll().where('id', '=', ref).executeTakeFirst()) ??
      (await this.db.selectFrom('signing_policies').selectAll().where('name', '=', ref).executeTakeFirst())
    );
  }

  /** A policy by id or name, as visible to a token limited to `globs`; POLICY_NOT_FOUND otherwise. */
  async get(ref: string, globs?: readonly string[]): Promise<PolicyInfo> {
    const r = await this.row(ref);
    if (!r || !visibleTo(JSON.parse(r.repositories) as string[], globs)) throw new PolicyError('POLICY_NOT_FOUND', `no signing policy with id or name ${JSON.stringify(String(ref).slice(0, 128))}`);
    return infoOf(r);
  }

  async list(filter: { repository?: string; visibleTo?: readonly string[] } = {}): Promise<PolicyInfo[]> {
    if (filter.repository !== undefined) {
      const p = filter.repository.includes('*') ? 'must be a repository name, not a glob' : globProblem(filter.repository);
      if (p) throw new PolicyError('INVALID_POLICY', `repository ${JSON.stringify(filter.repository.slice(0, 64))} ${p}`);
    }
    const rows = await this.db.selectFrom('signing_policies').selectAll().orderBy('name').execute();
    return rows
      .filter((r) => {
        const globs = JSON.parse(r.repositories) as string[];
        if (!visibleTo(globs, filter.visibleTo)) return false;
        return filter.repository === undefined || globs.some((g) => globMatches(g, filter.repository as string));
      })
      .map(infoOf);
  }

  /** The policies whose repository globs match `repo` (from a snapshot at most POLICY_SNAPSHOT_MS old). */
  async forRepository(repo: string): Promise<PolicyDocument[]> {
    const now = Date.now();
    if (!this.snapshot || now - this.snapshot.loadedAt > POLICY_SNAPSHOT_MS) {
      const docs = this.list().then((all) => all.map(documentOf));
      this.snapshot = { loadedAt: now, docs };
      // A failed read is not kept: the next caller reads again.
      docs.catch(() => {
        if (this.snapshot?.docs === docs) this.snapshot = undefined;
      });
    }
    return (await this.snapshot.docs).filter((d) => d.repositories.some((g) => globMatches(g, repo)));
  }

  private summary(p: PolicyDocument): Record<string, unknown> {
    return { name: p.name, repositories: p.repositories, rules: p.rules.map((r) => ({ name: r.name, mode: r.mode, required: r.required, on: r.on })) };
  }

  async create(body: unknown, actor: Actor): Promise<PolicyInfo> {
    const doc = parsePolicy(body);
    const now = new Date().toISOString();
    const row: Row = { id: randomUUID(), name: doc.name, repositories: JSON.stringify(doc.repositories), document: JSON.stringify(doc), created_at: now, updated_at: now };
    try {
      await this.db.insertInto('signing_policies').values(row).execute();
      this.snapshot = undefined;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const other = await this.row(doc.name);
      throw new PolicyError('POLICY_EXISTS', `a signing policy named "${doc.name}" already exists${other ? ` (id ${other.id}); replace it with PUT` : ''}`, {
        headers: other ? { Location: `/api/v1/signing/policies/${other.id}` } : {},
      });
    }
    await this.o.audit.record({ actor, action: 'policy.create', target: `policy:${row.id}`, outcome: 'allowed', details: this.summary(doc) });
    return infoOf(row);
  }

  async replace(ref: string, body: unknown, actor: Actor): Promise<PolicyInfo> {
    const old = await this.get(ref);
    const doc = parsePolicy(body);
    const now = new Date().toISOString();
    try {
      const res = await this.db
        .updateTable('signing_policies')
        .set({ name: doc.name, repositories: JSON.stringify(doc.repositories), document: JSON.stringify(doc), updated_at: now })
        .where('id', '=', old.id)
        .executeTakeFirst();
      this.snapshot = undefined;
      if (Number(res.numUpdatedRows) === 0) throw new PolicyError('POLICY_NOT_FOUND', `signing policy ${old.id} was deleted meanwhile`);
    } catch (e) {
      if (isUniqueViolation(e)) throw new PolicyError('POLICY_EXISTS', `another signing policy is named "${doc.name}"`);
      throw e;
    }
    await this.o.audit.record({ actor, action: 'policy.update', target: `policy:${old.id}`, outcome: 'allowed', details: { ...this.summary(doc), ...(old.name !== doc.name ? { old_name: old.name } : {}) } });
    return { id: old.id, ...doc, created_at: old.created_at, updated_at: now };
  }

  async delete(ref: string, actor: Actor): Promise<void> {
    const old = await this.get(ref);
    const res = await this.db.deleteFrom('signing_policies').where('id', '=', old.id).executeTakeFirst();
    this.snapshot = undefined;
    if (Number(res.numDeletedRows) === 0) throw new PolicyError('POLICY_NOT_FOUND', `signing policy ${old.id} was deleted meanwhile`);
    await this.o.audit.record({ actor, action: 'policy.delete', target: `policy:${old.id}`, outcome: 'allowed', details: this.summary(documentOf(old)) });
  }

  // ---- facts about an artifact

  private static keyFact(k: TrustedKeyRecord, repo: string, now: number): KeyFact {
    const v = k.validity;
    let status: string = k.info.status;
    if (k.deletedAt) status = 'deleted';
    else if (v.notBefore && v.notBefore.getTime() > now) status = 'not_yet_valid';
    const usable = !k.deletedAt && !v.revokedAt && !(v.notAfter && v.notAfter.getTime() <= now) && !(v.notBefore && v.notBefore.getTime() > now);
    return { id: k.id, name: k.info.name, status, usable, trustedForRepository: k.info.repositories.some((g) => globMatches(g, repo)) };
  }

  private async layerBytes(repo: string, digest: string): Promise<Buffer | undefined> {
    const b = await this.o.registry.openBlob(repo, digest).catch(() => undefined);
    if (!b) return undefined;
    if (b.size > MAX_LAYER_BYTES) {
      b.stream.destroy();
      return undefined;
    }
    return readStream(b.stream, MAX_LAYER_BYTES).catch(() => undefined);
  }

  /** The certificate extensions and in-toto statement a verified signature layer carries (best effort). */
  private async layerContent(r: SignatureRecord): Promise<{ extensions?: Record<string, string>; statement?: unknown }> {
    const out: { extensions?: Record<string, string>; statement?: unknown } = {};
    try {
      const bytes = await this.layerBytes(r.repo, r.layer_digest);
      if (!bytes) return out;
      if (r.format === 'bundle') {
        const parsed = parseBundle(JSON.parse(fromUtf8(bytes)));
        if (parsed.keyMaterial.kind === 'certificate' && parsed.keyMaterial.certificates[0]) out.extensions = fulcioIdentity(parsed.keyMaterial.certificates[0]).extensions;
        if (r.kind === 'attestation') out.statement = bundleStatement(parsed);
        return out;
      }
      if (r.kind === 'attestation') out.statement = JSON.parse(fromUtf8(envelopePayload(parseEnvelope(JSON.parse(fromUtf8(bytes))))));
      if (r.signer_type === 'certificate') {
        // cosign's legacy layout keeps the certificate in the layer annotation (reference oci-and-cosign §1.2).
        const m = await this.o.registry.readManifest(r.repo, r.source_digest);
        const layer = m ? parseManifest(m.bytes).layers?.[r.layer_index] : undefined;
        const pem = layer?.annotations?.[COSIGN_CERTIFICATE_ANNOTATION];
        const der = typeof pem === 'string' ? parsePemBlocks(pem)[0]?.der : undefined;
        if (der) out.extensions = fulcioIdentity(der).extensions;
      }
    } catch {
      // A layer that cannot be read again yields no extensions or statement: conditions on them then fail.
    }
    return out;
  }

  /**
   * The registered key that verified a signature, as the policy sees it now for `repo`: by its id, else by its
   * fingerprint (a signature verified with the key its log entry named counts as the registered key with that
   * fingerprint). Memoised per call of keyFacts, so one artifact's signatures look each key up once.
   */
  private keyFacts(repo: string): (id: string | undefined, fingerprint: string | undefined) => Promise<KeyFact | undefined> {
    const now = Date.now();
    const byId = new Map<string, KeyFact | undefined>();
    let byFingerprint: Map<string, string> | undefined;
    return async (id, fingerprint) => {
      if (!id && fingerprint) {
        byFingerprint ??= new Map((await this.o.keys.list()).map((k) => [k.fingerprint, k.id]));
        id = byFingerprint.get(fingerprint);
      }
      if (!id) return undefined;
      if (!byId.has(id)) {
        const k = await this.o.keys.get(id);
        byId.set(id, k ? PolicyService.keyFact(k, repo, now) : undefined);
      }
      return byId.get(id);
    };
  }

  /** What is known now about the verified signatures and attestations of `repo@digest`. */
  async facts(repo: string, digest: string): Promise<SignatureFact[]> {
    await this.o.indexer?.reverify(repo, digest).catch(() => 0);
    const records = (await this.o.signatures.forSubject(repo, digest)).filter((r) => r.status === 'valid').slice(0, MAX_RECORDS);
    if (records.length === 0) return [];
    const keyFact = this.keyFacts(repo);
    const facts: SignatureFact[] = [];
    for (const r of records) {
      const f: SignatureFact = { kind: r.kind, types: ['cosign', 'sigstore'] };
      if (r.signed_at) f.signed_at = r.signed_at;
      if (r.predicate_type) f.predicate_type = r.predicate_type;
      if (r.key_fingerprint) f.key_fingerprint = r.key_fingerprint;
      if (r.signer_type === 'key') {
        const k = await keyFact(r.key_id ?? undefined, r.key_fingerprint ?? undefined);
        if (k) f.key = k;
      } else if (r.identity) {
        f.identity = r.identity;
        if (r.issuer) f.issuer = r.issuer;
      }
      if (r.kind === 'attestation' || r.signer_type === 'certificate') {
        const c = await this.layerContent(r);
        if (c.extensions) f.extensions = c.extensions;
        if (c.statement !== undefined) f.statement = c.statement;
      }
      facts.push(f);
    }
    return facts;
  }

  /**
   * What is known now about the signatures that speak for a generic file: its own detached signatures and those of
   * a signed SHA256SUMS listing it (GenericFiles.signatures, judged now: a revoked or expired key no longer counts),
   * or the given `signatures` (the push gate passes those judged against staged content). Only valid ones count.
   */
  async fileFacts(file: FileRow, signatures?: SignatureView[]): Promise<SignatureFact[]> {
    const views = signatures ?? (this.o.files ? (await this.o.files.signatures(file)).signatures : []);
    const keyFact = this.keyFacts(file.repo);
    const facts: SignatureFact[] = [];
    for (const v of views.filter((x) => x.status === 'valid').slice(0, MAX_RECORDS)) {
      const types = signatureTypesOf(v.kind);
      if (types.length === 0) continue;
      const f: SignatureFact = { kind: 'signature', types };
      if (v.signed_at) f.signed_at = v.signed_at;
      if (v.signer.key_fingerprint) f.key_fingerprint = v.signer.key_fingerprint;
      const k = v.signer.key_id || v.signer.key_fingerprint ? await keyFact(v.signer.key_id, v.signer.key_fingerprint) : undefined;
      if (k) f.key = k;
      // A keyless bundle's certificate identity (the generic verifier records no issuer). A key's own user id
      // (e.g. an OpenPGP UID) is not a keyless identity: the key decides.
      else if (v.signer.identity) f.identity = v.signer.identity;
      facts.push(f);
    }
    return facts;
  }

  /**
   * The enforcement entry point for generic files: the policies governing the file's repository, their rules for
   * `on` that apply to the file's artifact types (fileArtifactTypes), applied to the file's signatures. Facts are
   * gathered only when some rule applies. `signatures` replaces the stored ones (content not recorded yet).
   */
  async evaluateFile(file: FileRow, on: PolicyEvent | 'any', opts: { policies?: PolicyDocument[]; facts?: SignatureFact[]; signatures?: () => Promise<SignatureView[]> } = {}): Promise<Evaluation> {
    const policies = opts.policies ?? (await this.forRepository(file.repo));
    const ctx = { repository: file.repo, artifact_types: fileArtifactTypes(file.path), on };
    if (!policies.some((p) => p.rules.some((r) => ruleApplies(r, ctx)))) return evaluate(policies, [], ctx);
    const facts = opts.facts ?? (await this.fileFacts(file, opts.signatures ? await opts.signatures() : undefined));
    return evaluate(policies, facts, ctx);
  }

  /**
   * The enforcement entry point: the policies governing `repo`, their rules for `on`, applied to `repo@digest`.
   * `on: 'any'` applies every rule (dry runs, the verify API). `policies` overrides the stored ones.
   */
  async evaluate(repo: string, digest: string, on: PolicyEvent | 'any', opts: { policies?: PolicyDocument[]; artifactTypes?: string[]; facts?: SignatureFact[] } = {}): Promise<Evaluation> {
    const policies = opts.policies ?? (await this.forRepository(repo));
    if (policies.length === 0) return evaluate([], [], { repository: repo, artifact_types: [], on });
    const facts = opts.facts ?? (await this.facts(repo, digest));
    return evaluate(policies, facts, { repository: repo, artifact_types: opts.artifactTypes ?? OCI_ARTIFACT_TYPES, on });
  }

  /**
   * Evaluates `doc` against every tag the OCI repositories it governs hold now, then every file of the generic
   * repositories it governs (those `canRead` allows, narrowed to `only` globs when given; MAX_DRY_RUN_TAGS tags and
   * files in all), and lists what would fail; it enforces nothing.
   */
  async dryRun(doc: PolicyDocument, opts: DryRunOptions): Promise<DryRunResult> {
    const out: DryRunResult = { policy: doc.name, repositories: [], evaluated: 0, failing: 0, truncated: false, failures: [] };
    for await (const name of this.governed((n, last) => this.o.registry.store.repositories(n, last), doc, opts, out)) {
      let lastTag: string | undefined;
      for (;;) {
        const tags = await this.o.registry.tags(name, 1000, lastTag);
        if (tags.length === 0) break;
        lastTag = tags[tags.length - 1];
        for (const tag of tags) {
          if (SIGNATURE_TAG.test(tag)) continue;
          if (out.evaluated >= MAX_DRY_RUN_TAGS) {
            out.truncated = true;
            return out;
          }
          const m = await this.o.registry.resolve(name, tag).catch(() => undefined);
          if (!m) continue;
          out.evaluated++;
          record(out, { repository: name, tag, digest: m.digest }, await this.evaluate(name, m.digest, 'any', { policies: [doc] }));
        }
        if (tags.length < 1000) break;
      }
    }
    if (this.o.files) await this.dryRunFiles(this.o.files, doc, opts, out);
    return out;
  }

  /** The repositories `list` pages through that `doc` governs, narrowed by `opts`; each is noted in out.repositories. */
  private async *governed(list: (n: number, last?: string) => Promise<{ name: string }[]>, doc: PolicyDocument, opts: DryRunOptions, out: DryRunResult): AsyncGenerator<string> {
    let last: string | undefined;
    for (;;) {
      const page = await list(500, last);
      if (page.length === 0) return;
      last = page[page.length - 1]!.name;
      for (const { name } of page) {
        if (!doc.repositories.some((g) => globMatches(g, name))) continue;
        if (opts.only && !opts.only.some((g) => globMatches(g, name))) continue;
        if (!opts.canRead(name)) continue;
        out.repositories.push(name);
        yield name;
      }
      if (page.length < 500) return;
    }
  }

  /** The generic-repository half of dryRun: every file (signature files and checksum lists exempt), by path. */
  private async dryRunFiles(files: GenericFiles, doc: PolicyDocument, opts: DryRunOptions, out: DryRunResult): Promise<void> {
    for await (const name of this.governed((n, last) => files.repositories(n, last), doc, opts, out)) {
      let after: string | undefined;
      for (;;) {
        const listed = await files.list(name, { limit: 1000, ...(after !== undefined ? { after } : {}) });
        for (const entry of listed.files) {
          if (exemptFromPolicy(entry.path)) continue;
          if (out.evaluated >= MAX_DRY_RUN_TAGS) {
            out.truncated = true;
            return;
          }
          const f: FileRow = { repo: name, ...entry, uploaded_by: '', created_at: entry.updated_at };
          out.evaluated++;
          record(out, { repository: name, path: f.path, digest: f.digest }, await this.evaluateFile(f, 'any', { policies: [doc] }));
        }
        if (listed.next === undefined) break;
        after = listed.next;
      }
    }
  }
}
