import { readStream } from '../registry/index.js';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { bundleStatement, envelopePayload, fromUtf8, fulcioIdentity, parseBundle, parseEnvelope, parseManifest, parsePemBlocks } from '@signet/core';
import type { Database } from '../storage/schema.js';
import type { OpenDb } from '../storage/db.js';
import type { Actor, AuditLog } from '../audit/index.js';
import { globMatches, globProblem, globsIntersect, type KeyService, type TrustedKeyRecord } from '../keys/index.js';
import type { Registry } from '../registry/index.js';
import type { SignatureIndexer, SignatureRecord, SignatureStore } from '../artifacts/index.js';
import { PolicyError } from './errors.js';
import { parsePolicy, type PolicyDocument, type PolicyEvent } from './document.js';
import { evaluate, type Evaluation, type KeyFact, type SignatureFact } from './evaluate.js';

/** A stored policy as the API shows it. */
export interface PolicyInfo extends PolicyDocument {
  id: string;
  created_at: string;
  updated_at: string;
}

export interface DryRunFailure {
  repository: string;
  tag: string;
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
  audit: AuditLog;
}

type Row = Database['signing_policies'];

/** An image in the OCI registry counts as both artifact types the seed uses for it. */
export const OCI_ARTIFACT_TYPES = ['oci', 'docker'];
/** Signature records at most read per artifact. */
const MAX_RECORDS = 256;
const MAX_LAYER_BYTES = 1 << 20;
/** Tags at most evaluated by one dry run. */
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
export class PolicyService {
  private readonly db: Kysely<Database>;

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

  /** The policies whose repository globs match `repo`. */
  async forRepository(repo: string): Promise<PolicyDocument[]> {
    return (await this.list({ repository: repo })).map(documentOf);
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

  /** What is known now about the verified signatures and attestations of `repo@digest`. */
  async facts(repo: string, digest: string): Promise<SignatureFact[]> {
    await this.o.indexer?.reverify(repo, digest).catch(() => 0);
    const records = (await this.o.signatures.forSubject(repo, digest)).filter((r) => r.status === 'valid').slice(0, MAX_RECORDS);
    if (records.length === 0) return [];
    const now = Date.now();
    const byId = new Map<string, KeyFact | undefined>();
    const keyById = async (id: string): Promise<KeyFact | undefined> => {
      if (!byId.has(id)) {
        const k = await this.o.keys.get(id);
        byId.set(id, k ? PolicyService.keyFact(k, repo, now) : undefined);
      }
      return byId.get(id);
    };
    let byFingerprint: Map<string, string> | undefined;
    const facts: SignatureFact[] = [];
    for (const r of records) {
      const f: SignatureFact = { kind: r.kind, types: ['cosign', 'sigstore'] };
      if (r.signed_at) f.signed_at = r.signed_at;
      if (r.predicate_type) f.predicate_type = r.predicate_type;
      if (r.key_fingerprint) f.key_fingerprint = r.key_fingerprint;
      if (r.signer_type === 'key') {
        let id = r.key_id ?? undefined;
        if (!id && r.key_fingerprint) {
          // Verified with the key its log entry named: it counts as the registered key with that fingerprint.
          byFingerprint ??= new Map((await this.o.keys.list()).map((k) => [k.fingerprint, k.id]));
          id = byFingerprint.get(r.key_fingerprint);
        }
        const k = id ? await keyById(id) : undefined;
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
   * Evaluates `doc` against every tag the repositories it governs hold now (those `canRead` allows, narrowed to
   * `only` globs when given) and lists what would fail; it enforces nothing.
   */
  async dryRun(doc: PolicyDocument, opts: { only?: string[]; canRead: (repo: string) => boolean }): Promise<DryRunResult> {
    const out: DryRunResult = { policy: doc.name, repositories: [], evaluated: 0, failing: 0, truncated: false, failures: [] };
    let last: string | undefined;
    for (;;) {
      const page = await this.o.registry.store.repositories(500, last);
      if (page.length === 0) break;
      last = page[page.length - 1]!.name;
      for (const { name } of page) {
        if (!doc.repositories.some((g) => globMatches(g, name))) continue;
        if (opts.only && !opts.only.some((g) => globMatches(g, name))) continue;
        if (!opts.canRead(name)) continue;
        out.repositories.push(name);
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
            const ev = await this.evaluate(name, m.digest, 'any', { policies: [doc] });
            if (ev.satisfied) continue;
            out.failing++;
            out.failures.push({
              repository: name,
              tag,
              digest: m.digest,
              mode: ev.mode,
              allowed: ev.allowed,
              failures: ev.results.filter((r) => !r.ok).map((r) => ({ rule: r.rule, required: r.required, mode: r.mode, missing: r.missing ?? '' })),
            });
          }
          if (tags.length < 1000) break;
        }
      }
      if (page.length < 500) break;
    }
    return out;
  }
}
