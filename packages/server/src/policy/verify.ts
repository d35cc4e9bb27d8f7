/**
 * POST /api/v1/signing/verify for OCI artifacts: resolves the artifact, reads what the server verified about its
 * signatures, judges each signer by the current state of its key (revoked and expired keys never count), applies
 * the named policy (or the policies governing the repository), and answers a verdict listing every check.
 */
import type { Actor, AuditLog } from '../audit/index.js';
import type { Registry } from '../registry/index.js';
import { ArtifactError } from '../artifacts/index.js';
import { PolicyError } from './errors.js';
import { SIGNATURE_TYPES, type SignatureType } from './document.js';
import { describeSigner, type Evaluation, type SignatureFact } from './evaluate.js';
import type { PolicyService } from './service.js';

export interface VerifyRequest {
  artifact: { repository: string; name?: string; version?: string; digest?: string };
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
  artifact: { repository: string; digest: string; tag?: string };
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
  if (a.version === undefined) bad('artifact.version (a tag) or artifact.digest is required');
  const v = a.version as string;
  if (DIGEST.test(v)) return { repo, reference: v };
  if (!TAG.test(v)) bad(`artifact.version ${JSON.stringify(v.slice(0, 80))} is not a valid tag`);
  return { repo, reference: v, tag: v };
}

/** Whether a verified signature's signer is trusted without a policy: a valid key registered for the repository, or a certificate from this server's CA. */
function trusted(f: SignatureFact): boolean {
  if (f.key) return f.key.usable && f.key.trustedForRepository;
  return f.identity !== undefined;
}

export async function verifyArtifact(o: { policies: PolicyService; registry: Registry; audit: AuditLog }, req: VerifyRequest, actor: Actor): Promise<VerifyResult> {
  if (req.signature_type !== undefined && !(SIGNATURE_TYPES as readonly string[]).includes(req.signature_type)) bad(`signature_type must be one of ${SIGNATURE_TYPES.join(', ')}`);
  const { repo, reference, tag } = artifactOf(req);
  const type = req.signature_type ?? 'any';
  // A named policy is evaluated whatever repositories it governs; else the policies governing the repository.
  const named = req.policy !== undefined ? await o.policies.get(req.policy) : undefined;
  const resolved = await o.registry.resolve(repo, reference).catch(() => undefined);
  const shown = tag ? `${repo}:${tag}` : `${repo}@${reference}`;
  if (!resolved) throw new ArtifactError('ARTIFACT_NOT_FOUND', `${shown} does not exist`);
  const digest = resolved.digest;
  const checks: VerifyCheck[] = [{ name: 'artifact', ok: true, detail: tag ? `${shown} is ${digest}` : `${shown} exists (${resolved.mediaType})` }];

  const facts = await o.policies.facts(repo, digest);
  const ofType = facts.filter((f) => type === 'any' || f.types.includes(type));
  const sigs = ofType.filter((f) => f.kind === 'signature');
  const typeName = type === 'any' ? '' : `${type} `;
  checks.push({
    name: 'signatures',
    ok: sigs.length > 0,
    detail: sigs.length > 0 ? `${sigs.length} verified ${typeName}signature(s), ${ofType.length - sigs.length} attestation(s)` : `no verified ${typeName}signature for ${digest}`,
  });
  const good = sigs.find(trusted);
  if (sigs.length > 0) {
    const untrusted = sigs.filter((f) => !trusted(f)).map((f) => (f.key ? `${describeSigner(f)} is ${f.key.usable ? 'not registered for this repository' : f.key.status}` : `${describeSigner(f)} is not a registered key`));
    checks.push({
      name: 'signer',
      ok: good !== undefined,
      detail: good ? `signed by ${describeSigner(good)}${good.key ? `, ${good.key.status}` : ''}` : `no signature by a trusted signer: ${[...new Set(untrusted)].join('; ')}`,
    });
  }

  let evaluation: Evaluation | undefined;
  const policies = named ? [{ name: named.name, description: named.description, repositories: named.repositories, rules: named.rules }] : await o.policies.forRepository(repo);
  if (policies.length > 0) {
    evaluation = await o.policies.evaluate(repo, digest, 'any', { policies, facts });
    for (const r of evaluation.results) {
      checks.push({ name: `policy ${r.policy}: ${r.rule}`, ok: r.ok || !r.required, detail: r.ok ? `satisfied by ${r.signers.join(', ') || 'its attestations'}` : `${r.required ? '' : '(not required) '}missing ${r.missing ?? ''}` });
    }
    if (evaluation.results.length === 0) checks.push({ name: 'policy', ok: true, detail: `no rule of ${policies.map((p) => `"${p.name}"`).join(', ')} applies to OCI artifacts` });
  }

  const valid = good !== undefined && (evaluation?.satisfied ?? true);
  const result: VerifyResult = { valid, artifact: { repository: repo, digest, ...(tag ? { tag } : {}) }, checks };
  if (good) {
    result.signer = { ...(good.identity ? { identity: good.identity } : {}), ...(good.key ? { key_id: good.key.id, key_name: good.key.name } : {}), timestamp: good.signed_at ?? null };
    if (good.identity) result.certificate = { subject: good.identity, issuer: good.issuer ?? null };
  }
  if (evaluation) result.policy = evaluation;
  await o.audit.record({
    actor,
    action: 'artifact.verify',
    target: `oci:${repo}@${digest}`,
    outcome: valid ? 'valid' : 'invalid',
    details: {
      ...(tag ? { tag } : {}),
      signature_type: type,
      ...(result.signer ? { signer: result.signer } : {}),
      failed: checks.filter((c) => !c.ok).map((c) => c.name),
      ...(evaluation ? { policies: evaluation.policies } : {}),
    },
  });
  return result;
}
