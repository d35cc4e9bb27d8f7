/**
 * Image-level operations over the registry client: resolving a reference to a digest, listing referrers (API,
 * else the `sha256-<hex>` referrers tag), pushing a referrer and keeping the tag schema index up to date when the
 * registry does not process subjects (as @sigstore/oci does), reading and rewriting cosign's legacy `.sig`/`.att`/
 * `.sbom` images, and copying images with their manifests byte-exact.
 */
import {
  OCI_EMPTY,
  addToReferrersIndex,
  appendLegacyLayer,
  descriptorFor,
  isIndexMediaType,
  legacyManifest,
  legacyTag,
  parseManifest,
  referrersTag,
  EMPTY_JSON,
  type BuiltManifest,
  type Descriptor,
  type LegacyLayer,
  type LegacySuffix,
  type Manifest,
} from '@signet/core';
import { CliError } from '../errors.js';
import { findCredential } from './auth.js';
import { formatRef, type ImageRef } from './reference.js';
import { PreconditionFailed, RegistryClient, type ManifestData } from './registry.js';

export async function clientFor(ref: Pick<ImageRef, 'registry' | 'base' | 'repository'>): Promise<RegistryClient> {
  const { credential, helper } = await findCredential(ref.registry, ref.repository);
  return new RegistryClient(ref.registry, ref.base, credential, helper);
}

export interface ResolvedImage {
  ref: ImageRef;
  client: RegistryClient;
  /** The image's descriptor (what a referrer's subject names). */
  descriptor: Descriptor;
  digest: string;
}

/** Resolves a tag (default "latest") or digest to the image's descriptor; a missing image is a clear error. */
export async function resolveImage(ref: ImageRef, client?: RegistryClient): Promise<ResolvedImage> {
  const c = client ?? (await clientFor(ref));
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const head = await c.headManifest(ref.repository, reference);
  if (!head) throw new CliError(`image ${formatRef(ref, ref.digest ? { digest: ref.digest } : { tag: reference })} not found (registry ${ref.registry} has no manifest ${reference} in ${ref.repository})`);
  return { ref, client: c, digest: head.digest, descriptor: { mediaType: head.mediaType, digest: head.digest, size: head.size } };
}

/** Referrers of a digest: the referrers API, else the descriptors in the referrers tag schema index. */
export async function listReferrers(client: RegistryClient, repo: string, digest: string): Promise<{ descriptors: Descriptor[]; via: 'api' | 'tag' }> {
  const api = await client.referrers(repo, digest);
  if (api) return { descriptors: api, via: 'api' };
  const tag = await client.getManifest(repo, referrersTag(digest));
  return { descriptors: tag?.manifest.manifests ?? [], via: 'tag' };
}

/**
 * Pushes the blobs of a referrer and its manifest by digest (untagged). When the registry answers without
 * OCI-Subject it does not index subjects, so the referrers tag is updated with If-Match, retrying a lost race.
 */
export async function pushReferrer(
  client: RegistryClient,
  repo: string,
  built: Pick<BuiltManifest, 'bytes' | 'descriptor' | 'manifest'>,
  blobs: { bytes: Uint8Array; descriptor: Descriptor }[],
): Promise<{ digest: string; indexedBy: 'registry' | 'tag' }> {
  for (const b of blobs) await client.pushBlob(repo, b.descriptor, b.bytes);
  const subject = built.manifest.subject;
  const put = await client.putManifest(repo, built.descriptor.digest, built.bytes, built.descriptor.mediaType);
  if (!subject || put.subject) return { digest: put.digest, indexedBy: 'registry' };
  await updateReferrersTag(client, repo, subject.digest, built);
  return { digest: put.digest, indexedBy: 'tag' };
}

export async function updateReferrersTag(client: RegistryClient, repo: string, subjectDigest: string, referrer: Pick<BuiltManifest, 'descriptor' | 'manifest'>): Promise<void> {
  const tag = referrersTag(subjectDigest);
  for (let attempt = 0; ; attempt++) {
    const { data, etag } = await client.getManifestWithEtag(repo, tag);
    if (data?.manifest.manifests?.some((d) => d.digest === referrer.descriptor.digest)) return;
    const index = addToReferrersIndex(data?.manifest, referrer);
    try {
      await client.putManifest(repo, tag, index.bytes, index.descriptor.mediaType, etag);
      return;
    } catch (e) {
      if (!(e instanceof PreconditionFailed) || attempt >= 4) throw e;
    }
  }
}

