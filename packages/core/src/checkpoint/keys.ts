/**
 * Note signers and verifiers.
 * - ECDSA P-256 as Rekor v1 (and sigstore) signs checkpoints: key hint = SHA-256(SPKI DER)[0:4], which is
 *   also the log ID prefix; signature = ASN.1 DER ECDSA over SHA-256 of the note text (signed-note type 0x02
 *   uses the same key ID derivation).
 * - Ed25519 per signed-note §Ed25519: key ID = SHA-256(name || 0x0A || 0x01 || 32-byte key)[0:4],
 *   signature = Ed25519 (RFC 8032) over the note text; verifier keys as "<name>+<hex key ID>+<base64(0x01 || key)>".
 */
import { createHash, createPublicKey, sign as nodeSign, verify as verifyCb, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { concatBytes, utf8 } from '../encoding/bytes.js';
import { toBase64, toBase64Url } from '../encoding/base64.js';
import { spkiDer, publicKeyFromDer, publicKeyFromPem } from '../keys/pkix.js';
import { KEY_HINT_SIZE, decodeStdBase64, isValidKeyName, type NoteSigner, type NoteVerifier } from './note.js';

/** signed-note signature type bytes. */
export const NOTE_SIG_ED25519 = 0x01;
export const NOTE_SIG_ECDSA = 0x02;

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) throw new SignetError('INVALID_ARGUMENT', `invalid note key name "${String(name)}": it must be non-empty, with no spaces or "+"`);
}

/** Accepts a KeyObject, SPKI DER bytes or a PEM public key / certificate. */
function toPublicKey(key: KeyObject | Uint8Array | string): KeyObject {
  if (typeof key === 'string') return publicKeyFromPem(key);
  if (key instanceof Uint8Array) return publicKeyFromDer(key);
  if (key.type === 'private') return createPublicKey(key);
  return key;
}

function signAsync(alg: string | null, data: Uint8Array, key: KeyObject | { key: KeyObject; dsaEncoding: 'der' }): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    nodeSign(alg, data, key, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig))));
  });
}

function verifyAsync(alg: string | null, data: Uint8Array, key: KeyObject | { key: KeyObject; dsaEncoding: 'der' }, sig: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verifyCb(alg, data, key, sig, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

function requireP256(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SignetError('UNSUPPORTED_ALGORITHM', 'ECDSA note keys must be P-256 (as Rekor checkpoints use)');
  }
}

/** The full key ID of an ECDSA log key: SHA-256 of its SPKI DER (Rekor's log ID); the hint is its first 4 bytes. */
export function ecdsaKeyId(publicKey: KeyObject | Uint8Array | string): Uint8Array {
  return sha256(spkiDer(toPublicKey(publicKey)));
}

/**
 * A note signer with an ECDSA P-256 private key (Rekor v1 checkpoint style). It signs on the libuv thread pool;
 * with `sync` it signs on the calling thread (about 30 µs), for a caller that signs once per batch and would
 * otherwise wait a whole event-loop turn for the thread pool's answer.
 */
export function ecdsaNoteSigner(name: string, privateKey: KeyObject, opts: { sync?: boolean } = {}): NoteSigner {
  checkName(name);
  if (privateKey.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'ecdsaNoteSigner needs a private key');
  requireP256(privateKey);
  const keyHint = ecdsaKeyId(privateKey).slice(0, KEY_HINT_SIZE);
  const key = { key: privateKey, dsaEncoding: 'der' as const };
  return {
    name,
    keyHint,
    sign: opts.sync ? (text) => Promise.resolve(new Uint8Array(nodeSign('sha256', text, key))) : (text) => signAsync('sha256', text, key),
  };
}

/** A note verifier for an ECDSA P-256 public key (KeyObject, SPKI DER or PEM). */
export function ecdsaNoteVerifier(name: string, publicKey: KeyObject | Uint8Array | string): NoteVerifier {
  checkName(name);
  const key = toPublicKey(publicKey);
  requireP256(key);
  const keyHint = ecdsaKeyId(key).slice(0, KEY_HINT_SIZE);
  return { name, keyHint, verify: (text, sig) => verifyAsync('sha256', text, { key, dsaEncoding: 'der' }, sig) };
}

/** The raw 32-byte Ed25519 public key of a KeyObject. */
function ed25519Raw(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') throw new SignetError('UNSUPPORTED_ALGORITHM', 'expected an Ed25519 key');
  const der = spkiDer(key);
  return der.slice(der.length - 32); // SPKI for Ed25519 is a fixed 12-byte header + the key (RFC 8410 §4)
}

function ed25519FromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new SignetError('KEY_PARSE_FAILED', 'an Ed25519 public key is 32 bytes');
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(raw) }, format: 'jwk' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'not a usable Ed25519 public key', { cause: e });
  }
}

