/**
 * Sigstore trusted roots (sigstore/protobuf-specs `sigstore_trustroot.proto`, JSON mapping): the transparency
 * logs, certificate authorities, CT logs and timestamp authorities a verifier trusts, each for a time range.
 *
 * Two kinds of problems are told apart:
 * - JSON that is not a trusted root at all (wrong types, bad base64, bad timestamps) throws MALFORMED_INPUT
 *   naming the field; an unknown media type throws UNSUPPORTED_FORMAT.
 * - An instance that is well-formed but cannot be trusted is kept with `unusable` set to the reason, so the
 *   rest of the root stays usable and a verdict can say why that log/CA was not used:
 *   * `validFor` without `start`. Decision: a missing start is NOT read as "since the epoch" (sigstore-js 3.x
 *     does that and so accepts the conformance case trust-root-tlog-missing-validity-start_fail); TimeRange
 *     requires a start, and an instance whose trust period has no beginning is refused. A missing `end` (or
 *     `end: null`) means still valid.
 *   * a public key that does not parse, does not fit its keyDetails, or has keyDetails we cannot verify with.
 *   * a certificate chain that is empty or holds a certificate that cannot be parsed.
 */
import { createPublicKey, verify as verifyCb, constants, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromBase64 } from '../encoding/base64.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { parseCertificate } from '../x509/parse.js';

export const TRUSTED_ROOT_MEDIA_TYPE_V01 = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const TRUSTED_ROOT_MEDIA_TYPE_V02 = 'application/vnd.dev.sigstore.trustedroot.v0.2+json';

/** A closed time range; a missing `end` is open. `start` is always set on usable instances. */
export interface ValidityPeriod {
  start?: Date;
  end?: Date;
}

export type LogHash = 'sha256' | 'sha384' | 'sha512';

/** A transparency log or CT log (protobuf-specs TransparencyLogInstance). */
export interface TransparencyLogInstance {
  baseUrl: string;
  hashAlgorithm: string;
  /** protobuf-specs PublicKeyDetails name, e.g. PKIX_ECDSA_P256_SHA_256, PKIX_ED25519. */
  keyDetails: string;
  /** Undefined when the key could not be loaded (then `unusable` says why). */
  publicKey?: KeyObject;
  /** The digest signatures by this key are made over; null for Ed25519 (RFC 8032 hashes internally). */
  hash: LogHash | null;
  /** RSA-PSS keys (keyDetails *_RSA_PSS*). */
  pss: boolean;
  logId: Uint8Array;
  /** The C2SP key ID signed-note checkpoints are hinted with, when the root gives one apart from logId. */
  checkpointKeyId?: Uint8Array;
  validFor: ValidityPeriod;
  /** Why this instance cannot be trusted; undefined when it can. */
  unusable?: string;
}

/** A certificate authority or timestamp authority (protobuf-specs CertificateAuthority). */
export interface CertificateAuthority {
  uri?: string;
  subject?: { organization?: string; commonName?: string };
  /** DER certificates as listed: for a TSA, the first is the TSA's signing certificate. */
  certChain: Uint8Array[];
  validFor: ValidityPeriod;
  unusable?: string;
}

export interface TrustedRoot {
  mediaType: string;
  tlogs: TransparencyLogInstance[];
  certificateAuthorities: CertificateAuthority[];
  ctlogs: TransparencyLogInstance[];
  timestampAuthorities: CertificateAuthority[];
}

type Obj = Record<string, unknown>;

function bad(field: string, what: string): never {
  throw new SignetError('MALFORMED_INPUT', `trusted root: ${field} ${what}`);
}

function obj(v: unknown, field: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad(field, 'must be a JSON object');
  return v as Obj;
}

function optObj(v: unknown, field: string): Obj | undefined {
  return v === undefined || v === null ? undefined : obj(v, field);
}

function arr(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(field, 'must be an array');
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') bad(field, 'must be a string');
  return v;
}

function optStr(v: unknown, field: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, field);
}