export interface LegacyImage {
  data: ManifestData;
  layers: LegacyLayer[];
}

/** The `.sig`/`.att`/`.sbom` image of a digest, if there is one. */
export async function readLegacy(client: RegistryClient, repo: string, digest: string, suffix: LegacySuffix): Promise<LegacyImage | undefined> {
  const data = await client.getManifest(repo, legacyTag(digest, suffix));
  if (!data) return undefined;
  const layers = (data.manifest.layers ?? []).map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, ...(l.annotations ? { annotations: l.annotations } : {}) }));
  return { data, layers };
}

/**
 * Adds one layer to the `.sig`/`.att` image of a digest (cosign rewrites the image with every layer, one per
 * signature, deduplicated), or replaces the image with just this layer (`.sbom`, as `cosign attach sbom`).
 */
export async function writeLegacyLayer(
  client: RegistryClient,
  repo: string,
  digest: string,
  suffix: LegacySuffix,
  blob: Uint8Array,
  mediaType: string,
  annotations: Record<string, string> | undefined,
  mode: 'append' | 'replace' = 'append',
): Promise<{ tag: string; added: boolean; layers: number }> {
  const tag = legacyTag(digest, suffix);
  const desc = descriptorFor(blob, mediaType);
  const layer: LegacyLayer = { mediaType, digest: desc.digest, size: desc.size, ...(annotations ? { annotations } : {}) };
  const existing = mode === 'append' ? await readLegacy(client, repo, digest, suffix) : undefined;
  const { layers, added } = appendLegacyLayer(existing?.layers ?? [], layer);
  if (!added) return { tag, added, layers: layers.length };
  const built = legacyManifest(layers);
  await client.pushBlob(repo, desc, blob);
  await client.pushBlob(repo, built.config.descriptor, built.config.bytes);
  await client.putManifest(repo, tag, built.bytes, built.descriptor.mediaType);
  return { tag, added, layers: layers.length };
}

/** The empty config blob referrers use. */
export const EMPTY_BLOB = { bytes: EMPTY_JSON, descriptor: descriptorFor(EMPTY_JSON, OCI_EMPTY) };

// ---------------------------------------------------------------------------------------------- copy

export interface CopyEnd {
  client: RegistryClient;
  repo: string;
}

/** The blobs a manifest references (config and layers), and the child manifests of an index. */
function children(m: Manifest): { blobs: Descriptor[]; manifests: Descriptor[] } {
  if (m.manifests) return { blobs: [], manifests: m.manifests };
  return { blobs: [...(m.config ? [m.config] : []), ...(m.layers ?? [])], manifests: [] };
}

/**
 * Copies one manifest (by digest or tag) and everything it references: index children recursively, blobs mounted
 * when both ends are the same registry, else streamed (verified) from source to destination. The manifest bytes
 * are pushed unchanged, by digest, then under `tags`.
 */
export async function copyManifest(src: CopyEnd, dst: CopyEnd, reference: string, tags: string[] = [], seen = new Set<string>()): Promise<ManifestData> {
  const data = await src.client.getManifest(src.repo, reference);
  if (!data) throw new CliError(`${src.client.registry}/${src.repo}: manifest ${reference} not found`);
  if (!seen.has(data.digest)) {
    seen.add(data.digest);
    const { blobs, manifests } = children(data.manifest);
    for (const child of manifests) await copyManifest(src, dst, child.digest, [], seen);
    const sameRegistry = src.client.registry === dst.client.registry;
    for (const b of blobs) {
      if (b.urls?.length && /nondistributable|foreign/.test(b.mediaType)) continue;
      await dst.client.pushBlob(dst.repo, b, () => src.client.blobChunks(src.repo, b.digest, b.size), sameRegistry ? { mountFrom: src.repo } : {});
    }
    await dst.client.putManifest(dst.repo, data.digest, data.bytes, data.mediaType);
  }
  for (const t of tags) await dst.client.putManifest(dst.repo, t, data.bytes, data.mediaType);
  return data;
}

export function isIndex(data: ManifestData): boolean {
  return isIndexMediaType(data.mediaType) || Array.isArray(data.manifest.manifests);
}

export { parseManifest };
