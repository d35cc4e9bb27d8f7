/**
 * POST /api/v1/signing/verify: for an OCI artifact (repository [+ name] and version or digest) or a generic file
 * (repository + path). Reads what the server verified about its signatures (OCI: the artifacts domain's records;
 * files: the detached signatures and signed SHA256SUMS beside it), judges each signer by the current state of its
 * key (revoked and expired keys never count), applies the named policy (or the policies governing the repository),
 * and answers a verdict listing every check.
 */
import type { Actor, AuditLog } from '../audit/index.js';
import { RepositoryError, splitFilesPath, type GenericFiles, type Registry, type SignatureView } from '../registry/index.js';
import { ArtifactError } from '../artifacts/index.js';
import { PolicyError } from './errors.js';
import { SIGNATURE_TYPES, type PolicyDocument, type SignatureType } from './document.js';
import { describeSigner, type Evaluation, type SignatureFact } from './evaluate.js';
import { fileArtifactTypes, signatureTypesOf, type PolicyService } from './service.js';

export interface VerifyRequest {
  /** OCI: repository [+ name] and version (a tag) or digest. Generic file: repository and path. */
  artifact: { repository: string; name?: string; version?: string; digest?: string; path?: string };
  signature_type?: SignatureType;
  policy?: string;
}

export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface VerifyResult {
  valid: boolean;
  artifact: { repository: string; digest: string; tag?: string; path?: string };
  signer?: { identity?: string; key_id?: string; key_name?: string; timestamp: string | null };
  certificate?: { subject: string; issuer: string | null };
  checks: VerifyCheck[];
  policy?: Evaluation;
}

const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const REPO = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

const bad = (msg: string): never => {
  throw new PolicyError('INVALID_VERIFY_REQUEST', msg);
};

/** The repository and reference a verify request names; throws INVALID_VERIFY_REQUEST naming the field. */
export function artifactOf(req: VerifyRequest): { repo: string; reference: string; tag?: string } {
  const a = req.artifact;
  const repo = a.name !== undefined ? `${a.repository}/${a.name}` : a.repository;
  if (!REPO.test(repo) || repo.length > 255) bad(`artifact.repository${a.name !== undefined ? ' + artifact.name' : ''} ${JSON.stringify(repo.slice(0, 64))} is not a repository name (lowercase path components such as "team/app")`);
  if (a.version !== undefined && a.digest !== undefined) bad('give artifact.version (a tag) or artifact.digest, not both');
  if (a.digest !== undefined) {
    if (!DIGEST.test(a.digest)) bad(`artifact.digest ${JSON.stringify(a.digest.slice(0, 80))} is not a sha256: or sha512: digest`);
    return { repo, reference: a.digest };
  }
  if (a.version === undefined) bad('artifact.version (a tag) or artifact.digest is required (or artifact.path, for a file in a generic repository)');
  const v = a.version as string;
  if (DIGEST.test(v)) return { repo, reference: v };
  if (!TAG.test(v)) bad(`artifact.version ${JSON.stringify(v.slice(0, 80))} is not a valid tag`);
  return { repo, reference: v, tag: v };
}

/**
 * The generic repository and file path a verify request names (artifact.path given). The path is the file's path
 * inside the repository as stored (not percent-encoded), under the same rules as /files/ paths.
 */
export function fileOf(req: VerifyRequest): { repo: string; path: string } {
  const a = req.artifact;
  if (a.path === undefined) return bad('artifact.path is required for a file');
  if (a.name !== undefined || a.version !== undefined || a.digest !== undefined) bad('artifact.path names a file in a generic repository: give it with artifact.repository only (not name, version or digest)');
  if (!REPO.test(a.repository) || a.repository.length > 255) bad(`artifact.repository ${JSON.stringify(a.repository.slice(0, 64))} is not a repository name (lowercase path components such as "releases/tool")`);
  try {
    // Encoded first: splitFilesPath decodes each segment as /files/ URLs are, and a stored name may hold "%".
    return { repo: a.repository, path: splitFilesPath(a.path.split('/').map(encodeURIComponent).join('/')).join('/') };
  } catch (e) {
    if (e instanceof RepositoryError) return bad(`artifact.path ${JSON.stringify(a.path.slice(0, 80))} is not a valid file path: ${e.message}`);
    throw e;
  }
}

