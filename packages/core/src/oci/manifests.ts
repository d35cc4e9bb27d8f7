/**
 * Manifests and descriptors (OCI image-spec manifest.md, image-index.md, descriptor.md): a strict reader, and the
 * builders for what cosign stores next to an image: the v3 bundle referrer (reference §1.4), the legacy
 * `.sig`/`.att`/`.sbom` images (§1.2, §1.3) and the referrers tag schema index (distribution-spec §Referrers Tag Schema).
 */
import { createHash } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import {
  ANNOTATION_BUNDLE_CONTENT,
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  ANNOTATION_CREATED,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_EMPTY_DIGEST,
  OCI_INDEX,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
  isIndexMediaType,
  parseDigest,
} from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Record<string, unknown>;
  data?: string;
}

/** An image manifest or an index, as read from a registry. */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Manifests above this size are refused (registries must accept 4 MiB; distribution's default limit). */
export const MAX_MANIFEST_BYTES = 8 << 20;

export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** A descriptor for some bytes (sha256). */
export function descriptorFor(bytes: Uint8Array, mediaType: string, extra: Pick<Descriptor, 'artifactType' | 'annotations'> = {}): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra };
}

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `manifest: ${msg}`);
}

function annotationsOf(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) bad(`${what} must be an object`);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x !== 'string') bad(`${what}["${k}"] must be a string`);
  return v as Record<string, string>;
}

/** Reads one descriptor strictly: a media type, a valid digest, a non-negative safe size. */
export function parseDescriptor(v: unknown, what = 'descriptor'): Descriptor {
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) bad(`${what} must be an object`);
  if (typeof o['mediaType'] !== 'string' || o['mediaType'] === '') bad(`${what}.mediaType must be a string`);
  try {
    parseDigest(o['digest']);
  } catch (e) {
    bad(`${what}.digest: ${(e as Error).message}`);
  }
  const size = o['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) bad(`${what}.size must be a non-negative integer`);
  if (o['artifactType'] !== undefined && typeof o['artifactType'] !== 'string') bad(`${what}.artifactType must be a string`);
  annotationsOf(o['annotations'], `${what}.annotations`);
  return o as unknown as Descriptor;
}

/** Parses manifest or index bytes (schemaVersion 2, valid descriptors); MALFORMED_INPUT names the problem. */
export function parseManifest(bytes: Uint8Array): Manifest {
  if (bytes.length > MAX_MANIFEST_BYTES) bad(`${bytes.length} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit`);
  let j: unknown;
  try {
    j = JSON.parse(fromUtf8(bytes));
  } catch {
    bad('not valid JSON');
  }
  const o = j as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) bad('must be a JSON object');
  if (o['schemaVersion'] !== 2) bad(`schemaVersion is ${JSON.stringify(o['schemaVersion'])}, expected 2`);
  if (o['mediaType'] !== undefined && typeof o['mediaType'] !== 'string') bad('mediaType must be a string');
  if (o['artifactType'] !== undefined && typeof o['artifactType'] !== 'string') bad('artifactType must be a string');
  if (o['config'] !== undefined) parseDescriptor(o['config'], 'config');
  for (const k of ['layers', 'manifests'] as const) {
    if (o[k] === undefined) continue;
    if (!Array.isArray(o[k])) bad(`${k} must be an array`);
    (o[k] as unknown[]).forEach((d, i) => parseDescriptor(d, `${k}[${i}]`));
  }
  if (o['subject'] !== undefined) parseDescriptor(o['subject'], 'subject');
  annotationsOf(o['annotations'], 'annotations');
  const isIndex = isIndexMediaType(o['mediaType'] as string | undefined) || (o['mediaType'] === undefined && Array.isArray(o['manifests']));
  if (isIndex && !Array.isArray(o['manifests'])) bad('an index needs a manifests array');
  if (!isIndex && !o['config']) bad('an image manifest needs a config descriptor');
  return o as unknown as Manifest;
}

/** The media type a manifest claims, else the one implied by its shape. */
export function manifestMediaType(m: Manifest): string {
  return m.mediaType ?? (Array.isArray(m.manifests) ? OCI_INDEX : OCI_MANIFEST);
}

/** The artifactType a referrers listing gives a manifest: its artifactType, else its config media type (distribution-spec §Listing Referrers). */
export function referrerArtifactType(m: Manifest): string | undefined {
  return m.artifactType ?? m.config?.mediaType;
}

