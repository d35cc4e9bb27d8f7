/**
 * cosign's encrypted private key file (oci-and-cosign.md §1.5; go-securesystemslib `encrypted`):
 *
 *   -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----   (older files: ENCRYPTED COSIGN PRIVATE KEY)
 *   base64 of {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64 32B>"},
 *              "cipher":{"name":"nacl/secretbox","nonce":"<b64 24B>"},"ciphertext":"<b64>"}
 *
 * The plaintext is a PKCS#8 DER private key; the secretbox key is scrypt(password, salt, N, r, p, 32).
 * scrypt runs through the async node:crypto API (libuv thread pool), off the event loop.
 */
import { createPrivateKey, randomBytes, scrypt } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { parsePemBlocks, toPem } from '../encoding/pem.js';
import { secretboxOpen, secretboxSeal, SECRETBOX_NONCE_BYTES, SECRETBOX_TAG_BYTES } from './secretbox.js';

/** The PEM label cosign ≥ 2 writes. */
export const COSIGN_KEY_PEM_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
/** The label older cosign releases wrote; still accepted when reading. */
export const LEGACY_COSIGN_KEY_PEM_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

const ACCEPTED_LABELS: readonly string[] = [COSIGN_KEY_PEM_LABEL, LEGACY_COSIGN_KEY_PEM_LABEL];
/** scrypt cost parameters go-securesystemslib `encrypted` Decrypt accepts (§1.5): N ∈ {2^15, 2^16, 2^17}, r=8, p=1. */
const ACCEPTED_N: readonly number[] = [32768, 65536, 131072];
const WRITE_N = 65536; // cosign ≥ 2.2 (securesystemslib ≥ 0.7)
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 32;
const KEY_BYTES = 32;
/** scrypt needs 128·N·r bytes (128 MiB at N=2^17); Node's default maxmem of 32 MiB is too small. */
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
/** A key file is a few KiB (an RSA-16384 key is ~13 KiB of PEM); refuse to parse anything far larger. */
const MAX_PEM_CHARS = 256 * 1024;
const DECRYPTION_FAILED_MESSAGE = 'wrong password, or the key file is corrupted';

