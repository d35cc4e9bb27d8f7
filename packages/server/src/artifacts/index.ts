/**
 * The artifacts domain: what the server knows about each artifact it holds — the signatures and attestations it
 * received for it, verified on arrival, and for which keys or identities they are valid.
 * GET /api/v1/artifacts/oci/<repo>@<digest> (or <repo>:<tag>) shows it; the policy engine reads the same records.
 */
import type { FastifyPluginAsync } from 'fastify';
import { IdentityError } from '../identity/errors.js';
import { ArtifactError } from './errors.js';
import { principalAllows, type Registry } from '../registry/index.js';
import type { KeyService } from '../keys/index.js';
import type { SignatureRecord, SignatureStore } from './store.js';
import type { SignatureIndexer } from './indexer.js';

export { SignatureStore, type SignatureRecord, type NewSignatureRecord } from './store.js';
export { SignatureIndexer, type IndexerOptions } from './indexer.js';

export { ArtifactError, type ArtifactErrorCode } from './errors.js';

const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** `<repo>@<digest>` or `<repo>:<tag>`. */
export function parseArtifactReference(ref: string): { repo: string; digest: string } | { repo: string; tag: string } {
  const at = ref.lastIndexOf('@');
  if (at > 0) {
    const digest = ref.slice(at + 1);
    if (!DIGEST.test(digest)) throw new ArtifactError('ARTIFACT_REFERENCE_INVALID', `"${digest}" is not a sha256 or sha512 digest`);
    return { repo: ref.slice(0, at), digest };
  }
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/') && colon > 0) {
    const tag = ref.slice(colon + 1);
    if (!TAG.test(tag)) throw new ArtifactError('ARTIFACT_REFERENCE_INVALID', `"${tag}" is not a valid tag`);
    return { repo: ref.slice(0, colon), tag };
  }
  throw new ArtifactError('ARTIFACT_REFERENCE_INVALID', 'give the artifact as <repository>@<digest> or <repository>:<tag>');
}

function view(r: SignatureRecord, keyStatus: Map<string, string>): Record<string, unknown> {
  return {
    status: r.status,
    format: r.format,
    ...(r.kind === 'attestation' ? { predicate_type: r.predicate_type } : {}),
    signer: {
      type: r.signer_type,
      ...(r.key_fingerprint ? { key_fingerprint: r.key_fingerprint } : {}),
      ...(r.key_id ? { key_id: r.key_id, key_status: keyStatus.get(r.key_id) ?? 'deleted' } : {}),
      ...(r.identity ? { identity: r.identity } : {}),
      ...(r.issuer ? { issuer: r.issuer } : {}),
    },
    ...(r.signed_at ? { signed_at: r.signed_at } : {}),
    ...(r.log_index !== null ? { log_index: r.log_index } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    source: { manifest: r.source_digest, layer: r.layer_digest },
    checks: r.checks,
    recorded_at: r.created_at,
  };
}

export const artifactRoutes: FastifyPluginAsync<{ registry: Registry; signatures: SignatureStore; indexer: SignatureIndexer; keys?: KeyService }> = async (
  app,
  { registry, signatures, indexer, keys },
) => {
  app.get(
    '/api/v1/artifacts/oci/*',
    {
      config: { summary: 'Signatures and attestations the registry holds for an image, verified on arrival: which keys and identities they are valid for' },
      schema: { params: { type: 'object', properties: { '*': { type: 'string', maxLength: 512 } } } },
    },
    async (req) => {
      const ref = parseArtifactReference((req.params as { '*': string })['*']);
      const p = req.principal;
      const repoInfo = await registry.store.repository(ref.repo);
      const publicRepo = registry.anonymousPull || repoInfo?.visibility === 'public';
      if (!p && !publicRepo) throw new IdentityError('UNAUTHENTICATED', 'this request needs a token: Authorization: Bearer <token>', { headers: { 'WWW-Authenticate': 'Bearer' } });
      if (p && !publicRepo && !principalAllows(p, ref.repo, 'pull')) throw new IdentityError('FORBIDDEN', `this token may not read repository "${ref.repo}"`);
      const resolved = await registry.resolve(ref.repo, 'digest' in ref ? ref.digest : ref.tag);
      const digest = 'digest' in ref ? ref.digest : resolved?.digest;
      if (!digest) throw new ArtifactError('ARTIFACT_NOT_FOUND', `${ref.repo}:${(ref as { tag: string }).tag} does not exist`);
      // Key signatures nobody could verify on arrival get another chance with the keys registered now.
      await indexer.reverify(ref.repo, digest);
      const records = await signatures.forSubject(ref.repo, digest);
      const keyStatus = new Map<string, string>();
      for (const id of new Set(records.map((r) => r.key_id).filter((x): x is string => !!x))) {
        const k = await keys?.get(id);
        if (k && !k.deletedAt) keyStatus.set(id, k.info.status);
      }
      if (!resolved && records.length === 0) throw new ArtifactError('ARTIFACT_NOT_FOUND', `${ref.repo}@${digest} does not exist and has no signatures`);
      const valid = records.filter((r) => r.status === 'valid');
      const sigs = records.filter((r) => r.kind === 'signature');
      return {
        repository: ref.repo,
        digest,
        present: resolved !== undefined,
        media_type: resolved?.mediaType ?? null,
        summary: {
          signed: valid.some((r) => r.kind === 'signature'),
          valid_signatures: valid.filter((r) => r.kind === 'signature').length,
          valid_attestations: valid.filter((r) => r.kind === 'attestation').length,
          keys: [...new Set(valid.map((r) => r.key_fingerprint).filter((x): x is string => !!x))],
          identities: [...new Map(valid.filter((r) => r.identity).map((r) => [`${r.identity}\n${r.issuer}`, { identity: r.identity, issuer: r.issuer }])).values()],
          predicate_types: [...new Set(valid.filter((r) => r.kind === 'attestation').map((r) => r.predicate_type).filter((x): x is string => !!x))],
        },
        signatures: sigs.map((r) => view(r, keyStatus)),
        attestations: records.filter((r) => r.kind === 'attestation').map((r) => view(r, keyStatus)),
      };
    },
  );
};
