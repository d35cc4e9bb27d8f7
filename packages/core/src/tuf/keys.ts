import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';
import { publicKeyPem } from '../keys/pkix.js';
import { canonicalJsonBytes } from './canonical.js';

/**
 * A public key as TUF metadata carries it (TUF spec 1.0 §4.2 "KEYS"). Signet writes:
 *  - ECDSA P-256: {keytype:'ecdsa', scheme:'ecdsa-sha2-nistp256', keyval:{public:'<PEM SPKI>'}}
 *  - Ed25519:     {keytype:'ed25519', scheme:'ed25519', keyval:{public:'<64 hex digits>'}}
 * Keys read from metadata may carry other fields; they are kept (they are part of the key ID).
 */
export interface TufPublicKey {
  keytype: string;
  scheme: string;
  keyval: { public: string } & Record<string, string>;
  [extra: string]: unknown;
}

/** A private key ready to sign TUF metadata, with the key ID its public half has in root metadata. */
export interface TufSigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: TufPublicKey;
}

const P256 = 'prime256v1';

/** The TUF form of a key (public, or the public half of a private key). Only ECDSA P-256 and Ed25519. */
export function tufPublicKey(key: KeyObject): TufPublicKey {
  if (key.type === 'secret') throw new SignetError('INVALID_ARGUMENT', 'a TUF key must be an asymmetric key');
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType === 'ec' && pub.asymmetricKeyDetails?.namedCurve === P256) {
    return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: publicKeyPem(pub) } };
  }
  if (pub.asymmetricKeyType === 'ed25519') {
    const jwk = pub.export({ format: 'jwk' });
    return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(Buffer.from(jwk.x ?? '', 'base64url')) } };
  }
  const curve = pub.asymmetricKeyDetails?.namedCurve;
  throw new SignetError(
    'UNSUPPORTED_ALGORITHM',
    `TUF keys must be ECDSA P-256 or Ed25519, not ${pub.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''}`,
  );
}

/**
 * The key ID: lowercase hex SHA-256 of the canonical JSON of the key object (TUF spec 1.0 §4.2
 * "KEYID"), the way python-tuf/securesystemslib and go-tuf compute it.
 */
export function tufKeyId(key: TufPublicKey): string {
  return toHex(createHash('sha256').update(canonicalJsonBytes(key)).digest());
}

/** A private key with its TUF public form and key ID. */
export function tufSigningKey(privateKey: KeyObject): TufSigningKey {
  if (privateKey.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'signing TUF metadata needs a private key');
  const publicKey = tufPublicKey(privateKey);
  return { keyId: tufKeyId(publicKey), privateKey, publicKey };
}

/** The digest a key's scheme signs with: 'sha256' for ecdsa-sha2-nistp256, null for ed25519 (RFC 8032 hashes internally). */
export function tufSchemeHash(key: TufPublicKey): 'sha256' | null {
  if (isEcdsa(key)) return 'sha256';
  if (isEd25519(key)) return null;
  throw new SignetError('UNSUPPORTED_ALGORITHM', `unsupported TUF key: keytype "${key.keytype}", scheme "${key.scheme}"`);
}

function isEcdsa(key: TufPublicKey): boolean {
  return (key.keytype === 'ecdsa' || key.keytype === 'ecdsa-sha2-nistp256') && key.scheme === 'ecdsa-sha2-nistp256';
}

function isEd25519(key: TufPublicKey): boolean {
  return key.keytype === 'ed25519' && key.scheme === 'ed25519';
}

/**
 * Parses the key material of a TUF key. keyval.public may be PEM SPKI or hex (Ed25519: the 32-byte
 * key; ECDSA: the uncompressed point 04||X||Y), the two forms TUF implementations write.
 */
export function tufKeyObject(key: TufPublicKey): KeyObject {
  const hash = tufSchemeHash(key);
  const material = key.keyval?.public;
  if (typeof material !== 'string' || material === '') throw new SignetError('KEY_PARSE_FAILED', 'TUF key has no keyval.public');
  let k: KeyObject;
  try {
    if (material.startsWith('-----BEGIN PUBLIC KEY-----')) {
      k = createPublicKey({ key: material, format: 'pem' });
    } else if (hash === null) {
      const raw = fromHex(material, 'Ed25519 keyval.public');
      if (raw.length !== 32) throw new SignetError('KEY_PARSE_FAILED', 'an Ed25519 key is 32 bytes');
      k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
    } else {
      const raw = fromHex(material, 'ECDSA keyval.public');
      if (raw.length !== 65 || raw[0] !== 0x04) throw new SignetError('KEY_PARSE_FAILED', 'a hex P-256 key must be an uncompressed point (65 bytes)');
      const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
      k = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(raw.subarray(1, 33)), y: b64(raw.subarray(33)) }, format: 'jwk' });
    }
  } catch (e) {
    if (e instanceof SignetError) throw e;
    throw new SignetError('KEY_PARSE_FAILED', 'TUF keyval.public is not a usable public key', { cause: e });
  }
  const ok = hash === null ? k.asymmetricKeyType === 'ed25519' : k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === P256;
  if (!ok) throw new SignetError('KEY_PARSE_FAILED', `TUF key material does not match its scheme "${key.scheme}"`);
  return k;
}

