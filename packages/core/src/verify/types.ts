import type { KeyObject } from 'node:crypto';

/** The signature formats the verifier understands. */
export type SignatureKind = 'sigstore-bundle' | 'cosign' | 'dsse' | 'pgp' | 'sshsig' | 'minisign' | 'signify';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512' | 'blake2b512';

export interface ArtifactDigest {
  algorithm: DigestAlgorithm;
  value: Uint8Array;
}

/**
 * What was signed: the bytes, or only a digest of them. Formats whose signature covers the
 * bytes themselves (OpenPGP, legacy minisign, signify) need the bytes; the others work from a digest
 * of the algorithm they use.
 */
export type Artifact = { bytes: Uint8Array } | { digest: ArtifactDigest };

/** Standard check names; formats may add their own. */
export type CheckName =
  | 'format'
  | 'artifact'
  | 'signature'
  | 'key'
  | 'key-validity'
  | 'algorithm'
  | 'namespace'
  | 'identity'
  | 'trusted-comment'
  | 'subject'
  | 'predicate-type'
  | 'payload-type';

export interface Check {
  name: CheckName | (string & {});
  ok: boolean;
  detail: string;
}

export interface Signer {
  kind: SignatureKind;
  /** The verifying key's fingerprint or id, in that format's usual notation. */
  keyId?: string;
  /** A human identity bound to the key: an OpenPGP user ID, an SSH principal, a key name, a certificate SAN. */
  identity?: string;
  /** The OIDC issuer that vouched for the identity (keyless Sigstore certificates). */
  issuer?: string;
  /** minisign's trusted comment. */
  comment?: string;
  /** Signing time claimed by the signature, ISO 8601 (signer-asserted unless a check says otherwise). */
  timestamp?: string;
}

export interface Verdict {
  ok: boolean;
  kind: SignatureKind;
  checks: Check[];
  signer?: Signer;
  /** For attestations: the verified in-toto statement. */
  statement?: unknown;
  /** For cleartext-signed messages: the verified text. */
  text?: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
  /** Set when the key has been revoked; verification fails from that moment. */
  revokedAt?: Date;
}

/** An SSH public key as carried in the SSH wire format (RFC 4253 §6.6). */
export interface SshPublicKeyInfo {
  /** Key type, e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa. */
  type: string;
  /** The wire blob. */
  blob: Uint8Array;
  key: KeyObject;
  /** SHA256:<unpadded base64> */
  fingerprint: string;
  comment?: string;
}

export type TrustedKey =
  | {
      kind: 'pkix';
      key: KeyObject;
      /** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER. */
      fingerprint: string;
      name?: string;
      validity?: Validity;
    }
  | {
      kind: 'ssh';
      key: SshPublicKeyInfo;
      /** Principals from an allowed_signers line; empty for a bare public key. */
      principals: string[];
      /** namespaces="..." restriction from allowed_signers, if any. */
      namespaces?: string[];
      /** A cert-authority line: it only vouches for SSH certificates, never for a plain key. */
      certAuthority?: boolean;
      name?: string;
      validity?: Validity;
    }
  | {
      /** minisign and signify share the public key format: "Ed" || keyid[8] || Ed25519 pk[32]. */
      kind: 'minisign';
      keyId: Uint8Array;
      publicKey: KeyObject;
      name?: string;
      validity?: Validity;
    }
  | {
      /** An OpenPGP public key or keyring, armored or binary; parsed by @signet/core/pgp. */
      kind: 'pgp';
      data: Uint8Array;
      name?: string;
      validity?: Validity;
    };

export interface TrustMaterial {
  keys: TrustedKey[];
}

export interface VerifyPolicy {
  /** The instant at which key validity is judged; defaults to now. */
  now?: Date;
  /** sshsig namespace the signature must carry; default "file" (ssh-keygen's convention for files). */
  sshNamespace?: string;
  /** Require this identity (SSH principal, OpenPGP user ID email, or key name). */
  identity?: string;
  /** For attestations: the predicate type the statement must carry. */
  predicateType?: string;
  /** Accept SHA-1 based OpenPGP signatures (refused by default). */
  allowSha1?: boolean;
  /** Accept DSA OpenPGP keys (refused by default). */
  allowDsa?: boolean;
}

/**
 * OpenPGP verification, provided by @signet/core/pgp (the only part of core that loads openpgp).
 * Pass `pgpVerifier` from that subpath to verify() to enable OpenPGP signatures.
 */
export interface PgpVerifier {
  /** A detached signature, armored or binary, over the artifact bytes. */
  verifyDetached(artifact: Artifact, signature: Uint8Array, trust: TrustMaterial, policy?: VerifyPolicy): Promise<Verdict>;
  /** A cleartext-signed message (RFC 4880 §7); the verdict's `text` is the signed text. */
  verifyCleartext(message: Uint8Array, trust: TrustMaterial, policy?: VerifyPolicy): Promise<Verdict>;
}