/** Whether a verified signature's signer is trusted without a policy: a valid key registered for the repository, or a certificate from this server's CA. */
function trusted(f: SignatureFact): boolean {
  if (f.key) return f.key.usable && f.key.trustedForRepository;
  return f.identity !== undefined;
}

/** The signatures and signer checks over the artifact's facts, narrowed to `type`; `none` explains an empty result. */
function signatureChecks(facts: SignatureFact[], type: SignatureType, none: string): { checks: VerifyCheck[]; good: SignatureFact | undefined } {
  const ofType = facts.filter((f) => type === 'any' || f.types.includes(type));
  const sigs = ofType.filter((f) => f.kind === 'signature');
  const typeName = type === 'any' ? '' : `${type} `;
  const checks: VerifyCheck[] = [
    {
      name: 'signatures',
      ok: sigs.length > 0,
      detail: sigs.length > 0 ? `${sigs.length} verified ${typeName}signature(s), ${ofType.length - sigs.length} attestation(s)` : `no verified ${typeName}signature ${none}`,
    },
  ];
  const good = sigs.find(trusted);
  if (sigs.length > 0) {
    const untrusted = sigs.filter((f) => !trusted(f)).map((f) => (f.key ? `${describeSigner(f)} is ${f.key.usable ? 'not registered for this repository' : f.key.status}` : `${describeSigner(f)} is not a registered key`));
    checks.push({
      name: 'signer',
      ok: good !== undefined,
      detail: good ? `signed by ${describeSigner(good)}${good.key ? `, ${good.key.status}` : ''}` : `no signature by a trusted signer: ${[...new Set(untrusted)].join('; ')}`,
    });
  }
  return { checks, good };
}

function policyChecks(evaluation: Evaluation, policies: PolicyDocument[], what: string): VerifyCheck[] {
  const checks = evaluation.results.map((r) => ({
    name: `policy ${r.policy}: ${r.rule}`,
    ok: r.ok || !r.required,
    detail: r.ok ? `satisfied by ${r.signers.join(', ') || 'its attestations'}` : `${r.required ? '' : '(not required) '}missing ${r.missing ?? ''}`,
  }));
  if (evaluation.results.length === 0) checks.push({ name: 'policy', ok: true, detail: `no rule of ${policies.map((p) => `"${p.name}"`).join(', ')} applies to ${what}` });
  return checks;
}

/** The named policy (whatever repositories it governs), else the policies governing `repo`. */
async function policiesFor(policies: PolicyService, req: VerifyRequest, repo: string): Promise<PolicyDocument[]> {
  if (req.policy === undefined) return policies.forRepository(repo);
  const named = await policies.get(req.policy);
  return [{ name: named.name, description: named.description, repositories: named.repositories, rules: named.rules }];
}

function checkSignatureType(req: VerifyRequest): SignatureType {
  if (req.signature_type !== undefined && !(SIGNATURE_TYPES as readonly string[]).includes(req.signature_type)) bad(`signature_type must be one of ${SIGNATURE_TYPES.join(', ')}`);
  return req.signature_type ?? 'any';
}

/** The verdict from the checks, the trusted signature and the evaluation; audited as artifact.verify. */
async function conclude(
  audit: AuditLog,
  actor: Actor,
  v: { artifact: VerifyResult['artifact']; target: string; type: SignatureType; checks: VerifyCheck[]; good: SignatureFact | undefined; evaluation: Evaluation | undefined; extra?: Record<string, unknown> },
): Promise<VerifyResult> {
  const { good, evaluation, checks } = v;
  const valid = good !== undefined && (evaluation?.satisfied ?? true);
  const result: VerifyResult = { valid, artifact: v.artifact, checks };
  if (good) {
    result.signer = { ...(good.identity ? { identity: good.identity } : {}), ...(good.key ? { key_id: good.key.id, key_name: good.key.name } : {}), timestamp: good.signed_at ?? null };
    if (good.identity) result.certificate = { subject: good.identity, issuer: good.issuer ?? null };
  }
  if (evaluation) result.policy = evaluation;
  await audit.record({
    actor,
    action: 'artifact.verify',
    target: v.target,
    outcome: valid ? 'valid' : 'invalid',
    details: {
      ...(v.extra ?? {}),
      signature_type: v.type,
      ...(result.signer ? { signer: result.signer } : {}),
      failed: checks.filter((c) => !c.ok).map((c) => c.name),
      ...(evaluation ? { policies: evaluation.policies } : {}),
    },
  });
  return result;
}

