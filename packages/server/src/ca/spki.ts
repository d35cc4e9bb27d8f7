import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeOid, readChildren, readTlv, readUnsignedInteger, spkiDer, type Tlv } from '@signet/core';
import { CaError } from './errors.js';

/**
 * A client key to certify: the KeyObject (for the proof of possession) and its SubjectPublicKeyInfo DER exactly as
 * it goes into the certificate.
 *
 * Why not simply createPublicKey(der) and key.export('spki')? With OpenSSL 3.0 each of those costs 200–300 µs on the
 * event loop (its generic decoder and encoder), about half the whole issuance budget at 1,000 certificates a second.
 * So the common canonical encodings (named-curve ECDSA with an uncompressed point, RSA with NULL parameters, Ed25519)
 * are read here in strict DER and handed to OpenSSL as a JWK, which is far cheaper and still validates the key (the EC
 * point must be on the curve); the submitted DER is then the certificate's SPKI as is, since strict DER has only one
 * encoding for such a key. Anything else takes the slow path through OpenSSL and is re-exported canonically.
 */
export interface ClientKey {
  key: KeyObject;
  spki: Uint8Array;
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const ED25519 = '1.3.101.112';
const CURVES: Record<string, { crv: string; size: number }> = {
  '1.2.840.10045.3.1.7': { crv: 'P-256', size: 32 },
  '1.3.132.0.34': { crv: 'P-384', size: 48 },
  '1.3.132.0.35': { crv: 'P-521', size: 66 },
};

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

function invalidKey(what: string): never {
  throw new CaError('CERT_REQUEST_INVALID', `${what} is not a valid SubjectPublicKeyInfo public key`);
}

/** The JWK for a canonical SPKI of an allowed kind, or undefined to take the OpenSSL path. */
function canonicalJwk(der: Uint8Array): Record<string, string> | undefined {
  let top: Tlv;
  try {
    top = readTlv(der);
  } catch {
    return undefined;
  }
  if (top.tag !== 0x30 || top.end !== der.length) return undefined;
  const parts = readChildren(der, top);
  const [alg, bits] = parts;
  if (parts.length !== 2 || alg?.tag !== 0x30 || bits?.tag !== 0x03) return undefined;
  const algParts = readChildren(der, alg);
  const [oidT, params] = algParts;
  if (oidT?.tag !== 0x06) return undefined;
  const oid = decodeOid(der, oidT);
  if (der[bits.contentStart] !== 0) return undefined; // unused bits
  const key = der.subarray(bits.contentStart + 1, bits.end);

  if (oid === EC_PUBLIC_KEY) {
    if (algParts.length !== 2 || params?.tag !== 0x06) return undefined;
    const curve = CURVES[decodeOid(der, params)];
    if (!curve || key.length !== 1 + 2 * curve.size || key[0] !== 0x04) return undefined;
    return { kty: 'EC', crv: curve.crv, x: b64u(key.subarray(1, 1 + curve.size)), y: b64u(key.subarray(1 + curve.size)) };
  }
  if (oid === RSA_ENCRYPTION) {
    if (algParts.length !== 2 || params?.tag !== 0x05 || params.end !== params.contentStart) return undefined;
    const seq = readTlv(key);
    if (seq.tag !== 0x30 || seq.end !== key.length) return undefined;
    const ints = readChildren(key, seq);
    if (ints.length !== 2) return undefined;
    const [n, e] = ints as [Tlv, Tlv];
    readUnsignedInteger(key, n); // strict: positive, minimal
    readUnsignedInteger(key, e);
    const strip = (t: Tlv): Uint8Array => key.subarray(key[t.contentStart] === 0 ? t.contentStart + 1 : t.contentStart, t.end);
    const modulus = strip(n);
    const bitsLen = modulus.length * 8 - Math.clz32(modulus[0] ?? 0) + 24;
    if (bitsLen < 2048 || bitsLen > 4096) throw new CaError('KEY_NOT_ALLOWED', `an RSA key of ${bitsLen} bits is not allowed: RSA keys must be 2048 to 4096 bits`);
    return { kty: 'RSA', n: b64u(modulus), e: b64u(strip(e)) };
  }
  if (oid === ED25519) {
    if (algParts.length !== 1 || key.length !== 32) return undefined;
    return { kty: 'OKP', crv: 'Ed25519', x: b64u(key) };
  }
  return undefined;
}

/**
 * Reads a DER SubjectPublicKeyInfo into a ClientKey (see above). `what` names the field in error messages. The key's
 * kind is not checked here: callers apply the allowed set (keys.ts checkAllowedKey).
 */
export function readClientKey(der: Uint8Array, what: string): ClientKey {
  let jwk: Record<string, string> | undefined;
  try {
    jwk = canonicalJwk(der);
  } catch (e) {
    if (e instanceof CaError) throw e;
    jwk = undefined; // malformed here: let OpenSSL have the last word (and the error)
  }
  if (jwk) {
    try {
      return { key: createPublicKey({ key: jwk, format: 'jwk' }), spki: der };
    } catch {
      invalidKey(what); // e.g. an EC point that is not on the curve
    }
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    invalidKey(what);
  }
  return { key, spki: spkiDer(key) };
}
