import { KeyObject, createPublicKey, verify as cryptoVerify, type JsonWebKey, type webcrypto } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { IdentityError } from './errors.js';

// JWS compact serialization (RFC 7515 §7.1) verified with node:crypto. jose does the JWKS fetching and key
// selection (oidc.ts); the signature check is here, small enough to run in the CA's issuance workers too.

function deny(msg: string): never {
  throw new IdentityError('UNAUTHENTICATED', msg);
}

export interface CompactJws {
  parts: [string, string, string];
  header: { alg: string; kid?: string; crit?: unknown; b64?: unknown };
  payload: JWTPayload;
  signature: Buffer;
}

/**
 * Everything a thread needs to check a token's signature: the algorithm, the signing input, the signature and the
 * issuer's key (a KeyObject crosses to a worker thread by postMessage).
 */
export interface JwsSignatureCheck {
  alg: string;
  /** RFC 7515 §5.2: ASCII(BASE64URL(header) || '.' || BASE64URL(payload)). */
  input: string;
  signature: Uint8Array;
  key: KeyObject;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

export function parseCompactJws(token: string): CompactJws {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) deny('the identity token is not a JWT');
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    deny('the identity token is not a JWT');
  }
  if (!isObject(header) || typeof header['alg'] !== 'string') deny('the identity token has no "alg" header');
  if (!isObject(payload)) deny('the identity token payload is not a JSON object');
  // RFC 7515 §4.1.11: a "crit" header we do not understand must be rejected; we understand none.
  if (header['crit'] !== undefined) deny('the identity token has critical header parameters this server does not support');
  const alg = header['alg'];
  if (!ALGORITHMS[alg]) deny(`the identity token's algorithm ${alg} is not allowed (allowed: ${Object.keys(ALGORITHMS).join(', ')})`);
  return { parts: [h, p, s], header: header as CompactJws['header'], payload: payload as JWTPayload, signature: Buffer.from(s, 'base64url') };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7518 §3.1 algorithms we accept, with the key each needs. */
const ALGORITHMS: Record<string, { hash: string | null; key: (k: KeyObject) => boolean; pss?: boolean }> = {
  RS256: { hash: 'sha256', key: (k) => k.asymmetricKeyType === 'rsa' && (k.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 },
  PS256: { hash: 'sha256', key: (k) => k.asymmetricKeyType === 'rsa' && (k.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048, pss: true },
  ES256: { hash: 'sha256', key: (k) => k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1' },
  ES384: { hash: 'sha384', key: (k) => k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'secp384r1' },
  EdDSA: { hash: null, key: (k) => k.asymmetricKeyType === 'ed25519' },
};

const keyObjects = new WeakMap<object, KeyObject>();

export function toKeyObject(k: unknown): KeyObject {
  if (k instanceof KeyObject) return k;
  if (typeof k !== 'object' || k === null || k instanceof Uint8Array) deny('the issuer key is not a public key');
  let ko = keyObjects.get(k);
  if (!ko) {
    ko = 'usages' in k && 'algorithm' in k ? KeyObject.from(k as webcrypto.CryptoKey) : createPublicKey({ key: k as JsonWebKey, format: 'jwk' });
    keyObjects.set(k, ko);
  }
  if (ko.type !== 'public') deny('the issuer key is not a public key');
  return ko;
}

/** What a token's signature is checked with, once the key is known to fit the token's algorithm. */
export function signatureCheck(jws: CompactJws, key: KeyObject): JwsSignatureCheck {
  const alg = ALGORITHMS[jws.header.alg];
  if (!alg || !alg.key(key)) deny(`the issuer's key does not fit the token's algorithm ${jws.header.alg}`);
  return { alg: jws.header.alg, input: `${jws.parts[0]}.${jws.parts[1]}`, signature: jws.signature, key };
}

function verifyArgs(c: JwsSignatureCheck): [string | null, Buffer, Parameters<typeof cryptoVerify>[2]] {
  const alg = ALGORITHMS[c.alg];
  if (!alg) deny(`the identity token's algorithm ${c.alg} is not allowed`);
  const opts = alg.pss
    ? { key: c.key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }
    : { key: c.key, dsaEncoding: 'ieee-p1363' as const }; // RFC 7518 §3.4: ECDSA signatures are R || S
  return [alg.hash, Buffer.from(c.input, 'ascii'), opts];
}

/** Checks a token's signature on this thread (for a worker thread, which is off the event loop already). */
export function verifyJwsSignatureSync(c: JwsSignatureCheck): boolean {
  const [hash, input, opts] = verifyArgs(c);
  try {
    return cryptoVerify(hash, input, opts, c.signature);
  } catch {
    return false;
  }
}

/** Checks a token's signature on the libuv thread pool (for callers on the event loop). */
export function verifyJwsSignature(c: JwsSignatureCheck): Promise<boolean> {
  const [hash, input, opts] = verifyArgs(c);
  return new Promise((resolve) => {
    try {
      cryptoVerify(hash, input, opts, c.signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false); // arguments OpenSSL refuses up front (as verifyJwsSignatureSync treats them)
    }
  });
}
