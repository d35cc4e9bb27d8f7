import { verify, type KeyObject } from 'node:crypto';
import { fromBase64, isSignetError, parsePemBlocks } from '@signet/core';
import { CaError } from './errors.js';
import { readClientKey, type ClientKey } from './spki.js';

/**
 * Client keys the CA certifies (Fulcio's allowed set): ECDSA P-256/P-384/P-521, RSA 2048–4096 bits, Ed25519.
 */
const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const CURVE_HASH: Record<string, 'sha256' | 'sha384' | 'sha512'> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };
const ALLOWED = 'allowed: ECDSA P-256, P-384 or P-521, RSA 2048 to 4096 bits, Ed25519';

const MAX_KEY_TEXT = 16_384;

function invalid(msg: string): never {
  throw new CaError('CERT_REQUEST_INVALID', msg);
}

/** Throws KEY_NOT_ALLOWED naming the problem unless `key` is in the allowed set. */
export function checkAllowedKey(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    const c = String(d.namedCurve ?? 'unknown');
    if (!CURVES[c]) throw new CaError('KEY_NOT_ALLOWED', `ECDSA keys on curve ${c} are not allowed (${ALLOWED})`);
    return;
  }
  if (type === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits < 2048 || bits > 4096) throw new CaError('KEY_NOT_ALLOWED', `an RSA key of ${bits} bits is not allowed: RSA keys must be 2048 to 4096 bits`);
    return;
  }
  if (type === 'ed25519') return;
  throw new CaError('KEY_NOT_ALLOWED', `${String(type)} keys are not allowed (${ALLOWED})`);
}

/**
 * Reads `publicKeyRequest.publicKey.content`: a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or the base64 of its DER,
 * as Fulcio accepts. The key must be in the allowed set.
 */
export function parseSubmittedKey(content: string): ClientKey {
  if (typeof content !== 'string' || content.trim() === '') invalid('publicKeyRequest.publicKey.content is empty: it must be a PEM or base64 DER public key');
  if (content.length > MAX_KEY_TEXT) invalid('publicKeyRequest.publicKey.content is too large');
  let der: Uint8Array;
  try {
    if (content.includes('-----BEGIN')) {
      const blocks = parsePemBlocks(content);
      if (blocks.length !== 1) invalid(`publicKeyRequest.publicKey.content must hold exactly one PEM block (found ${blocks.length})`);
      const b = blocks[0]!;
      if (b.label !== 'PUBLIC KEY') invalid(`publicKeyRequest.publicKey.content is a PEM "${b.label}"; a "PUBLIC KEY" (SubjectPublicKeyInfo) is expected`);
      der = b.der;
    } else {
      der = fromBase64(content.trim(), 'publicKeyRequest.publicKey.content');
    }
  } catch (e) {
    if (e instanceof CaError) throw e;
    invalid(`publicKeyRequest.publicKey.content is neither PEM nor base64 DER: ${isSignetError(e) ? e.message : 'unreadable'}`);
  }
  const client = readClientKey(der, 'publicKeyRequest.publicKey.content');
  checkAllowedKey(client.key);
  return client;
}

/**
 * Verifies a signature on the calling thread (these checks run in the issuance workers, off the event loop); any
 * error (malformed signature, key mismatch) is false.
 */
export function verifySignature(hash: string | null, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/**
 * The hashes tried for an ECDSA proof of possession: the curve's own hash, then SHA-256 (Fulcio checks every
 * ECDSA proof with SHA-256, so clients signing P-384/P-521 proofs with SHA-256 must pass too).
 */
function popHashes(key: KeyObject): Array<string | null> {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return [null];
    case 'ec': {
      const h = CURVE_HASH[String(key.asymmetricKeyDetails?.namedCurve)] ?? 'sha256';
      return h === 'sha256' ? ['sha256'] : [h, 'sha256'];
    }
    default:
      return ['sha256']; // RSA PKCS#1 v1.5 with SHA-256
  }
}

/**
 * Checks the proof of possession: `signature` (base64) is the submitted key's signature over the principal
 * (the email for email issuers, else `sub`). Throws PROOF_OF_POSSESSION_FAILED naming what is wrong.
 */
export function verifyProofOfPossession(key: KeyObject, principal: string, principalClaim: string, signatureB64: string): void {
  let sig: Uint8Array;
  try {
    sig = fromBase64(signatureB64, 'proofOfPossession');
  } catch {
    throw new CaError('PROOF_OF_POSSESSION_FAILED', 'the proof of possession (publicKeyRequest.proofOfPossession) is not valid base64');
  }
  if (sig.length === 0) throw new CaError('PROOF_OF_POSSESSION_FAILED', 'the proof of possession (publicKeyRequest.proofOfPossession) is empty');
  const data = Buffer.from(principal, 'utf8');
  for (const h of popHashes(key)) {
    if (verifySignature(h, data, key, sig)) return;
  }
  throw new CaError(
    'PROOF_OF_POSSESSION_FAILED',
    `the proof of possession does not verify: it must be the submitted key's signature over "${principal}" (the token's "${principalClaim}" claim)`,
  );
}
