import { RegistryError } from './errors.js';

/** OCI image-spec / distribution-spec media types the registry stores as manifests (reference §2, §6.2). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MANIFEST_MEDIA_TYPES: readonly string[] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];

export type DigestAlgorithm = 'sha256' | 'sha512';
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** `<algorithm>:<hex>` */
  value: string;
}

/** The all-zero digest @sigstore/oci probes the referrers API with. */
export const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;

const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Parses a digest (image-spec §Digests): only sha256 (64 lowercase hex) and sha512 (128) are accepted;
 * anything else is 400 DIGEST_INVALID naming what is wrong.
 */
export function parseDigest(s: string, what = 'digest'): Digest {
  if (s.length > 200 || !DIGEST_GRAMMAR.test(s)) throw new RegistryError('DIGEST_INVALID', `${what} ${JSON.stringify(s.slice(0, 200))} is not a digest (<algorithm>:<hex>)`);
  const i = s.indexOf(':');
  const algorithm = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') throw new RegistryError('DIGEST_INVALID', `${what} uses the unsupported algorithm "${algorithm}" (sha256 and sha512 are supported)`);
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `${what}: a ${algorithm} digest is ${HEX_LENGTH[algorithm]} lowercase hex characters`);
  }
  return { algorithm, hex, value: s };
}

export function isDigest(s: string): boolean {
  return s.includes(':');
}

/** distribution-spec §Pulling manifests: the repository name grammar. */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** distribution-spec: the tag grammar. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Checks a repository name; `host/name` must stay within 255 characters (reference §2.1). */
export function checkName(name: string, host: string): void {
  if (name.length === 0 || !NAME.test(name)) throw new RegistryError('NAME_INVALID', `invalid repository name ${JSON.stringify(name.slice(0, 300))}: lowercase path components of [a-z0-9] separated by ".", "_", "__" or "-"`);
  if (host.length + 1 + name.length > 255) throw new RegistryError('NAME_INVALID', `repository name is too long: "${host}/<name>" may be at most 255 characters`);
}

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** A tag: distribution-spec's grammar; an invalid tag is MANIFEST_INVALID (the spec has no TAG_INVALID). */
export function checkTag(tag: string): void {
  if (!TAG.test(tag)) throw new RegistryError('MANIFEST_INVALID', `invalid tag ${JSON.stringify(tag.slice(0, 200))}: up to 128 of [A-Za-z0-9_.-], not starting with "." or "-"`);
}

/** A manifest reference: a digest (with ":") or a tag. */
export function parseReference(ref: string): { digest: Digest } | { tag: string } {
  if (isDigest(ref)) return { digest: parseDigest(ref, 'reference') };
  checkTag(ref);
  return { tag: ref };
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** For the referrers API: the manifest's artifactType, else the config's mediaType (image manifests). */
  artifactType: string | null;
  subject: Descriptor | null;
  /** Blobs (config and layers) that must exist in the repository; nondistributable layers are left out. */
  blobs: string[];
  /** Manifests an index lists; they must exist in the repository. */
  manifests: string[];
  annotations: Record<string, string> | null;
}

function invalid(message: string): never {
  throw new RegistryError('MANIFEST_INVALID', message);
}

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(`${where} must be a descriptor object`);
  const o = v as Record<string, unknown>;
  if (typeof o['mediaType'] !== 'string' || o['mediaType'] === '') invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof o['digest'] !== 'string') invalid(`${where}.digest must be a string`);
  let d: Digest;
  try {
    d = parseDigest(o['digest'], `${where}.digest`);
  } catch (e) {
    // A malformed digest inside a manifest makes the manifest invalid (image-spec §Descriptor).
    invalid((e as Error).message);
  }
  const size = o['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) invalid(`${where}.size must be a non-negative integer`);
  const out: Descriptor = { mediaType: o['mediaType'], digest: d.value, size };
  if (o['artifactType'] !== undefined) {
    if (typeof o['artifactType'] !== 'string') invalid(`${where}.artifactType must be a string`);
    out.artifactType = o['artifactType'];
  }
  if (o['annotations'] !== undefined) out.annotations = annotations(o['annotations'], `${where}.annotations`);
  return out;
}