export interface BuiltManifest {
  manifest: Manifest;
  bytes: Uint8Array;
  descriptor: Descriptor;
}

function built(manifest: Manifest, mediaType = OCI_MANIFEST): BuiltManifest {
  const bytes = utf8(JSON.stringify(manifest));
  return { manifest, bytes, descriptor: descriptorFor(bytes, mediaType) };
}

/** The two bytes of the empty descriptor's blob. */
export const EMPTY_JSON = utf8('{}');

/**
 * The referrer manifest for a Sigstore bundle, in the shape @sigstore/oci 0.6.0 writes (reference §1.4): empty
 * config, one bundle layer, the image as subject, created/content/predicateType annotations. `configArtifactType`
 * also puts the artifactType on the config descriptor, as cosign does.
 */
export function bundleReferrerManifest(opts: {
  bundle: Descriptor;
  subject: Descriptor;
  /** The statement's predicate type (DSSE bundles). */
  predicateType?: string;
  content?: 'dsse-envelope' | 'message-signature';
  /** RFC 3339; defaults to now. */
  created?: string;
  configArtifactType?: boolean;
}): BuiltManifest {
  const subject: Descriptor = { mediaType: opts.subject.mediaType, digest: opts.subject.digest, size: opts.subject.size };
  const annotations: Record<string, string> = {
    [ANNOTATION_CREATED]: opts.created ?? new Date().toISOString(),
    [ANNOTATION_BUNDLE_CONTENT]: opts.content ?? 'dsse-envelope',
  };
  if (opts.predicateType) annotations[ANNOTATION_BUNDLE_PREDICATE_TYPE] = opts.predicateType;
  return built({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2, ...(opts.configArtifactType ? { artifactType: SIGSTORE_BUNDLE_V03_MEDIA_TYPE } : {}) },
    layers: [{ mediaType: opts.bundle.mediaType, digest: opts.bundle.digest, size: opts.bundle.size }],
    subject,
    annotations,
  });
}

export interface LegacyLayer {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/**
 * A legacy cosign image (`.sig`, `.att`, `.sbom`): an OCI image manifest whose config is an empty image config
 * listing the layer digests as diff_ids (go-containerregistry's empty image, as cosign writes it; verifiers ignore
 * the config), and one layer per signature, attestation or SBOM. Returns the manifest and the config blob to push.
 */
export function legacyManifest(layers: LegacyLayer[]): BuiltManifest & { config: { bytes: Uint8Array; descriptor: Descriptor } } {
  if (layers.length === 0) throw new SignetError('INVALID_ARGUMENT', 'a legacy signature image needs at least one layer');
  const configBytes = utf8(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const config = descriptorFor(configBytes, OCI_CONFIG);
  const b = built({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: config.mediaType, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest, ...(l.annotations ? { annotations: l.annotations } : {}) })),
  });
  return { ...b, config: { bytes: configBytes, descriptor: config } };
}

const sameAnnotations = (a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean => {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a![k] === b![k]);
};

/**
 * Appends a layer to an existing legacy image's layers, as cosign rewrites the `.sig` image: a layer with the same
 * blob and the same annotations is not added twice. Returns the new list and whether it changed.
 */
export function appendLegacyLayer(existing: LegacyLayer[], layer: LegacyLayer): { layers: LegacyLayer[]; added: boolean } {
  if (existing.some((l) => l.digest === layer.digest && l.mediaType === layer.mediaType && sameAnnotations(l.annotations, layer.annotations))) {
    return { layers: existing, added: false };
  }
  return { layers: [...existing, layer], added: true };
}

/**
 * The index held by a referrers tag (distribution-spec §Referrers Tag Schema) with `referrer` added: its
 * descriptor carries the artifactType and the manifest's annotations. An entry with the same digest is replaced.
 */
export function addToReferrersIndex(index: Manifest | undefined, referrer: { manifest: Manifest; descriptor: Descriptor }): BuiltManifest {
  const artifactType = referrerArtifactType(referrer.manifest);
  const entry: Descriptor = {
    mediaType: referrer.descriptor.mediaType,
    digest: referrer.descriptor.digest,
    size: referrer.descriptor.size,
    ...(artifactType ? { artifactType } : {}),
    ...(referrer.manifest.annotations ? { annotations: referrer.manifest.annotations } : {}),
  };
  const manifests = (index?.manifests ?? []).filter((d) => d.digest !== entry.digest);
  return built({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...manifests, entry] }, OCI_INDEX);
}
