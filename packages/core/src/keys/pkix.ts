import {
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCb,
  sign as signCb,
  verify as verifyCb,
  type KeyObject,
} from 'node:crypto';
import { SignetError } from '../errors.js';
import { parsePemBlocks, toPem } from '../encoding/pem.js';
import { toHex } from '../encoding/hex.js';
import type { TrustedKey } from '../verify/types.js';

/** Key kinds Signet generates. */
export const KEY_KINDS = ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Generates a key pair off the event loop. */
export function generateKeyPair(kind: KeyKind): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    };
    switch (kind) {
      case 'ecdsa-p256':
        return generateKeyPairCb('ec', { namedCurve: 'P-256' }, done);
      case 'ecdsa-p384':
        return generateKeyPairCb('ec', { namedCurve: 'P-384' }, done);
      case 'ed25519':
        return generateKeyPairCb('ed25519', {}, done);
      case 'rsa-2048':
      case 'rsa-3072':
      case 'rsa-4096':
        return generateKeyPairCb('rsa', { modulusLength: Number(kind.slice(4)), publicExponent: 65537 }, done);
      default:
        reject(new SignetError('INVALID_ARGUMENT', `unknown key kind "${String(kind)}"; use one of ${KEY_KINDS.join(', ')}`));
    }
  });
}

/** Describes a key as one of KEY_KINDS-like names (e.g. "ecdsa-p256", "rsa-4096", "ed25519"). */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `ecdsa-${String(d.namedCurve ?? 'unknown').replace('prime256v1', 'p256').replace('secp384r1', 'p384').replace('secp521r1', 'p521')}`;
    case 'rsa':
    case 'rsa-pss':
      return `${key.asymmetricKeyType}-${d.modulusLength ?? 0}`;
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

/**
 * The hash each key type signs with, following cosign/sigstore defaults: ECDSA P-256/SHA-256,
 * P-384/SHA-384, P-521/SHA-512, RSA PKCS#1 v1.5/SHA-256; Ed25519 hashes internally (RFC 8032), so null.
 */
export function hashForKey(key: KeyObject): 'sha256' | 'sha384' | 'sha512' | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec') {
    const c = key.asymmetricKeyDetails?.namedCurve;
    if (c === 'secp384r1') return 'sha384';
    if (c === 'secp521r1') return 'sha512';
    return 'sha256';
  }
  return 'sha256';
}

const spkiCache = new WeakMap<KeyObject, Uint8Array>();
const fingerprintCache = new WeakMap<KeyObject, string>();

/** The SubjectPublicKeyInfo DER of a key (or of a private key's public half), computed once per KeyObject. */
export function spkiDer(key: KeyObject): Uint8Array {
  let der = spkiCache.get(key);
  if (!der) {
    const pub = key.type === 'private' ? createPublicKey(key) : key;
    der = new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
    spkiCache.set(key, der);
  }
  return der;
}

/** Lowercase hex SHA-256 of a SubjectPublicKeyInfo DER, as given. */
export function spkiDerFingerprint(spki: Uint8Array): string {
  return toHex(createHash('sha256').update(spki).digest());
}

/** Lowercase hex SHA-256 of the key's SubjectPublicKeyInfo DER (spkiDerFingerprint of OpenSSL's export). */
export function spkiFingerprint(key: KeyObject): string {
  let fp = fingerprintCache.get(key);
  if (!fp) {
    fp = spkiDerFingerprint(spkiDer(key));
    fingerprintCache.set(key, fp);
  }
  return fp;
}

export function publicKeyPem(key: KeyObject): string {
  return toPem('PUBLIC KEY', spkiDer(key));
}

export function pkcs8Der(key: KeyObject): Uint8Array {
  if (key.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'a private key is required');
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

export function privateKeyFromPkcs8(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'not a PKCS#8 private key', { cause: e });
  }
}

export function exportJwk(key: KeyObject): Record<string, unknown> {
  return key.export({ format: 'jwk' }) as Record<string, unknown>;
}

export function importJwk(jwk: Record<string, unknown>): KeyObject {
  try {
    return 'd' in jwk ? createPrivateKey({ key: jwk as never, format: 'jwk' }) : createPublicKey({ key: jwk as never, format: 'jwk' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'not a usable JWK', { cause: e });
  }
}

const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 1024;

/**
 * Parses a PEM public key (SPKI "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY") or a certificate's key, caching the
 * KeyObject by its text so hot verification paths never re-parse the same key.
 */
export function publicKeyFromPem(pem: string): KeyObject {
  const hit = keyCache.get(pem);
  if (hit) return hit;
  let key: KeyObject;
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) key = new X509Certificate(pem).publicKey;
    else key = createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'not a PEM public key or certificate', { cause: e });
  }
  if (key.type !== 'public') throw new SignetError('KEY_PARSE_FAILED', 'expected a public key, found a private key');
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(pem, key);
  return key;
}

export function publicKeyFromDer(der: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'not a DER SubjectPublicKeyInfo', { cause: e });
  }
}

/**
 * Reads every PEM public key and certificate in a text as trusted keys. A certificate contributes its
 * public key with the certificate's validity window. Private keys are refused: trust material is public.
 */
export function parsePkixTrust(text: string, name?: string): TrustedKey[] {
  const out: TrustedKey[] = [];
  for (const b of parsePemBlocks(text)) {
    if (/PRIVATE KEY/.test(b.label)) {
      throw new SignetError('INVALID_ARGUMENT', 'this is a private key; verification takes the public key (.pub)');
    }
    if (b.label === 'PUBLIC KEY' || b.label === 'RSA PUBLIC KEY') {
      const key = publicKeyFromPem(toPem(b.label, b.der));
      out.push({ kind: 'pkix', key, fingerprint: spkiFingerprint(key), ...(name ? { name } : {}) });
    } else if (b.label === 'CERTIFICATE') {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(Buffer.from(b.der));
      } catch (e) {
        throw new SignetError('KEY_PARSE_FAILED', 'a CERTIFICATE block could not be parsed', { cause: e });
      }
      out.push({
        kind: 'pkix',
        key: cert.publicKey,
        fingerprint: spkiFingerprint(cert.publicKey),
        name: name ?? cert.subject,
        validity: { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) },
      });
    }
  }
  if (out.length === 0) throw new SignetError('KEY_PARSE_FAILED', 'no PEM public key or certificate found');
  return out;
}

/** Signs `data` (hashing it with the key's hash) off the event loop. ECDSA signatures are DER (as cosign emits). */
export function signData(key: KeyObject, data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    signCb(hashForKey(key), data, key, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig))));
  });
}

/** Verifies a signature over `data` off the event loop; any error (malformed signature, wrong key type) is false. */
export function verifyData(key: KeyObject, data: Uint8Array, signature: Uint8Array, hash = hashForKey(key)): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verifyCb(hash, data, key, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}
