import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import type { CoreErrorCode } from '../errors.js';
import { bytesEqual, concatBytes } from '../encoding/bytes.js';
import { fromBase64, toBase64, toBase64Url } from '../encoding/base64.js';
import type { TrustedKey } from '../verify/types.js';
import { blake2b } from './blake2b.js';

/**
 * minisign and signify key files (minisign: src/minisign.h; signify: signify.c), both
 *   "untrusted comment: <text>\n" ‖ base64(binary) "\n"
 * public key  = "Ed" ‖ keynum[8] ‖ Ed25519 pk[32]
 * minisign sk = "Ed" ‖ kdf_alg[2] ‖ "B2" ‖ salt[32] ‖ opslimit u64le ‖ memlimit u64le ‖ keynum[8] ‖ sk[64] ‖ chk[32]
 *               (keynum ‖ sk ‖ chk XORed with scrypt output when kdf_alg = "Sc"; chk = BLAKE2b-256("Ed" ‖ keynum ‖ sk))
 * signify sk  = "Ed" ‖ "BK" ‖ rounds u32be ‖ salt[16] ‖ checksum[8] ‖ keynum[8] ‖ sk[64]
 *               (checksum = SHA-512(sk)[0..8]; rounds > 0 means bcrypt_pbkdf encryption)
 * with sk = Ed25519 seed[32] ‖ pk[32].
 */

export const COMMENT_PREFIX = 'untrusted comment: ';
export const PK_ALG = 'Ed';
const PUBLIC_KEY_BYTES = 2 + 8 + 32;
const MINISIGN_SK_BYTES = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32;
const SIGNIFY_SK_BYTES = 2 + 2 + 4 + 16 + 8 + 8 + 64;
/** Refuse scrypt parameters needing more memory than this (minisign's own default is 1 GiB). */
const MAX_SCRYPT_BYTES = 2 ** 31;

export interface MinisignPublicKey {
  keyId: Uint8Array;
  publicKey: KeyObject;
  untrustedComment?: string;
}

/** A minisign or signify secret key, decrypted. */
export interface MinisignSecretKey {
  keyId: Uint8Array;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface GeneratedKeyPair {
  publicKeyText: string;
  secretKeyText: string;
  /** minisignKeyIdHex of the key id. */
  keyId: string;
}

/** The key id as minisign prints it: the 8 bytes read as a little-endian uint64, uppercase hex ("%" PRIX64). */
export function minisignKeyIdHex(keyId: Uint8Array): string {
  if (keyId.length !== 8) throw new SignetError('INVALID_ARGUMENT', 'a minisign key id is 8 bytes');
  const hex = Buffer.from(keyId).reverse().toString('hex').toUpperCase();
  return hex.replace(/^0+(?=.)/, '');
}

/** Splits a key or signature file into lines, dropping a trailing CR on each and trailing empty lines. */
export function fileLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

function decodeB64(line: string, len: number, code: CoreErrorCode, what: string): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromBase64(line.trim(), what);
  } catch {
    throw new SignetError(code, `${what} is not valid base64`);
  }
  if (b.length !== len) throw new SignetError(code, `${what} is ${b.length} bytes, expected ${len}`);
  return b;
}

/** Reads a "comment line + base64 line" file, or (when allowBare) a bare base64 line. */
function readCommentedFile(
  text: string,
  len: number,
  code: CoreErrorCode,
  what: string,
  allowBare: boolean,
): { comment?: string; data: Uint8Array } {
  const lines = fileLines(text).filter((l, i) => i > 0 || l.trim() !== '');
  const first = lines[0];
  if (first === undefined) throw new SignetError(code, `${what}: empty input`);
  if (first.startsWith(COMMENT_PREFIX) || first.startsWith('untrusted comment:')) {
    if (lines.length !== 2) throw new SignetError(code, `${what}: expected a comment line and one base64 line`);
    return { comment: first.slice(first.indexOf(':') + 1).replace(/^ /, ''), data: decodeB64(lines[1]!, len, code, what) };
  }
  if (!allowBare || lines.length !== 1) throw new SignetError(code, `${what}: missing "untrusted comment:" line`);
  return { data: decodeB64(first, len, code, what) };
}

export function ed25519PublicKey(raw: Uint8Array, code: CoreErrorCode = 'KEY_PARSE_FAILED'): KeyObject {
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(raw) }, format: 'jwk' });
  } catch (e) {
    throw new SignetError(code, 'invalid Ed25519 public key', { cause: e });
  }
}

export function ed25519Raw(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new SignetError('INVALID_ARGUMENT', 'minisign and signify keys are Ed25519 keys');
  return new Uint8Array(Buffer.from(pub.export({ format: 'jwk' }).x ?? '', 'base64url'));
}

/** Builds the private key from sk = seed ‖ pk and checks that pk really belongs to the seed. */
function ed25519FromSecret(sk: Uint8Array, what: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const seed = sk.subarray(0, 32);
  const pk = sk.subarray(32, 64);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: toBase64Url(seed), x: toBase64Url(pk) }, format: 'jwk' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', `${what}: invalid Ed25519 secret key`, { cause: e });
  }
  const publicKey = createPublicKey(privateKey);
  if (!bytesEqual(ed25519Raw(publicKey), pk)) {
    throw new SignetError('KEY_PARSE_FAILED', `${what}: the public half does not match the secret key (corrupt key)`);
  }
  return { privateKey, publicKey };
}

