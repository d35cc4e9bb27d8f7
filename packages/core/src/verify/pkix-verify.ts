import type { KeyObject } from 'node:crypto';
import { toBase64 } from '../encoding/base64.js';
import { fromHex } from '../encoding/hex.js';
import { hashForKey, verifyData } from '../keys/pkix.js';
import { verifyPrehashed } from '../keys/prehashed.js';
import type { TrustMaterial, TrustedKey, VerifyPolicy } from './types.js';
import { checkValidity, type VerdictBuilder } from './verdict.js';

export type PkixKey = Extract<TrustedKey, { kind: 'pkix' }>;

/** What a signature covers: the signed bytes, or (when only a digest is at hand) that digest. */
export type SignedData = { bytes: Uint8Array } | { digest: { algorithm: 'sha256' | 'sha384' | 'sha512'; value: Uint8Array } };

export function pkixKeys(trust: TrustMaterial): PkixKey[] {
  return trust.keys.filter((k): k is PkixKey => k.kind === 'pkix');
}

/** Ordering by hint: keys whose fingerprint (hex or base64) or name equals the hint are tried first. */
function byHint(keys: PkixKey[], hint: string | undefined): PkixKey[] {
  if (!hint) return keys;
  const matches = (k: PkixKey): boolean =>
    k.fingerprint === hint || toBase64(fromHex(k.fingerprint)) === hint || k.name === hint;
  return [...keys.filter(matches), ...keys.filter((k) => !matches(k))];
}

/**
 * `hash` is the digest the signature was made over when the container says so (a bundle's
 * messageDigest.algorithm); Ed25519 always hashes internally. Without it, the key's default hash is used.
 */
async function verifyOne(key: KeyObject, data: SignedData, sig: Uint8Array, hash?: 'sha256' | 'sha384' | 'sha512'): Promise<boolean> {
  if ('bytes' in data) {
    const h = key.asymmetricKeyType === 'ed25519' ? null : (hash ?? hashForKey(key));
    return verifyData(key, data.bytes, sig, h);
  }
  return verifyPrehashed(key, data.digest.algorithm, data.digest.value, sig);
}

/**
 * Finds the trusted PKIX key that made `sig` over `data`, adding the 'key', 'signature' and
 * 'key-validity' checks to the verdict. Returns the key, or undefined when verification failed.
 */
export async function verifyWithTrustedKeys(
  b: VerdictBuilder,
  trust: TrustMaterial,
  data: SignedData,
  sig: Uint8Array,
  policy: VerifyPolicy | undefined,
  hint?: string,
  hash?: 'sha256' | 'sha384' | 'sha512',
): Promise<PkixKey | undefined> {
  const keys = byHint(pkixKeys(trust), hint);
  if (keys.length === 0) {
    b.fail('key', 'the trust material holds no PEM public key or certificate to check this signature with');
    return undefined;
  }
  if ('digest' in data) {
    const k0 = keys[0]!.key.asymmetricKeyType;
    if (keys.every((k) => k.key.asymmetricKeyType === 'ed25519')) {
      b.fail('artifact', `an ${k0} signature can only be checked against the artifact bytes, not a digest`);
      return undefined;
    }
  }
  for (const k of keys) {
    if (await verifyOne(k.key, data, sig, hash)) {
      b.pass('key', `signed by trusted key ${k.name ? `"${k.name}" ` : ''}(sha256:${k.fingerprint})`);
      b.pass('signature', 'signature verifies');
      const v = checkValidity(k.validity, policy?.now ?? new Date());
      if (v) b.check('key-validity', v.ok, v.detail);
      b.signer({ keyId: `sha256:${k.fingerprint}`, ...(k.name ? { identity: k.name } : {}) });
      return k;
    }
  }
  b.fail(
    'signature',
    keys.length === 1
      ? `signature does not verify with the trusted key sha256:${keys[0]!.fingerprint}: the artifact was changed, or it was signed with another key`
      : `signature does not verify with any of the ${keys.length} trusted keys: the artifact was changed, or it was signed with another key`,
  );
  return undefined;
}
