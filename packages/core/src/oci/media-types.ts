/**
 * Media types, annotation keys and tag rules for images and the cosign/Sigstore artifacts stored next to them
 * (OCI image-spec media-types.md and descriptor.md; OCI distribution-spec §Referrers tag schema; cosign
 * `pkg/oci/static`, `pkg/types`; reference oci-and-cosign §1).
 */
import { SignetError } from '../errors.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** The empty descriptor (image-spec manifest.md §Guidance for an Empty Descriptor): the two bytes `{}`. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

/** Every manifest media type a client should accept when it reads a reference. */
export const MANIFEST_MEDIA_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST] as const;

export const isIndexMediaType = (mt: string | undefined): boolean => mt === OCI_INDEX || mt === DOCKER_MANIFEST_LIST;

/** cosign legacy layers (§1.2, §1.3). */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** cosign v3 bundles via referrers (§1.4). */
export const SIGSTORE_BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_ARTIFACT_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIG_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/** The predicate type of cosign v3 image signatures (an in-toto statement about the image digest). */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
/** The simple-signing payload's critical.type. */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** Layer annotations of legacy signatures and attestations (cosign `pkg/oci/static`). */
export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain';
export const ANNOTATION_BUNDLE = 'dev.sigstore.cosign/bundle';
export const ANNOTATION_RFC3161 = 'dev.sigstore.cosign/rfc3161timestamp';
export const ANNOTATION_PREDICATE_TYPE = 'predicateType';

/** Referrer manifest annotations written by @sigstore/oci and cosign v3. */
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_BUNDLE_CONTENT = 'dev.sigstore.bundle.content';
export const ANNOTATION_BUNDLE_PREDICATE_TYPE = 'dev.sigstore.bundle.predicateType';

/** SBOM layer media types of cosign's legacy `attach sbom` (cosign `pkg/types`). */
export const SBOM_MEDIA_TYPES = {
  spdx: 'text/spdx',
  spdxJson: 'text/spdx+json',
  cyclonedxJson: 'application/vnd.cyclonedx+json',
  cyclonedxXml: 'application/vnd.cyclonedx+xml',
  syft: 'application/vnd.syft+json',
} as const;

export type LegacySuffix = 'sig' | 'att' | 'sbom';

export interface ParsedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

/** `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase (image-spec descriptor.md §Digests, registered algorithms). */
export function parseDigest(digest: unknown): ParsedDigest {
  const m = typeof digest === 'string' ? /^(sha256|sha512):([a-f0-9]+)$/.exec(digest) : null;
  if (!m || m[2]!.length !== (m[1] === 'sha256' ? 64 : 128)) {
    throw new SignetError('MALFORMED_INPUT', `"${String(digest).slice(0, 80)}" is not a sha256:<64 hex> or sha512:<128 hex> digest`);
  }
  return { algorithm: m[1] as 'sha256' | 'sha512', hex: m[2]! };
}

export function isDigest(s: unknown): s is string {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** cosign's legacy tag for a digest: `sha256-<hex>.sig` / `.att` / `.sbom` in the image's repository (§1.1). */
export function legacyTag(digest: string, suffix: LegacySuffix): string {
  const d = parseDigest(digest);
  return `${d.algorithm}-${d.hex}.${suffix}`;
}

/**
 * The referrers tag schema (distribution-spec §Referrers Tag Schema): `<alg>-<ref>`, the algorithm cut to 32
 * characters and the encoded digest to 64 (so a sha256 tag holds the whole digest).
 */
export function referrersTag(digest: string): string {
  const d = parseDigest(digest);
  return `${d.algorithm.slice(0, 32)}-${d.hex.slice(0, 64)}`;
}