function bytes(v: unknown, field: string): Uint8Array {
  const s = str(v, field);
  try {
    return fromBase64(s, field);
  } catch {
    bad(field, 'is not valid base64');
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 timestamps as protobuf JSON writes them (fractions of any length are cut to milliseconds). */
function time(v: unknown, field: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const s = str(v, field);
  const m = RFC3339.exec(s);
  if (!m) bad(field, `is not an RFC 3339 timestamp: ${JSON.stringify(s.slice(0, 40))}`);
  const frac = (m[7] ?? '.0').slice(1, 4).padEnd(3, '0');
  const normal = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${frac}${m[8] === 'z' ? 'Z' : m[8]}`;
  const d = new Date(normal);
  if (Number.isNaN(d.getTime())) bad(field, `is not a valid date: ${JSON.stringify(s.slice(0, 40))}`);
  return d;
}

function validity(v: unknown, field: string): { validFor: ValidityPeriod; problem?: string } {
  const o = optObj(v, field);
  const start = time(o?.['start'], `${field}.start`);
  const end = time(o?.['end'], `${field}.end`);
  const validFor: ValidityPeriod = { ...(start ? { start } : {}), ...(end ? { end } : {}) };
  if (!o) return { validFor, problem: `${field} is missing, so the period it is trusted for is unknown` };
  if (!start) return { validFor, problem: `${field}.start is missing, so the period it is trusted for has no beginning` };
  if (end && end < start) return { validFor, problem: `${field} ends before it starts` };
  return { validFor };
}

/** True when `t` lies in the closed range; an instance without a start is never valid. */
export function validAt(v: ValidityPeriod, t: Date): boolean {
  if (!v.start) return false;
  return v.start.getTime() <= t.getTime() && (!v.end || t.getTime() <= v.end.getTime());
}

export function describeValidity(v: ValidityPeriod): string {
  return `${v.start?.toISOString() ?? '(no start)'} to ${v.end?.toISOString() ?? 'open'}`;
}

interface KeySpec {
  format: 'spki' | 'pkcs1';
  type: 'ec' | 'ed25519' | 'rsa';
  curve?: string;
  hash: LogHash | null;
  pss?: boolean;
  rsaBits?: number;
}

/** protobuf-specs `PublicKeyDetails` values this verifier can check signatures with. */
const KEY_DETAILS: Record<string, KeySpec> = {
  PKIX_ECDSA_P256_SHA_256: { format: 'spki', type: 'ec', curve: 'prime256v1', hash: 'sha256' },
  PKIX_ECDSA_P384_SHA_384: { format: 'spki', type: 'ec', curve: 'secp384r1', hash: 'sha384' },
  PKIX_ECDSA_P521_SHA_512: { format: 'spki', type: 'ec', curve: 'secp521r1', hash: 'sha512' },
  PKIX_ED25519: { format: 'spki', type: 'ed25519', hash: null },
  PKIX_RSA_PKCS1V15_2048_SHA256: { format: 'spki', type: 'rsa', hash: 'sha256', rsaBits: 2048 },
  PKIX_RSA_PKCS1V15_3072_SHA256: { format: 'spki', type: 'rsa', hash: 'sha256', rsaBits: 3072 },
  PKIX_RSA_PKCS1V15_4096_SHA256: { format: 'spki', type: 'rsa', hash: 'sha256', rsaBits: 4096 },
  PKIX_RSA_PSS_2048_SHA256: { format: 'spki', type: 'rsa', hash: 'sha256', pss: true, rsaBits: 2048 },
  PKIX_RSA_PSS_3072_SHA256: { format: 'spki', type: 'rsa', hash: 'sha256', pss: true, rsaBits: 3072 },
  PKIX_RSA_PSS_4096_SHA256: { format: 'spki', type: 'rsa', hash: 'sha256', pss: true, rsaBits: 4096 },
  // Deprecated names, still found in staging roots.
  PKIX_RSA_PKCS1V5: { format: 'spki', type: 'rsa', hash: 'sha256' },
  PKIX_RSA_PSS: { format: 'spki', type: 'rsa', hash: 'sha256', pss: true },
  PKCS1_RSA_PKCS1V5: { format: 'pkcs1', type: 'rsa', hash: 'sha256' },
  PKCS1_RSA_PSS: { format: 'pkcs1', type: 'rsa', hash: 'sha256', pss: true },
};

const CURVE_HASH: Record<string, LogHash> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };

/** Loads a key as its keyDetails says; returns the reason when it cannot be used. */
function loadKey(raw: Uint8Array | undefined, details: string | undefined, field: string): { key?: KeyObject; hash: LogHash | null; pss: boolean; problem?: string } {
  if (!raw) return { hash: null, pss: false, problem: `${field}.rawBytes is missing` };
  let spec = details ? KEY_DETAILS[details] : undefined;
  if (details && !spec) return { hash: null, pss: false, problem: `${field}.keyDetails ${details} is not supported` };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(raw), format: 'der', type: spec?.format ?? 'spki' });
  } catch {
    return { hash: null, pss: false, problem: `${field}.rawBytes is not a ${spec?.format === 'pkcs1' ? 'PKCS#1 RSA' : 'DER SubjectPublicKeyInfo'} public key` };
  }
  const type = key.asymmetricKeyType;
  if (!spec) {
    // No keyDetails: inferred from the key (ECDSA with the curve's hash, Ed25519, RSA PKCS#1 v1.5 SHA-256).
    const curve = String(key.asymmetricKeyDetails?.namedCurve ?? '');
    if (type === 'ec' && CURVE_HASH[curve]) spec = { format: 'spki', type: 'ec', curve, hash: CURVE_HASH[curve]! };
    else if (type === 'ed25519') spec = { format: 'spki', type: 'ed25519', hash: null };
    else if (type === 'rsa') spec = { format: 'spki', type: 'rsa', hash: 'sha256' };
    else return { hash: null, pss: false, problem: `${field} is a ${String(type)} key, which is not supported` };
  }
  if (type !== spec.type || (spec.curve && key.asymmetricKeyDetails?.namedCurve !== spec.curve)) {
    return { hash: null, pss: false, problem: `${field} is a ${String(type)} ${String(key.asymmetricKeyDetails?.namedCurve ?? '')} key, not what keyDetails ${details} says` };
  }
  if (spec.rsaBits && key.asymmetricKeyDetails?.modulusLength !== spec.rsaBits) {
    return { hash: null, pss: false, problem: `${field} is an RSA-${key.asymmetricKeyDetails?.modulusLength} key, not what keyDetails ${details} says` };
  }
  return { key, hash: spec.hash, pss: spec.pss === true };
}

function parseLog(v: unknown, field: string): TransparencyLogInstance {
  const o = obj(v, field);
  const baseUrl = optStr(o['baseUrl'], `${field}.baseUrl`) ?? '';
  const hashAlgorithm = optStr(o['hashAlgorithm'], `${field}.hashAlgorithm`) ?? 'SHA2_256';
  const pk = optObj(o['publicKey'], `${field}.publicKey`);
  const raw = pk?.['rawBytes'] === undefined || pk['rawBytes'] === null ? undefined : bytes(pk['rawBytes'], `${field}.publicKey.rawBytes`);
  const keyDetails = optStr(pk?.['keyDetails'], `${field}.publicKey.keyDetails`);
  const { validFor, problem: vProblem } = validity(pk?.['validFor'], `${field}.publicKey.validFor`);
  const logIdObj = optObj(o['logId'], `${field}.logId`);
  const cpObj = optObj(o['checkpointKeyId'], `${field}.checkpointKeyId`);
  const logId = logIdObj?.['keyId'] === undefined ? undefined : bytes(logIdObj['keyId'], `${field}.logId.keyId`);
  const checkpointKeyId = cpObj?.['keyId'] === undefined ? undefined : bytes(cpObj['keyId'], `${field}.checkpointKeyId.keyId`);
  const k = pk ? loadKey(raw, keyDetails, `${field}.publicKey`) : { hash: null, pss: false, problem: `${field}.publicKey is missing` };
  let unusable = k.problem ?? vProblem;
  if (!unusable && !logId && !checkpointKeyId) unusable = `${field} has no logId`;
  if (!unusable && hashAlgorithm !== 'SHA2_256') unusable = `${field}.hashAlgorithm ${hashAlgorithm} is not supported (RFC 6962 trees use SHA2_256)`;
  const out: TransparencyLogInstance = {
    baseUrl,
    hashAlgorithm,
    keyDetails: keyDetails ?? '',
    hash: k.hash,
    pss: k.pss,
    logId: logId ?? checkpointKeyId ?? new Uint8Array(),
    validFor,
  };
  if (k.key) out.publicKey = k.key;
  if (checkpointKeyId) out.checkpointKeyId = checkpointKeyId;
  if (unusable) out.unusable = unusable;
  return out;
}

function parseAuthority(v: unknown, field: string): CertificateAuthority {
  const o = obj(v, field);
  const chainObj = optObj(o['certChain'], `${field}.certChain`);
  const certChain = arr(chainObj?.['certificates'], `${field}.certChain.certificates`).map((c, i) =>
    bytes(obj(c, `${field}.certChain.certificates[${i}]`)['rawBytes'], `${field}.certChain.certificates[${i}].rawBytes`),
  );
  const { validFor, problem } = validity(o['validFor'], `${field}.validFor`);
  const subj = optObj(o['subject'], `${field}.subject`);
  const out: CertificateAuthority = { certChain, validFor };
  const uri = optStr(o['uri'], `${field}.uri`);
  if (uri !== undefined) out.uri = uri;
  if (subj) {
    const organization = optStr(subj['organization'], `${field}.subject.organization`);
    const commonName = optStr(subj['commonName'], `${field}.subject.commonName`);
    out.subject = { ...(organization !== undefined ? { organization } : {}), ...(commonName !== undefined ? { commonName } : {}) };
  }
  let unusable = problem;
  if (!unusable && certChain.length === 0) unusable = `${field}.certChain has no certificates`;
  if (!unusable) {
    const broken = certChain.findIndex((der) => {
      try {
        parseCertificate(der);
        return false;
      } catch {
        return true;
      }
    });
    if (broken >= 0) unusable = `${field}.certChain.certificates[${broken}] cannot be parsed as an X.509 certificate`;
  }
  if (unusable) out.unusable = unusable;
  return out;
}

/**
 * Parses a trusted root (media type `…trustedroot+json;version=0.1` or `…trustedroot.v0.2+json`), given as
 * parsed JSON, JSON text or its UTF-8 bytes.
 */
export function parseTrustedRoot(json: unknown): TrustedRoot {
  let value = json;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof value === 'string' ? value : fromUtf8(value));
    } catch {
      throw new SignetError('MALFORMED_INPUT', 'trusted root: not valid JSON');
    }
  }
  const o = obj(value, '(top level)');
  const mediaType = str(o['mediaType'], 'mediaType');
  if (mediaType !== TRUSTED_ROOT_MEDIA_TYPE_V01 && mediaType !== TRUSTED_ROOT_MEDIA_TYPE_V02) {
    throw new SignetError('UNSUPPORTED_FORMAT', `trusted root: unsupported mediaType ${JSON.stringify(mediaType.slice(0, 100))}`);
  }
  return {
    mediaType,
    tlogs: arr(o['tlogs'], 'tlogs').map((t, i) => parseLog(t, `tlogs[${i}]`)),
    certificateAuthorities: arr(o['certificateAuthorities'], 'certificateAuthorities').map((c, i) => parseAuthority(c, `certificateAuthorities[${i}]`)),
    ctlogs: arr(o['ctlogs'], 'ctlogs').map((t, i) => parseLog(t, `ctlogs[${i}]`)),
    timestampAuthorities: arr(o['timestampAuthorities'], 'timestampAuthorities').map((c, i) => parseAuthority(c, `timestampAuthorities[${i}]`)),
  };
}

/** Verifies a signature by a log's key (SETs, checkpoints) off the event loop; any error is false. */
export function verifyWithLogKey(log: TransparencyLogInstance, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const key = log.publicKey;
  if (!key || log.unusable) return Promise.resolve(false);
  const k = log.pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : key;
  return new Promise((resolve) => {
    try {
      verifyCb(log.hash, data, k, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}
