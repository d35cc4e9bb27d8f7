import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { decodeName, parseCertificate, spkiDer, toBase64 } from '@signet/core';
import { ConfigError } from '../config/index.js';

/** What the trust documents describe: this server's services and the keys and certificates they use. */
export interface TrustSources {
  /** config.baseUrl, e.g. http://127.0.0.1:8080 (no trailing slash needed). */
  baseUrl: string;
  /** The Rekor v1 log (its checkpoint key name is the host of baseUrl). */
  tlog: { publicKey: KeyObject; validFrom: Date };
  /** The keyless CA; DER certificates, intermediate first, root last. */
  ca: { chain: Uint8Array[]; validFrom: Date };
  /** The CT log whose SCTs the CA embeds. */
  ctlog: { publicKey: KeyObject; validFrom: Date };
  /** The timestamp authority; DER certificates, TSA leaf first, root last. */
  tsa: { chain: Uint8Array[]; validFrom: Date };
  /** OIDC issuers clients may get identity tokens from (e.g. the dev issuer); none by default. */
  oidcUrls?: Array<{ url: string; validFrom: Date }>;
}

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

// The JSON shapes below follow sigstore/protobuf-specs (sigstore_trustroot.proto, sigstore_common.proto) in
// proto3 JSON form. Fields are written in the order, and omitted under the rules, of the generated
// toJSON, so a document survives fromJSON → toJSON unchanged.

interface TimeRangeJson {
  start: string;
}

interface DistinguishedNameJson {
  organization?: string;
  commonName?: string;
}

export interface TransparencyLogInstanceJson {
  baseUrl: string;
  hashAlgorithm: 'SHA2_256';
  publicKey: { rawBytes: string; keyDetails: string; validFor: TimeRangeJson };
  logId: { keyId: string };
  checkpointKeyId: { keyId: string };
  operator: string;
}

export interface CertificateAuthorityJson {
  subject?: DistinguishedNameJson;
  uri: string;
  certChain: { certificates: Array<{ rawBytes: string }> };
  validFor: TimeRangeJson;
  operator: string;
}

export interface TrustedRootJson {
  mediaType: typeof TRUSTED_ROOT_MEDIA_TYPE;
  tlogs: TransparencyLogInstanceJson[];
  certificateAuthorities: CertificateAuthorityJson[];
  ctlogs: TransparencyLogInstanceJson[];
  timestampAuthorities: CertificateAuthorityJson[];
}

export interface ServiceJson {
  url: string;
  majorApiVersion: number;
  validFor: TimeRangeJson;
  operator: string;
}

export interface SigningConfigJson {
  mediaType: typeof SIGNING_CONFIG_MEDIA_TYPE;
  caUrls: ServiceJson[];
  oidcUrls?: ServiceJson[];
  rekorTlogUrls: ServiceJson[];
  rekorTlogConfig: { selector: 'ANY' };
  tsaUrls: ServiceJson[];
  tsaConfig: { selector: 'ANY' };
}

function bad(msg: string): never {
  throw new ConfigError(`trust: ${msg}`);
}

