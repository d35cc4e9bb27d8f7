import { SignetError } from '../errors.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { parseEnvelope, type DsseEnvelope } from '../dsse/envelope.js';

/**
 * Sigstore bundles (sigstore/protobuf-specs `sigstore_bundle.proto`, JSON mapping). Versions 0.1 and 0.2
 * use the `+json;version=` media type; 0.3 uses `.v0.3+json` and carries a single leaf `certificate`
 * instead of `x509CertificateChain`.
 */
export const BUNDLE_V01_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
export const BUNDLE_V02_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.2';
export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export type BundleVersion = '0.1' | '0.2' | '0.3';
export type HashAlgorithmName = 'SHA2_256' | 'SHA2_384' | 'SHA2_512';

export interface BundleJson {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    tlogEntries: unknown[];
    timestampVerificationData?: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  messageSignature?: { messageDigest: { algorithm: HashAlgorithmName; digest: string }; signature: string };
  dsseEnvelope?: DsseEnvelope;
}

export type BundleKeyMaterial =
  | { kind: 'publicKey'; hint: string }
  | { kind: 'certificate'; certificates: Uint8Array[] };

export type BundleContent =
  | { kind: 'messageSignature'; digest?: { algorithm: 'sha256' | 'sha384' | 'sha512'; value: Uint8Array }; signature: Uint8Array }
  | { kind: 'dsseEnvelope'; envelope: DsseEnvelope };

export interface ParsedBundle {
  version: BundleVersion;
  mediaType: string;
  keyMaterial: BundleKeyMaterial;
  content: BundleContent;
  tlogEntries: unknown[];
  rfc3161Timestamps: Uint8Array[];
  json: BundleJson;
}

const HASHES: Record<string, 'sha256' | 'sha384' | 'sha512'> = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' };

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `Sigstore bundle: ${msg}`);
}

export function bundleVersion(mediaType: unknown): BundleVersion | undefined {
  if (mediaType === BUNDLE_V01_MEDIA_TYPE) return '0.1';
  if (mediaType === BUNDLE_V02_MEDIA_TYPE) return '0.2';
  if (mediaType === BUNDLE_V03_MEDIA_TYPE || mediaType === 'application/vnd.dev.sigstore.bundle+json;version=0.3') return '0.3';
  return undefined;
}

/** True when a parsed JSON value looks like a Sigstore bundle (by media type). */
export function isBundleJson(v: unknown): boolean {
  const mt = (v as Record<string, unknown> | null)?.['mediaType'];
  return typeof mt === 'string' && mt.startsWith('application/vnd.dev.sigstore.bundle');
}