function deriveKey(password: string, salt: Uint8Array, N: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(utf8(password), salt, KEY_BYTES, { N, r: SCRYPT_R, p: SCRYPT_P, maxmem: SCRYPT_MAXMEM }, (err, key) => {
      if (err) reject(err);
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}

function isPkcs8(der: Uint8Array): boolean {
  try {
    createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Encrypts a PKCS#8 DER private key as cosign does: scrypt N=65536 r=8 p=1 with a fresh 32-byte salt,
 * nacl/secretbox with a fresh 24-byte nonce, PEM label ENCRYPTED SIGSTORE PRIVATE KEY at 64 columns.
 * An empty password is allowed (cosign allows it).
 */
export async function encryptCosignKey(pkcs8Der: Uint8Array, password: string): Promise<string> {
  if (!(pkcs8Der instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'the private key must be PKCS#8 DER bytes');
  if (typeof password !== 'string') throw new SignetError('INVALID_ARGUMENT', 'the password must be a string');
  if (!isPkcs8(pkcs8Der)) throw new SignetError('KEY_PARSE_FAILED', 'the private key is not a PKCS#8 DER private key');
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const nonce = new Uint8Array(randomBytes(SECRETBOX_NONCE_BYTES));
  const key = await deriveKey(password, salt, WRITE_N);
  const ciphertext = secretboxSeal(pkcs8Der, nonce, key);
  key.fill(0);
  // Key order as go-securesystemslib writes it (JSON.stringify keeps insertion order).
  const json = JSON.stringify({
    kdf: { name: 'scrypt', params: { N: WRITE_N, r: SCRYPT_R, p: SCRYPT_P }, salt: toBase64(salt) },
    cipher: { name: 'nacl/secretbox', nonce: toBase64(nonce) },
    ciphertext: toBase64(ciphertext),
  });
  return toPem(COSIGN_KEY_PEM_LABEL, utf8(json));
}

/** True when the text contains a cosign encrypted private key PEM block (either label). */
export function isCosignEncryptedKey(text: string): boolean {
  return typeof text === 'string' && /-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/.test(text);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(obj: Record<string, unknown>, name: string, where: string): unknown {
  if (!Object.hasOwn(obj, name)) throw new SignetError('MALFORMED_INPUT', `cosign key file: ${where} has no "${name}"`);
  return obj[name];
}

function objectField(obj: Record<string, unknown>, name: string, where: string): Record<string, unknown> {
  const v = field(obj, name, where);
  if (!isObject(v)) throw new SignetError('MALFORMED_INPUT', `cosign key file: ${where}.${name} is not an object`);
  return v;
}

function stringField(obj: Record<string, unknown>, name: string, where: string): string {
  const v = field(obj, name, where);
  if (typeof v !== 'string') throw new SignetError('MALFORMED_INPUT', `cosign key file: ${where}.${name} is not a string`);
  return v;
}

function intField(obj: Record<string, unknown>, name: string, where: string): number {
  const v = field(obj, name, where);
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new SignetError('MALFORMED_INPUT', `cosign key file: ${where}.${name} is not an integer`);
  }
  return v;
}

function bytesField(obj: Record<string, unknown>, name: string, where: string, size?: number): Uint8Array {
  const b = fromBase64(stringField(obj, name, where), `cosign key file: ${where}.${name}`);
  if (size !== undefined && b.length !== size) {
    throw new SignetError('MALFORMED_INPUT', `cosign key file: ${where}.${name} must be ${size} bytes, got ${b.length}`);
  }
  return b;
}

interface CosignKeyFile {
  N: number;
  salt: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

/** Parses and checks the PEM and JSON; throws before any scrypt work when the file cannot be used. */
function parseKeyFile(pem: string): CosignKeyFile {
  if (pem.length > MAX_PEM_CHARS) throw new SignetError('MALFORMED_INPUT', 'cosign key file is too large');
  const blocks = parsePemBlocks(pem);
  const block = blocks.find((b) => ACCEPTED_LABELS.includes(b.label));
  if (!block) {
    const first = blocks[0];
    if (first) {
      throw new SignetError(
        'UNSUPPORTED_FORMAT',
        `PEM block "${first.label}" is not a cosign encrypted private key (expected "${COSIGN_KEY_PEM_LABEL}")`,
      );
    }
    throw new SignetError('MALFORMED_INPUT', `no "${COSIGN_KEY_PEM_LABEL}" PEM block found`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(fromUtf8(block.der));
  } catch {
    throw new SignetError('MALFORMED_INPUT', `the "${block.label}" PEM block does not contain valid JSON`);
  }
  if (!isObject(doc)) throw new SignetError('MALFORMED_INPUT', 'cosign key file: the JSON document is not an object');

  const kdf = objectField(doc, 'kdf', 'document');
  const kdfName = stringField(kdf, 'name', 'kdf');
  if (kdfName !== 'scrypt') throw new SignetError('UNSUPPORTED_ALGORITHM', `unsupported key derivation function "${kdfName}" (only scrypt)`);
  const params = objectField(kdf, 'params', 'kdf');
  const N = intField(params, 'N', 'kdf.params');
  const r = intField(params, 'r', 'kdf.params');
  const p = intField(params, 'p', 'kdf.params');
  if (!ACCEPTED_N.includes(N)) {
    throw new SignetError('UNSUPPORTED_ALGORITHM', `unsupported scrypt parameter N=${N} (accepted: ${ACCEPTED_N.join(', ')})`);
  }
  if (r !== SCRYPT_R) throw new SignetError('UNSUPPORTED_ALGORITHM', `unsupported scrypt parameter r=${r} (only r=${SCRYPT_R})`);
  if (p !== SCRYPT_P) throw new SignetError('UNSUPPORTED_ALGORITHM', `unsupported scrypt parameter p=${p} (only p=${SCRYPT_P})`);
  const salt = bytesField(kdf, 'salt', 'kdf', SALT_BYTES);

  const cipher = objectField(doc, 'cipher', 'document');
  const cipherName = stringField(cipher, 'name', 'cipher');
  if (cipherName !== 'nacl/secretbox') {
    throw new SignetError('UNSUPPORTED_ALGORITHM', `unsupported cipher "${cipherName}" (only nacl/secretbox)`);
  }
  const nonce = bytesField(cipher, 'nonce', 'cipher', SECRETBOX_NONCE_BYTES);

  const ciphertext = bytesField(doc, 'ciphertext', 'document');
  if (ciphertext.length < SECRETBOX_TAG_BYTES) {
    throw new SignetError('MALFORMED_INPUT', `cosign key file: the ciphertext is shorter than the ${SECRETBOX_TAG_BYTES}-byte authenticator`);
  }
  return { N, salt, nonce, ciphertext };
}

/**
 * Decrypts a cosign encrypted private key (labels ENCRYPTED SIGSTORE PRIVATE KEY or ENCRYPTED COSIGN
 * PRIVATE KEY) and returns the PKCS#8 DER private key.
 * Errors: MALFORMED_INPUT (PEM/JSON/base64), UNSUPPORTED_FORMAT (another PEM label), UNSUPPORTED_ALGORITHM
 * (kdf, scrypt parameters, cipher), DECRYPTION_FAILED (wrong password or corrupted file), KEY_PARSE_FAILED
 * (the plaintext is not PKCS#8).
 */
export async function decryptCosignKey(pem: string, password: string): Promise<Uint8Array> {
  if (typeof pem !== 'string') throw new SignetError('INVALID_ARGUMENT', 'the key file must be a string');
  if (typeof password !== 'string') throw new SignetError('INVALID_ARGUMENT', 'the password must be a string');
  const file = parseKeyFile(pem);
  const key = await deriveKey(password, file.salt, file.N);
  const der = secretboxOpen(file.ciphertext, file.nonce, key);
  key.fill(0);
  if (der === undefined) throw new SignetError('DECRYPTION_FAILED', DECRYPTION_FAILED_MESSAGE);
  if (!isPkcs8(der)) {
    der.fill(0);
    throw new SignetError('KEY_PARSE_FAILED', 'the decrypted key is not a PKCS#8 DER private key');
  }
  return der;
}