function base(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad(`baseUrl must be an http(s) URL (got ${JSON.stringify(url)})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') bad(`baseUrl must be an http(s) URL (got ${JSON.stringify(url)})`);
  return url.replace(/\/+$/, '');
}

/**
 * validFor.start: the instant a key or CA came into use, rounded down to the whole second (Rekor's
 * integratedTime has second precision, and an entry integrated in the key's first second must still fall
 * inside the range). Written as toISOString(), the form the generated toJSON writes.
 */
function start(d: Date, what: string): TimeRangeJson {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) bad(`${what}.validFrom must be a valid Date`);
  return { start: new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString() };
}

/** PublicKeyDetails for a log key: ECDSA by curve (with the hash Rekor and CT use for it), or Ed25519. */
export function keyDetails(key: KeyObject): string {
  const k = key.type === 'private' ? createPublicKey(key) : key;
  if (k.asymmetricKeyType === 'ec') {
    switch (k.asymmetricKeyDetails?.namedCurve) {
      case 'prime256v1':
        return 'PKIX_ECDSA_P256_SHA_256';
      case 'secp384r1':
        return 'PKIX_ECDSA_P384_SHA_384';
      case 'secp521r1':
        return 'PKIX_ECDSA_P521_SHA_512';
      default:
        break;
    }
  }
  if (k.asymmetricKeyType === 'ed25519') return 'PKIX_ED25519';
  // RSA is left out on purpose: @sigstore/verify 3.x reads keys marked PKIX_RSA_PKCS1V15_* as PKCS#1, not as
  // the SPKI these documents carry, so an RSA log key would not load in sigstore-js.
  return bad(`log keys must be ECDSA (P-256, P-384, P-521) or Ed25519, not ${k.asymmetricKeyType ?? 'unknown'}`);
}

function logInstance(url: string, key: KeyObject, validFrom: Date, operator: string, what: string): TransparencyLogInstanceJson {
  if (!key || typeof key !== 'object' || typeof (key as KeyObject).asymmetricKeyType !== 'string') bad(`${what}.publicKey must be a KeyObject`);
  const spki = spkiDer(key);
  const keyId = toBase64(createHash('sha256').update(spki).digest());
  return {
    baseUrl: url,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: toBase64(spki), keyDetails: keyDetails(key), validFor: start(validFrom, what) },
    logId: { keyId },
    checkpointKeyId: { keyId },
    operator,
  };
}

function certificateAuthority(uri: string, chain: Uint8Array[], validFrom: Date, operator: string, what: string): CertificateAuthorityJson {
  if (!Array.isArray(chain) || chain.length === 0) bad(`${what}.chain must hold at least one DER certificate`);
  const parsed = chain.map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (e) {
      return bad(`${what}.chain[${i}] is not a DER certificate: ${(e as Error).message}`);
    }
  });
  const root = parsed[parsed.length - 1]!;
  const subject: DistinguishedNameJson = {};
  const name = decodeName(root.subject);
  const o = name.find(([k]) => k === 'O')?.[1];
  const cn = name.find(([k]) => k === 'CN')?.[1];
  if (o) subject.organization = o;
  if (cn) subject.commonName = cn;
  return {
    ...(o || cn ? { subject } : {}),
    uri,
    certChain: { certificates: parsed.map((c) => ({ rawBytes: toBase64(c.der) })) },
    validFor: start(validFrom, what),
    operator,
  };
}

/** The trusted root (application/vnd.dev.sigstore.trustedroot+json;version=0.1) for these sources; deterministic. */
export function trustedRoot(s: TrustSources): TrustedRootJson {
  const url = base(s.baseUrl);
  const operator = new URL(url).host;
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [logInstance(url, s.tlog?.publicKey, s.tlog?.validFrom, operator, 'tlog')],
    certificateAuthorities: [certificateAuthority(url, s.ca?.chain, s.ca?.validFrom, operator, 'ca')],
    ctlogs: [logInstance(`${url}/ct`, s.ctlog?.publicKey, s.ctlog?.validFrom, operator, 'ctlog')],
    timestampAuthorities: [certificateAuthority(`${url}/api/v1/timestamp`, s.tsa?.chain, s.tsa?.validFrom, operator, 'tsa')],
  };
}

/** The signing config (application/vnd.dev.sigstore.signingconfig.v0.2+json) for these sources; deterministic. */
export function signingConfig(s: TrustSources): SigningConfigJson {
  const url = base(s.baseUrl);
  const operator = new URL(url).host;
  const service = (u: string, validFrom: Date, what: string): ServiceJson => ({ url: u, majorApiVersion: 1, validFor: start(validFrom, what), operator });
  const oidc = (s.oidcUrls ?? []).map((o, i) => service(base(o.url), o.validFrom, `oidcUrls[${i}]`));
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(url, s.ca?.validFrom, 'ca')],
    // An empty list is left out, as the generated toJSON does.
    ...(oidc.length ? { oidcUrls: oidc } : {}),
    rekorTlogUrls: [service(url, s.tlog?.validFrom, 'tlog')],
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: [service(`${url}/api/v1/timestamp`, s.tsa?.validFrom, 'tsa')],
    tsaConfig: { selector: 'ANY' },
  };
}

/** The served form of a document: two-space indented JSON, as Sigstore's own trust documents are written. */
export function documentJson(doc: TrustedRootJson | SigningConfigJson): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