function annotations(v: unknown, where: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(`${where} must be a map of strings`);
  for (const x of Object.values(v)) if (typeof x !== 'string') invalid(`${where} values must be strings`);
  return v as Record<string, string>;
}

/** Layers that are never pushed to a registry (image-spec §Non-distributable layers; Docker foreign layers). */
function nondistributable(mediaType: string): boolean {
  return mediaType.includes('.nondistributable.') || mediaType === 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
}

/**
 * Validates a manifest (image-spec §Image Manifest, §Image Index; Docker schema 2): JSON object,
 * schemaVersion 2, a known media type that agrees with Content-Type when both are given, well-formed
 * descriptors. Existence of the referenced content is checked by the caller.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    invalid('the manifest is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) invalid('the manifest must be a JSON object');
  const m = doc as Record<string, unknown>;
  if (m['schemaVersion'] !== 2) invalid(`schemaVersion must be 2 (got ${JSON.stringify(m['schemaVersion'] ?? null)})`);
  // A generic Content-Type (or none) says nothing about the manifest; any other must agree with mediaType.
  const rawCt = contentType?.split(';')[0]?.trim().toLowerCase();
  const ct = rawCt && rawCt !== 'application/json' && rawCt !== 'application/octet-stream' ? rawCt : undefined;
  const declared = m['mediaType'];
  if (declared !== undefined && typeof declared !== 'string') invalid('mediaType must be a string');
  if (declared !== undefined && ct !== undefined && ct !== declared) invalid(`the manifest's mediaType ${JSON.stringify(declared)} does not match Content-Type ${JSON.stringify(ct)}`);
  let mediaType = declared ?? ct;
  if (mediaType === undefined) mediaType = Array.isArray(m['manifests']) ? OCI_INDEX : OCI_MANIFEST;
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) invalid(`unsupported manifest media type ${JSON.stringify(mediaType)} (supported: ${MANIFEST_MEDIA_TYPES.join(', ')})`);
  const artifactType = m['artifactType'];
  if (artifactType !== undefined && typeof artifactType !== 'string') invalid('artifactType must be a string');
  const subject = m['subject'] === undefined ? null : descriptor(m['subject'], 'subject');
  const ann = m['annotations'] === undefined ? null : annotations(m['annotations'], 'annotations');

  if (mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST) {
    if (!Array.isArray(m['manifests'])) invalid('an index must have a "manifests" array');
    if (m['config'] !== undefined || m['layers'] !== undefined) invalid('an index has no config or layers');
    const children = (m['manifests'] as unknown[]).map((d, i) => descriptor(d, `manifests[${i}]`));
    return { mediaType, kind: 'index', artifactType: artifactType ?? null, subject, blobs: [], manifests: children.map((c) => c.digest), annotations: ann };
  }
  if (m['manifests'] !== undefined) invalid('an image manifest has no "manifests" array');
  const config = descriptor(m['config'], 'config');
  const layersRaw = m['layers'] ?? [];
  if (!Array.isArray(layersRaw)) invalid('layers must be an array');
  if (mediaType === DOCKER_MANIFEST && m['layers'] === undefined) invalid('a Docker image manifest must have a "layers" array');
  const layers = layersRaw.map((d, i) => descriptor(d, `layers[${i}]`));
  const blobs = [config.digest, ...layers.filter((l) => !nondistributable(l.mediaType)).map((l) => l.digest)];
  return {
    mediaType,
    kind: 'image',
    artifactType: artifactType ?? config.mediaType,
    subject,
    blobs: [...new Set(blobs)],
    manifests: [],
    annotations: ann,
  };
}