/** Parses a minisign or signify public key: a .pub file (comment + base64 line) or the bare base64 line (minisign -P). */
export function parseMinisignPublicKey(text: string): MinisignPublicKey {
  const what = 'minisign/signify public key';
  const { comment, data } = readCommentedFile(text, PUBLIC_KEY_BYTES, 'KEY_PARSE_FAILED', what, true);
  if (data[0] !== 0x45 || data[1] !== 0x64) throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: algorithm is not "Ed" (Ed25519)`);
  const out: MinisignPublicKey = { keyId: data.slice(2, 10), publicKey: ed25519PublicKey(data.subarray(10)) };
  if (comment !== undefined) out.untrustedComment = comment;
  return out;
}

/** A minisign/signify public key as trust material. */
export function parseMinisignTrust(text: string, name?: string): TrustedKey {
  const k = parseMinisignPublicKey(text);
  const entry: TrustedKey = { kind: 'minisign', keyId: k.keyId, publicKey: k.publicKey };
  if (name !== undefined) entry.name = name;
  return entry;
}

function publicKeyLine(keyId: Uint8Array, pk: Uint8Array): string {
  return toBase64(concatBytes(new Uint8Array([0x45, 0x64]), keyId, pk));
}

function checkComment(comment: string): string {
  if (/[\r\n]/.test(comment)) throw new SignetError('INVALID_ARGUMENT', 'a comment must be a single line');
  if (comment.length > 1000) throw new SignetError('INVALID_ARGUMENT', 'a comment must be at most 1000 characters');
  return comment;
}

function newEd25519(): { keyId: Uint8Array; seed: Uint8Array; pk: Uint8Array } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    keyId: new Uint8Array(randomBytes(8)),
    seed: new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url')),
    pk: new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')),
  };
}

/** minisign's secret key checksum: BLAKE2b-256("Ed" ‖ keynum ‖ sk). */
function minisignChecksum(keyId: Uint8Array, sk: Uint8Array): Uint8Array {
  return blake2b(concatBytes(new Uint8Array([0x45, 0x64]), keyId, sk), 32);
}

/** A new minisign key pair; the secret key is unencrypted, as `minisign -G -W` writes it. */
export function generateMinisignKeyPair(opts: { comment?: string } = {}): GeneratedKeyPair {
  const { keyId, seed, pk } = newEd25519();
  const sk = concatBytes(seed, pk);
  const secret = concatBytes(
    new Uint8Array([0x45, 0x64, 0, 0, 0x42, 0x32]), // "Ed", kdf none, "B2"
    new Uint8Array(32 + 8 + 8), // salt, opslimit, memlimit: unused without a KDF
    keyId,
    sk,
    minisignChecksum(keyId, sk),
  );
  const id = minisignKeyIdHex(keyId);
  const comment = checkComment(opts.comment ?? `minisign public key ${id}`);
  return {
    publicKeyText: `${COMMENT_PREFIX}${comment}\n${publicKeyLine(keyId, pk)}\n`,
    secretKeyText: `${COMMENT_PREFIX}minisign unencrypted secret key\n${toBase64(secret)}\n`,
    keyId: id,
  };
}

/** A new signify key pair, as `signify -G -n` writes it (kdfrounds 0: no passphrase). */
export function generateSignifyKeyPair(opts: { comment?: string } = {}): GeneratedKeyPair {
  const { keyId, seed, pk } = newEd25519();
  const sk = concatBytes(seed, pk);
  const rounds = new Uint8Array(4); // big-endian 0
  const checksum = new Uint8Array(createHash('sha512').update(sk).digest()).subarray(0, 8);
  const secret = concatBytes(new Uint8Array([0x45, 0x64, 0x42, 0x4b]), rounds, new Uint8Array(randomBytes(16)), checksum, keyId, sk);
  const comment = checkComment(opts.comment ?? 'signify public key');
  return {
    publicKeyText: `${COMMENT_PREFIX}${comment}\n${publicKeyLine(keyId, pk)}\n`,
    secretKeyText: `${COMMENT_PREFIX}signify secret key\n${toBase64(secret)}\n`,
    keyId: minisignKeyIdHex(keyId),
  };
}

/**
 * libsodium's crypto_pwhash_scryptsalsa208sha256 turns (opslimit, memlimit) into scrypt (N, r, p)
 * this way (pickparams in pwhash_scryptsalsa208sha256.c): r = 8; if opslimit < memlimit / 32 then
 * p = 1 and N is bounded by opslimit / (4r), else N is bounded by memlimit / (128r) and p by the
 * remaining opslimit. N is the smallest power of two greater than half that bound.
 */
export function scryptParams(opslimit: bigint, memlimit: bigint): { N: number; r: number; p: number } {
  const ops = opslimit < 32768n ? 32768n : opslimit;
  const r = 8n;
  const log2 = (maxN: bigint): bigint => {
    let n = 1n;
    while (n < 63n && (1n << n) <= maxN / 2n) n++;
    return n;
  };
  let nLog2: bigint;
  let p: bigint;
  if (ops < memlimit / 32n) {
    p = 1n;
    nLog2 = log2(ops / (r * 4n));
  } else {
    nLog2 = log2(memlimit / (r * 128n));
    let maxrp = ops / 4n / (1n << nLog2);
    if (maxrp > 0x3fffffffn) maxrp = 0x3fffffffn;
    p = maxrp / r;
  }
  return { N: Number(1n << nLog2), r: Number(r), p: Number(p) };
}

function scryptAsync(password: string, salt: Uint8Array, len: number, N: number, r: number, p: number): Promise<Uint8Array> {
  const need = 128 * N * r + 128 * r * p;
  if (p < 1 || N < 2 || need > MAX_SCRYPT_BYTES) {
    throw new SignetError('KEY_PARSE_FAILED', `minisign secret key: scrypt parameters N=${N} r=${r} p=${p} are out of range`);
  }
  return new Promise((resolve, reject) => {
    scrypt(password, salt, len, { N, r, p, maxmem: need + 16 * 1024 * 1024 }, (err, key) =>
      err ? reject(new SignetError('DECRYPTION_FAILED', 'scrypt key derivation failed', { cause: err })) : resolve(new Uint8Array(key)),
    );
  });
}

/**
 * Reads a minisign secret key. Unencrypted keys (`minisign -G -W`) need no password; scrypt-encrypted keys
 * are decrypted with `password` (libsodium crypto_pwhash_scryptsalsa208sha256 parameters, as minisign uses).
 */
export async function parseMinisignSecretKey(text: string, password?: string): Promise<MinisignSecretKey> {
  const what = 'minisign secret key';
  const { data } = readCommentedFile(text, MINISIGN_SK_BYTES, 'KEY_PARSE_FAILED', what, false);
  const tag = (o: number): string => Buffer.from(data.subarray(o, o + 2)).toString('latin1');
  if (tag(0) !== PK_ALG) throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: algorithm is not "Ed" (Ed25519)`);
  if (tag(4) !== 'B2') throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unknown checksum algorithm`);
  const kdf = tag(2);
  const keynumSk = data.slice(54, MINISIGN_SK_BYTES); // keynum ‖ sk ‖ chk
  if (kdf === 'Sc') {
    if (password === undefined) {
      throw new SignetError(
        'KEY_ENCRYPTED',
        `${what} is password-protected: give the password, or remove it with \`minisign -C -W\``,
      );
    }
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const { N, r, p } = scryptParams(dv.getBigUint64(38, true), dv.getBigUint64(46, true));
    const stream = await scryptAsync(password, data.subarray(6, 38), keynumSk.length, N, r, p);
    for (let i = 0; i < keynumSk.length; i++) keynumSk[i] = keynumSk[i]! ^ stream[i]!;
  } else if (kdf !== '\0\0') {
    throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unknown key derivation function`);
  }
  const keyId = keynumSk.slice(0, 8);
  const sk = keynumSk.subarray(8, 72);
  const chk = keynumSk.subarray(72, 104);
  // minisign 0.11 writes an all-zero checksum for -W keys; any other value must match.
  const zeroChk = kdf !== 'Sc' && chk.every((b) => b === 0);
  if (!zeroChk && !bytesEqual(chk, minisignChecksum(keyId, sk))) {
    if (kdf === 'Sc') throw new SignetError('DECRYPTION_FAILED', `${what}: wrong password`);
    throw new SignetError('KEY_PARSE_FAILED', `${what}: checksum mismatch (corrupt key)`);
  }
  return { keyId, ...ed25519FromSecret(sk, what) };
}

/** Reads an unencrypted signify secret key (`signify -G -n`). */
export function parseSignifySecretKey(text: string): MinisignSecretKey {
  const what = 'signify secret key';
  const { data } = readCommentedFile(text, SIGNIFY_SK_BYTES, 'KEY_PARSE_FAILED', what, false);
  const tag = (o: number): string => Buffer.from(data.subarray(o, o + 2)).toString('latin1');
  if (tag(0) !== PK_ALG) throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: algorithm is not "Ed" (Ed25519)`);
  if (tag(2) !== 'BK') throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unknown key derivation function`);
  const rounds = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4, false);
  if (rounds !== 0) {
    throw new SignetError(
      'KEY_ENCRYPTED',
      `${what} is passphrase-protected (bcrypt_pbkdf, ${rounds} rounds), which is not supported: create the key with \`signify -G -n\``,
    );
  }
  const checksum = data.subarray(24, 32);
  const keyId = data.slice(32, 40);
  const sk = data.subarray(40, 104);
  const expected = new Uint8Array(createHash('sha512').update(sk).digest()).subarray(0, 8);
  if (!bytesEqual(checksum, expected)) throw new SignetError('KEY_PARSE_FAILED', `${what}: checksum mismatch (corrupt key)`);
  return { keyId, ...ed25519FromSecret(sk, what) };
}