/** Accepts a KeyObject, a raw 32-byte key, SPKI DER or PEM. */
function toEd25519(key: KeyObject | Uint8Array | string): KeyObject {
  const k = key instanceof Uint8Array && key.length === 32 ? ed25519FromRaw(key) : toPublicKey(key);
  ed25519Raw(k);
  return k;
}

/**
 * The full C2SP key ID of an Ed25519 note key: SHA-256(name || 0x0A || 0x01 || key). Rekor v2 uses it as
 * the log ID; the note key hint is its first 4 bytes.
 */
export function ed25519KeyId(name: string, publicKey: KeyObject | Uint8Array | string): Uint8Array {
  checkName(name);
  return sha256(utf8(name), Uint8Array.of(0x0a, NOTE_SIG_ED25519), ed25519Raw(toEd25519(publicKey)));
}

/** A note signer with an Ed25519 private key. */
export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  checkName(name);
  if (privateKey.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'ed25519NoteSigner needs a private key');
  const keyHint = ed25519KeyId(name, privateKey).slice(0, KEY_HINT_SIZE);
  return { name, keyHint, sign: (text) => signAsync(null, text, privateKey) };
}

/** A note verifier for an Ed25519 public key (KeyObject, raw 32 bytes, SPKI DER or PEM). */
export function ed25519NoteVerifier(name: string, publicKey: KeyObject | Uint8Array | string): NoteVerifier {
  checkName(name);
  const key = toEd25519(publicKey);
  const keyHint = ed25519KeyId(name, key).slice(0, KEY_HINT_SIZE);
  return { name, keyHint, verify: async (text, sig) => sig.length === 64 && verifyAsync(null, text, key, sig) };
}

/** Formats an Ed25519 verifier key: "<name>+<8 hex key ID>+<base64(0x01 || key)>". */
export function formatVkey(name: string, publicKey: KeyObject | Uint8Array | string): string {
  const key = toEd25519(publicKey);
  const hint = Buffer.from(ed25519KeyId(name, key).slice(0, KEY_HINT_SIZE)).toString('hex');
  return `${name}+${hint}+${toBase64(concatBytes(Uint8Array.of(NOTE_SIG_ED25519), ed25519Raw(key)))}`;
}

export interface Vkey {
  name: string;
  keyHint: Uint8Array;
  publicKey: KeyObject;
  verifier: NoteVerifier;
}

/** Parses an Ed25519 verifier key, checking that its key ID matches the name and key. */
export function parseVkey(vkey: string): Vkey {
  if (typeof vkey !== 'string' || vkey.length > 1024) throw new SignetError('KEY_PARSE_FAILED', 'not a note verifier key');
  // Names cannot contain "+", but the base64 key can: split at the first two "+" only.
  const i = vkey.indexOf('+');
  const j = i < 0 ? -1 : vkey.indexOf('+', i + 1);
  if (j < 0) throw new SignetError('KEY_PARSE_FAILED', 'a verifier key is <name>+<hex key ID>+<base64 key>');
  const [name, hintHex, b64] = [vkey.slice(0, i), vkey.slice(i + 1, j), vkey.slice(j + 1)];
  if (!isValidKeyName(name)) throw new SignetError('KEY_PARSE_FAILED', 'the verifier key has an invalid name');
  if (!/^[0-9a-f]{8}$/.test(hintHex)) throw new SignetError('KEY_PARSE_FAILED', 'the verifier key ID is not 8 lowercase hex digits');
  let blob: Uint8Array;
  try {
    blob = decodeStdBase64(b64, 'the verifier key');
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'the verifier key is not valid base64', { cause: e });
  }
  if (blob.length === 0) throw new SignetError('KEY_PARSE_FAILED', 'the verifier key is empty');
  if (blob[0] !== NOTE_SIG_ED25519) throw new SignetError('UNSUPPORTED_ALGORITHM', `verifier key type 0x${blob[0]!.toString(16).padStart(2, '0')} is not supported (only Ed25519, 0x01)`);
  const publicKey = ed25519FromRaw(blob.slice(1));
  const keyHint = ed25519KeyId(name, publicKey).slice(0, KEY_HINT_SIZE);
  if (Buffer.from(keyHint).toString('hex') !== hintHex) throw new SignetError('KEY_PARSE_FAILED', 'the verifier key ID does not match its name and key');
  return { name, keyHint, publicKey, verifier: ed25519NoteVerifier(name, publicKey) };
}
