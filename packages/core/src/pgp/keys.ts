import { readKeys, type AlgorithmInfo, type Key, type Subkey } from 'openpgp';
import { SignetError } from '../errors.js';
import { fromUtf8, looksLikeText } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { sha256 } from '../verify/artifact.js';
import { detectPgp } from './detect.js';

export interface PgpSubkeyInfo {
  /** 40 uppercase hex digits (v4 fingerprint, RFC 4880 §12.2). */
  fingerprint: string;
  /** 16 uppercase hex digits: the low 64 bits of the fingerprint. */
  keyId: string;
  algorithm: string;
  created: Date;
  /** null when the subkey does not expire (or has no valid binding signature). */
  expires: Date | null;
}

export interface PgpKeyInfo extends PgpSubkeyInfo {
  userIds: string[];
  revoked: boolean;
  isPrivate: boolean;
  subkeys: PgpSubkeyInfo[];
}

/** Errors from openpgp are plain Errors; this keeps their message for our own. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function fingerprintOf(k: Key | Subkey): string {
  return k.getFingerprint().toUpperCase();
}

export function keyIdOf(k: Key | Subkey): string {
  return k.getKeyID().toHex().toUpperCase();
}

const CURVE_NAMES: Record<string, string> = {
  ed25519Legacy: 'ed25519',
  curve25519Legacy: 'cv25519',
  nistP256: 'p256',
  nistP384: 'p384',
  nistP521: 'p521',
};

/** A short human name for a key algorithm: 'ed25519', 'rsa4096', 'dsa', 'ecdsa-p256', 'cv25519', ... */
export function algorithmName(info: AlgorithmInfo): string {
  const curve = info.curve ? (CURVE_NAMES[info.curve] ?? info.curve) : undefined;
  switch (info.algorithm) {
    case 'rsaEncryptSign':
    case 'rsaEncrypt':
    case 'rsaSign':
      return `rsa${info.bits ?? ''}`;
    case 'eddsaLegacy':
      // RFC 4880bis legacy EdDSA (algorithm 22), which gpg 2.2 makes for Ed25519 keys.
      return curve ?? 'eddsa';
    case 'ecdh':
      return curve === 'cv25519' ? curve : `ecdh-${curve ?? 'unknown'}`;
    case 'ecdsa':
      return `ecdsa-${curve ?? 'unknown'}`;
    default:
      return info.algorithm;
  }
}

const KEY_BLOCK = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/**
 * Parses one key or a keyring: armored (one or several key blocks, RFC 4880 §6.2) or binary
 * (a sequence of transferable keys, RFC 4880 §11.1, e.g. `gpg --export` or a Debian keyring).
 * Throws KEY_PARSE_FAILED when nothing usable can be read.
 */
export async function parseKeys(data: Uint8Array | string, what = 'OpenPGP key data'): Promise<Key[]> {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new SignetError('INVALID_ARGUMENT', `${what} must be a string or a Uint8Array`);
  }
  try {
    let text: string | undefined;
    if (typeof data === 'string') {
      text = data;
    } else {
      const kind = detectPgp(data);
      if (kind !== 'binary-key' && (kind === 'armored-key' || looksLikeText(data))) text = fromUtf8(data);
    }
    if (text === undefined) return await readKeys({ binaryKeys: data as Uint8Array });
    const blocks = text.match(KEY_BLOCK);
    if (!blocks) throw new SignetError('KEY_PARSE_FAILED', `${what} holds no armored OpenPGP key block`);
    const keys: Key[] = [];
    for (const block of blocks) keys.push(...(await readKeys({ armoredKeys: block })));
    return keys;
  } catch (e) {
    if (e instanceof SignetError) throw e;
    throw new SignetError('KEY_PARSE_FAILED', `${what} could not be parsed: ${errorMessage(e)}`, { cause: e });
  }
}

async function expiryOf(k: Key | Subkey): Promise<Date | null> {
  const t = await k.getExpirationTime();
  return t instanceof Date ? t : null;
}

async function keyInfo(key: Key): Promise<PgpKeyInfo> {
  const subkeys: PgpSubkeyInfo[] = [];
  for (const sub of key.subkeys) {
    subkeys.push({
      fingerprint: fingerprintOf(sub),
      keyId: keyIdOf(sub),
      algorithm: algorithmName(sub.getAlgorithmInfo()),
      created: sub.getCreationTime(),
      expires: await expiryOf(sub),
    });
  }
  return {
    fingerprint: fingerprintOf(key),
    keyId: keyIdOf(key),
    userIds: key.getUserIDs(),
    algorithm: algorithmName(key.getAlgorithmInfo()),
    created: key.getCreationTime(),
    expires: await expiryOf(key),
    // Any valid revocation signature on the primary key (RFC 4880 §5.2.1, type 0x20).
    revoked: await key.isRevoked(undefined, undefined, new Date()),
    isPrivate: key.isPrivate(),
    subkeys,
  };
}

/** Reads one key or a keyring, armored or binary, and describes each key. */
export async function readPgpKeys(data: Uint8Array | string): Promise<PgpKeyInfo[]> {
  const keys = await parseKeys(data);
  const out: PgpKeyInfo[] = [];
  for (const k of keys) out.push(await keyInfo(k));
  return out;
}

/** The fingerprint (40 uppercase hex) of the first key in `data`. */
export async function pgpFingerprintOf(data: Uint8Array | string): Promise<string> {
  const [first] = await parseKeys(data);
  if (!first) throw new SignetError('KEY_PARSE_FAILED', 'no OpenPGP key found');
  return fingerprintOf(first);
}

/**
 * Parsed trusted keys, cached by SHA-256 of the key data so that verifying many signatures with
 * the same trust material parses each key once. Bounded; the least recently used entry goes first.
 * Only public parts are kept, even when a private key was handed in as trust material.
 */
const TRUST_CACHE_MAX = 256;
const trustCache = new Map<string, Promise<Key[]>>();

export function trustedKeysOf(data: Uint8Array): Promise<Key[]> {
  const id = toHex(sha256(data));
  const hit = trustCache.get(id);
  if (hit) {
    trustCache.delete(id);
    trustCache.set(id, hit);
    return hit;
  }
  const parsed = parseKeys(data, 'trusted OpenPGP key').then((keys) => keys.map((k) => (k.isPrivate() ? k.toPublic() : k)));
  trustCache.set(id, parsed);
  // A failed parse is not cached: the caller sees the error, the next call tries again.
  parsed.catch(() => {
    if (trustCache.get(id) === parsed) trustCache.delete(id);
  });
  while (trustCache.size > TRUST_CACHE_MAX) {
    const oldest = trustCache.keys().next();
    if (oldest.done) break;
    trustCache.delete(oldest.value);
  }
  return parsed;
}
