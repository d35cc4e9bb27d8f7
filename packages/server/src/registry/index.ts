export { registryRoutes, type RegistryRouteOptions } from './routes.js';
export { Registry, ATTACHMENT_TAG, type ReleaseGate, MAX_MANIFEST_BYTES, type RegistryOptions, type ManifestEvent, type ManifestListener, type ResolvedManifest, type GcResult } from './service.js';
export { RegistryError, type RegistryErrorCode } from './errors.js';
export { FsBlobStore, readStream, type BlobStore, type BlobRange } from './blobs.js';
export { globMatch, principalAllows, tokenAllows, WRITER_ROLES, RegistryTokens, type AccessEntry, type Action, type Caller } from './access.js';
export {
  parseDigest,
  parseManifest,
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  ZERO_DIGEST,
  type Digest,
  type ParsedManifest,
  type Descriptor,
} from './oci.js';
export { Repositories, repositoryRoutes, checkRepositoryName, mayRead, type RepositoryInfo, type RepositoryKind, type Visibility, type RepositoryRouteOptions } from './repositories.js';
export { GenericFiles, splitFilesPath, signatureTarget, exemptFromPolicy, SIGNATURE_SUFFIXES, CHECKSUM_LISTS, type FileRow, type SignatureView, type FileGate } from './generic.js';
export { genericRoutes, type GenericRouteOptions } from './generic-routes.js';
export { RepositoryError, type RepositoryErrorCode } from './repository-errors.js';
