import type { ColumnType, Generated } from 'kysely';

/** Integers that may exceed 2^53 in principle are stored as BIGINT and read as string|number; callers convert. */
type BigIntColumn = ColumnType<number, number | bigint, number | bigint>;

export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  /** JSON array of repository globs, or null for all. */
  repositories: string | null;
  /** Hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  bootstrap: number;
}

export interface SecretsTable {
  name: string;
  /** AES-256-GCM sealed bytes (nonce ‖ ciphertext ‖ tag), base64. */
  sealed: string;
  created_at: string;
}

export interface TlogEntriesTable {
  idx: BigIntColumn;
  /** Hex RFC 6962 leaf hash of the body. */
  uuid: string;
  kind: string;
  api_version: string;
  /** The canonical (JCS) body, base64. */
  body: string;
  integrated_time: BigIntColumn;
  /** The signed entry timestamp (base64 DER ECDSA), made once when the entry was integrated. */
  set_sig: string;
}

export interface TlogIndexTable {
  id: Generated<number>;
  /** "sha256:<hex>", "pk:<hex sha256 of key>", "email:<addr>", "subject:<s>". */
  key: string;
  idx: BigIntColumn;
}

export interface TlogStateTable {
  id: number;
  size: BigIntColumn;
  root_hash: string;
  checkpoint: string;
  updated_at: string;
}

export interface TlogTilesTable {
  level: number;
  idx: BigIntColumn;
  width: number;
  data: Uint8Array;
}

/** registry/: repositories (OCI now; generic file repositories later). Pushing to a new name creates one. */
export interface RepositoriesTable {
  name: string;
  kind: ColumnType<'oci' | 'generic', 'oci' | 'generic' | undefined, 'oci' | 'generic'>;
  visibility: ColumnType<'private' | 'public', 'private' | 'public' | undefined, 'private' | 'public'>;
  created_at: string;
  /** Free text shown by the repositories API (migration 0008). */
  description: ColumnType<string | null, string | null | undefined, string | null>;
}

/** registry/: every stored blob (layers, configs, manifest bytes), content-addressed. */
export interface RegistryBlobsTable {
  /** `sha256:<hex>` or `sha512:<hex>` */
  digest: string;
  size: BigIntColumn;
  /** When the blob was last uploaded: the garbage collector's grace period counts from here. */
  created_at: string;
}

/** registry/: which repositories may serve a blob (uploaded or mounted there). */
export interface RegistryRepositoryBlobsTable {
  repo: string;
  digest: string;
}

export interface RegistryManifestsTable {
  repo: string;
  digest: string;
  media_type: string;
  /** For the referrers API: the manifest's artifactType, else its config mediaType. */
  artifact_type: string | null;
  subject_digest: string | null;
  size: BigIntColumn;
  /** The manifest's annotations (JSON), copied into referrers descriptors. */
  annotations: string | null;
  created_at: string;
}

/** registry/: what a manifest references (config, layers, index children), for garbage collection. */
export interface RegistryManifestRefsTable {
  repo: string;
  manifest_digest: string;
  digest: string;
}

export interface RegistryTagsTable {
  repo: string;
  tag: string;
  digest: string;
  updated_at: string;
}

/** registry/: blob upload sessions in flight; the staged bytes are in `<dataDir>/uploads/<id>`. */
export interface RegistryUploadsTable {
  id: string;
  repo: string;
  started_at: string;
  /** Bytes received and acknowledged so far. */
  offset: BigIntColumn;
  updated_at: string;
}

/** artifacts/: one signature or attestation layer received by the registry and what its verification found. */
export interface ArtifactSignaturesTable {
  id: string;
  repo: string;
  subject_digest: string;
  source_digest: string;
  layer_index: number;
  layer_digest: string;
  format: string;
  kind: string;
  predicate_type: string | null;
  status: string;
  signer_type: string | null;
  key_fingerprint: string | null;
  key_id: string | null;
  identity: string | null;
  issuer: string | null;
  log_index: BigIntColumn | null;
  signed_at: string | null;
  /** JSON array of {name, ok, detail}. */
  checks: string;
  reason: string | null;
  created_at: string;
}

/** registry/: one file of a generic repository; its bytes are the blob `digest` in the registry's blob store. */
export interface GenericFilesTable {
  repo: string;
  path: string;
  digest: string;
  size: BigIntColumn;
  content_type: string;
  /** Token id of the uploader (or "system"). */
  uploaded_by: string;
  created_at: string;
  updated_at: string;
}

/** registry/: a detached signature file (`.sig`, `.asc`, `.sigstore.json`, `.minisig`) verified against the file beside it. */
export interface GenericSignaturesTable {
  repo: string;
  /** The signed file. */
  path: string;
  signature_path: string;
  /** The file's digest and the signature file's digest when verified (a replaced file or signature is verified again). */
  file_digest: string;
  signature_digest: string;
  /** The signature kind core's verify() detected (pgp, minisign, sigstore-bundle, …), or "unknown". */
  kind: string;
  /** valid | invalid | unverified (no key registered for the repository could be tried). */
  status: string;
  key_id: string | null;
  key_fingerprint: string | null;
  identity: string | null;
  signed_at: string | null;
  /** JSON array of {name, ok, detail}. */
  checks: string;
  reason: string | null;
  created_at: string;
}

/** policy/: signing policies (the validated document as JSON; name unique). */
export interface SigningPoliciesTable {
  id: string;
  name: string;
  /** JSON array of repository globs (also inside `document`; kept apart for listing). */
  repositories: string;
  /** The validated, normalized policy document (JSON). */
  document: string;
  created_at: string;
  updated_at: string;
}

/** identity/: a token's role on one repository (migration 0009); it replaces the token's own role there. */
export interface RepositoryGrantsTable {
  /** An exact repository name (repositories.name). */
  repo: string;
  token_id: string;
  /** admin | signer | publisher | reader */
  role: string;
  created_at: string;
  /** Token id of the admin who made the grant. */
  created_by: string;
}

export interface Database {
  api_tokens: ApiTokensTable;
  secrets: SecretsTable;
  tlog_entries: TlogEntriesTable;
  tlog_index: TlogIndexTable;
  tlog_state: TlogStateTable;
  tlog_tiles: TlogTilesTable;
  repositories: RepositoriesTable;
  registry_blobs: RegistryBlobsTable;
  registry_repository_blobs: RegistryRepositoryBlobsTable;
  registry_manifests: RegistryManifestsTable;
  registry_manifest_refs: RegistryManifestRefsTable;
  registry_tags: RegistryTagsTable;
  registry_uploads: RegistryUploadsTable;
  artifact_signatures: ArtifactSignaturesTable;
  generic_files: GenericFilesTable;
  generic_signatures: GenericSignaturesTable;
  signing_policies: SigningPoliciesTable;
  repository_grants: RepositoryGrantsTable;
}