export async function verifyArtifact(o: { policies: PolicyService; registry: Registry; audit: AuditLog }, req: VerifyRequest, actor: Actor): Promise<VerifyResult> {
  const type = checkSignatureType(req);
  const { repo, reference, tag } = artifactOf(req);
  const policies = await policiesFor(o.policies, req, repo);
  const resolved = await o.registry.resolve(repo, reference).catch(() => undefined);
  const shown = tag ? `${repo}:${tag}` : `${repo}@${reference}`;
  if (!resolved) {
    if ((await o.registry.store.repository(repo).catch(() => undefined))?.kind === 'generic') bad(`"${repo}" is a generic repository: name the file with artifact.path`);
    throw new ArtifactError('ARTIFACT_NOT_FOUND', `${shown} does not exist`);
  }
  const digest = resolved.digest;
  const facts = await o.policies.facts(repo, digest);
  const judged = signatureChecks(facts, type, `for ${digest}`);
  const checks: VerifyCheck[] = [{ name: 'artifact', ok: true, detail: tag ? `${shown} is ${digest}` : `${shown} exists (${resolved.mediaType})` }, ...judged.checks];
  let evaluation: Evaluation | undefined;
  if (policies.length > 0) {
    evaluation = await o.policies.evaluate(repo, digest, 'any', { policies, facts });
    checks.push(...policyChecks(evaluation, policies, 'OCI artifacts'));
  }
  return conclude(o.audit, actor, { artifact: { repository: repo, digest, ...(tag ? { tag } : {}) }, target: `oci:${repo}@${digest}`, type, checks, good: judged.good, evaluation, extra: tag ? { tag } : {} });
}

/** Why the file has no valid signature, from the signatures that are there (at most a few named). */
function unsignedReason(views: SignatureView[], path: string): string {
  if (views.length === 0) return `for ${path}: no signature is stored beside it (.asc, .sig, .sigstore.json, .minisig) and no signed SHA256SUMS lists it`;
  const shown = views.slice(0, 5).map((s) => `${s.signature_path}: ${s.status}${s.reason ? ` (${s.reason.slice(0, 200)})` : ''}`);
  return `for ${path}: ${shown.join('; ')}${views.length > 5 ? `; and ${views.length - 5} more` : ''}`;
}

export async function verifyFile(o: { policies: PolicyService; registry: Registry; files: GenericFiles; audit: AuditLog }, req: VerifyRequest, actor: Actor): Promise<VerifyResult> {
  const type = checkSignatureType(req);
  const { repo, path } = fileOf(req);
  const info = await o.registry.store.repository(repo);
  if (!info) throw new RepositoryError('REPOSITORY_NOT_FOUND', `there is no repository "${repo}"`);
  if (info.kind !== 'generic') bad(`"${repo}" is an OCI repository: name the artifact with artifact.version (a tag) or artifact.digest, not artifact.path`);
  const policies = await policiesFor(o.policies, req, repo);
  const file = await o.files.stat(repo, path);
  if (!file) throw new RepositoryError('FILE_NOT_FOUND', `${repo} has no file "${path}"`);
  const views = (await o.files.signatures(file)).signatures;
  const facts = await o.policies.fileFacts(file, views);
  const ofType = views.filter((v) => type === 'any' || (signatureTypesOf(v.kind) as string[]).includes(type));
  const judged = signatureChecks(facts, type, unsignedReason(ofType, path));
  const checks: VerifyCheck[] = [{ name: 'artifact', ok: true, detail: `${repo}/${path} is ${file.digest} (${file.size} bytes)` }, ...judged.checks];
  let evaluation: Evaluation | undefined;
  if (policies.length > 0) {
    evaluation = await o.policies.evaluateFile(file, 'any', { policies, facts });
    checks.push(...policyChecks(evaluation, policies, `this file (artifact types ${fileArtifactTypes(path).join(', ')})`));
  }
  return conclude(o.audit, actor, { artifact: { repository: repo, path, digest: file.digest }, target: `file:${repo}/${path}`, type, checks, good: judged.good, evaluation });
}