/** Validates a bundle's structure and decodes its binary fields; MALFORMED_INPUT names the first problem. */
export function parseBundle(value: unknown): ParsedBundle {
  const o = value as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) bad('must be a JSON object');
  const version = bundleVersion(o['mediaType']);
  if (!version) bad(`unsupported mediaType ${JSON.stringify(o['mediaType'])}`);
  const vm = o['verificationMaterial'] as Record<string, unknown> | undefined;
  if (!vm || typeof vm !== 'object') bad('verificationMaterial is missing');

  let keyMaterial: BundleKeyMaterial;
  const pk = vm['publicKey'] as Record<string, unknown> | undefined;
  const cert = vm['certificate'] as Record<string, unknown> | undefined;
  const chain = vm['x509CertificateChain'] as Record<string, unknown> | undefined;
  if (pk) {
    keyMaterial = { kind: 'publicKey', hint: typeof pk['hint'] === 'string' ? pk['hint'] : '' };
  } else if (cert) {
    if (version !== '0.3') bad(`verificationMaterial.certificate needs bundle v0.3 (this is v${version})`);
    if (typeof cert['rawBytes'] !== 'string') bad('certificate.rawBytes must be base64');
    keyMaterial = { kind: 'certificate', certificates: [fromBase64(cert['rawBytes'], 'certificate.rawBytes')] };
  } else if (chain) {
    if (version === '0.3') bad('x509CertificateChain is not allowed in bundle v0.3; use certificate');
    const certs = chain['certificates'];
    if (!Array.isArray(certs) || certs.length === 0) bad('x509CertificateChain.certificates must be a non-empty array');
    keyMaterial = {
      kind: 'certificate',
      certificates: certs.map((c: unknown, i) => {
        const raw = (c as Record<string, unknown> | null)?.['rawBytes'];
        if (typeof raw !== 'string') bad(`x509CertificateChain.certificates[${i}].rawBytes must be base64`);
        return fromBase64(raw, `certificates[${i}].rawBytes`);
      }),
    };
  } else {
    bad('verificationMaterial needs publicKey, certificate or x509CertificateChain');
  }

  const tlog = vm['tlogEntries'] ?? [];
  if (!Array.isArray(tlog)) bad('verificationMaterial.tlogEntries must be an array');
  const tsd = vm['timestampVerificationData'] as Record<string, unknown> | undefined;
  const rfc = (tsd?.['rfc3161Timestamps'] ?? []) as unknown;
  if (!Array.isArray(rfc)) bad('timestampVerificationData.rfc3161Timestamps must be an array');
  const rfc3161Timestamps = rfc.map((t: unknown, i) => {
    const s = (t as Record<string, unknown> | null)?.['signedTimestamp'];
    if (typeof s !== 'string') bad(`rfc3161Timestamps[${i}].signedTimestamp must be base64`);
    return fromBase64(s, 'signedTimestamp');
  });

  let content: BundleContent;
  const ms = o['messageSignature'] as Record<string, unknown> | undefined;
  if (ms && o['dsseEnvelope']) bad('has both messageSignature and dsseEnvelope');
  if (ms) {
    if (typeof ms['signature'] !== 'string') bad('messageSignature.signature must be base64');
    const md = ms['messageDigest'] as Record<string, unknown> | undefined;
    let digest: { algorithm: 'sha256' | 'sha384' | 'sha512'; value: Uint8Array } | undefined;
    if (md) {
      const alg = HASHES[String(md['algorithm'])];
      if (!alg) bad(`unsupported messageDigest.algorithm ${JSON.stringify(md['algorithm'])}`);
      if (typeof md['digest'] !== 'string') bad('messageDigest.digest must be base64');
      digest = { algorithm: alg, value: fromBase64(md['digest'], 'messageDigest.digest') };
    }
    content = { kind: 'messageSignature', signature: fromBase64(ms['signature'], 'messageSignature.signature'), ...(digest ? { digest } : {}) };
  } else if (o['dsseEnvelope']) {
    content = { kind: 'dsseEnvelope', envelope: parseEnvelope(o['dsseEnvelope']) };
  } else {
    bad('needs messageSignature or dsseEnvelope');
  }
  return { version, mediaType: o['mediaType'] as string, keyMaterial, content, tlogEntries: tlog, rfc3161Timestamps, json: o as unknown as BundleJson };
}

export interface BundleParts {
  /** A public key hint, or the leaf certificate (DER) for keyless signing. */
  key: { hint: string } | { certificate: Uint8Array };
  tlogEntries?: unknown[];
  rfc3161Timestamps?: Uint8Array[];
}

function material(parts: BundleParts): BundleJson['verificationMaterial'] {
  const vm: BundleJson['verificationMaterial'] = {
    ...('hint' in parts.key ? { publicKey: { hint: parts.key.hint } } : { certificate: { rawBytes: toBase64(parts.key.certificate) } }),
    tlogEntries: parts.tlogEntries ?? [],
  };
  if (parts.rfc3161Timestamps?.length) {
    vm.timestampVerificationData = { rfc3161Timestamps: parts.rfc3161Timestamps.map((t) => ({ signedTimestamp: toBase64(t) })) };
  }
  return vm;
}

/** A v0.3 bundle holding a signature over an artifact's bytes (messageSignature). */
export function messageSignatureBundle(
  parts: BundleParts & { digest: { algorithm: 'sha256' | 'sha384' | 'sha512'; value: Uint8Array }; signature: Uint8Array },
): BundleJson {
  const alg = ({ sha256: 'SHA2_256', sha384: 'SHA2_384', sha512: 'SHA2_512' } as const)[parts.digest.algorithm];
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: material(parts),
    messageSignature: { messageDigest: { algorithm: alg, digest: toBase64(parts.digest.value) }, signature: toBase64(parts.signature) },
  };
}

/** A v0.3 bundle holding a DSSE envelope (attestations). */
export function dsseBundle(parts: BundleParts & { envelope: DsseEnvelope }): BundleJson {
  return { mediaType: BUNDLE_V03_MEDIA_TYPE, verificationMaterial: material(parts), dsseEnvelope: parts.envelope };
}
