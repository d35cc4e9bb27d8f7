import { createHash, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual, concatBytes, fromUtf8, utf8 } from '../encoding/bytes.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { artifactBytes, artifactDigest } from '../verify/artifact.js';
import { VerdictBuilder, checkValidity } from '../verify/verdict.js';
import type { Artifact, TrustMaterial, TrustedKey, Verdict, VerifyPolicy } from '../verify/types.js';
import { COMMENT_PREFIX, fileLines, minisignKeyIdHex } from './keys.js';
import type { MinisignSecretKey } from './keys.js';

/**
 * Signature files (minisign: src/minisign.c sig_load; signify: signify.c):
 *   minisign  "untrusted comment: …" / base64(alg[2] ‖ keynum[8] ‖ sig[64]) / "trusted comment: <text>" /
 *             base64(Ed25519(sig ‖ text)); alg "ED" signs BLAKE2b-512(file) (prehashed), "Ed" the file itself (legacy)
 *   signify   "untrusted comment: …" / base64("Ed" ‖ keynum[8] ‖ Ed25519(file))
 */

const TRUSTED_PREFIX = 'trusted comment: ';
const SIG_BYTES = 2 + 8 + 64;
const ALG_PREHASHED = 'ED';
const ALG_LEGACY = 'Ed';
/** minisign reads the trusted comment line into an 8192-byte buffer (TRUSTEDCOMMENTMAXBYTES). */
const MAX_TRUSTED_COMMENT = 8000;
const MAX_UNTRUSTED_COMMENT = 1000;
/** Only the head of a file is looked at for detection. */
const DETECT_BYTES = 16 * 1024;

type MinisignTrustedKey = Extract<TrustedKey, { kind: 'minisign' }>;

interface ParsedSig {
  untrustedComment: string;
  alg: string;
  keyId: Uint8Array;
  sig: Uint8Array;
  trustedComment?: string;
  trustedCommentBytes?: Uint8Array;
  globalSig?: Uint8Array;
}

function signAsync(data: Uint8Array, key: KeyObject): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    cryptoSign(null, data, key, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig))));
  });
}

function verifyAsync(data: Uint8Array, key: KeyObject, sig: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      cryptoVerify(null, data, key, sig, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

function decodeSigLine(line: string, len: number): Uint8Array | undefined {
  try {
    const b = fromBase64(line.trim());
    return b.length === len ? b : undefined;
  } catch {
    return undefined;
  }
}

function toText(bytes: Uint8Array, what: string): string {
  try {
    return fromUtf8(bytes);
  } catch {
    throw new SignetError('SIGNATURE_PARSE_FAILED', `${what}: not UTF-8 text`);
  }
}

/** Parses the first two lines shared by both formats. */
function parseHead(lines: string[], what: string): Omit<ParsedSig, 'trustedComment' | 'globalSig'> {
  const first = lines[0];
  if (first === undefined || !first.startsWith('untrusted comment:')) {
    throw new SignetError('SIGNATURE_PARSE_FAILED', `${what}: the first line must start with "untrusted comment:"`);
  }
  const raw = decodeSigLine(lines[1] ?? '', SIG_BYTES);
  if (!raw) throw new SignetError('SIGNATURE_PARSE_FAILED', `${what}: the second line is not a base64 signature of ${SIG_BYTES} bytes`);
  const alg = Buffer.from(raw.subarray(0, 2)).toString('latin1');
  if (alg !== ALG_PREHASHED && alg !== ALG_LEGACY) {
    throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unknown signature algorithm "${alg}"`);
  }
  return {
    untrustedComment: first.slice('untrusted comment:'.length).replace(/^ /, ''),
    alg,
    keyId: raw.slice(2, 10),
    sig: raw.slice(10),
  };
}

function parseMinisign(bytes: Uint8Array): ParsedSig {
  const what = 'minisign signature';
  const lines = fileLines(toText(bytes, what));
  const head = parseHead(lines, what);
  const tc = lines[2];
  if (tc === undefined || !tc.startsWith(TRUSTED_PREFIX)) {
    throw new SignetError('SIGNATURE_PARSE_FAILED', `${what}: the third line must start with "${TRUSTED_PREFIX.trim()}"`);
  }
  const globalSig = decodeSigLine(lines[3] ?? '', 64);
  if (!globalSig) throw new SignetError('SIGNATURE_PARSE_FAILED', `${what}: the fourth line is not a base64 signature of 64 bytes`);
  if (lines.length > 4) throw new SignetError('SIGNATURE_PARSE_FAILED', `${what}: unexpected lines after the global signature`);
  const trustedComment = tc.slice(TRUSTED_PREFIX.length);
  return { ...head, trustedComment, trustedCommentBytes: utf8(trustedComment), globalSig };
}

function parseSignify(bytes: Uint8Array): ParsedSig {
  const what = 'signify signature';
  const lines = fileLines(toText(bytes, what));
  const head = parseHead(lines, what);
  if (head.alg !== ALG_LEGACY) throw new SignetError('SIGNATURE_PARSE_FAILED', `${what}: algorithm must be "Ed"`);
  if (lines.length > 2) {
    if (lines[2]?.startsWith(TRUSTED_PREFIX)) {
      throw new SignetError('UNSUPPORTED_FORMAT', `${what}: this is a minisign signature (it has a trusted comment)`);
    }
    throw new SignetError('UNSUPPORTED_FORMAT', `${what}: signatures with an embedded message (signify -e) are not supported`);
  }
  return head;
}

/** Splits the head of a file into lines without decoding all of it. */
function headLines(bytes: Uint8Array): string[] | undefined {
  const head = Buffer.from(bytes.subarray(0, DETECT_BYTES)).toString('utf8');
  if (!head.startsWith('untrusted comment:')) return undefined;
  return head.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function sigAlg(line: string | undefined): string | undefined {
  const raw = line === undefined ? undefined : decodeSigLine(line, SIG_BYTES);
  return raw ? Buffer.from(raw.subarray(0, 2)).toString('latin1') : undefined;
}

/** A minisign signature: untrusted comment, base64 "ED"/"Ed" signature line, then a "trusted comment:" line. */
export function isMinisignSignature(bytes: Uint8Array): boolean {
  const lines = headLines(bytes);
  if (!lines) return false;
  const alg = sigAlg(lines[1]);
  return (alg === ALG_PREHASHED || alg === ALG_LEGACY) && (lines[2]?.startsWith(TRUSTED_PREFIX) ?? false);
}

/** A signify signature: untrusted comment and a base64 "Ed" signature line, without a trusted comment. */
export function isSignifySignature(bytes: Uint8Array): boolean {
  const lines = headLines(bytes);
  if (!lines) return false;
  return sigAlg(lines[1]) === ALG_LEGACY && !(lines[2]?.startsWith(TRUSTED_PREFIX) ?? false);
}

function checkLine(value: string, max: number, what: string): string {
  if (/[\r\n]/.test(value)) throw new SignetError('INVALID_ARGUMENT', `the ${what} must be a single line`);
  if (value.length > max) throw new SignetError('INVALID_ARGUMENT', `the ${what} must be at most ${max} characters`);
  return value;
}

function requireSecretKey(key: MinisignSecretKey): void {
  if (!key || !(key.keyId instanceof Uint8Array) || key.keyId.length !== 8 || key.privateKey?.asymmetricKeyType !== 'ed25519') {
    throw new SignetError('INVALID_ARGUMENT', 'expected a secret key from parseMinisignSecretKey or parseSignifySecretKey');
  }
}

export interface MinisignSignOptions {
  /** Signed together with the signature; default "timestamp:<unix>\tfile:<fileName>\thashed". */
  trustedComment?: string;
  untrustedComment?: string;
  /** Sign the file itself ("Ed", minisign -l) instead of its BLAKE2b-512 ("ED"). */
  legacy?: boolean;
  /** Used in the default trusted comment. */
  fileName?: string;
  /** Signing time for the default trusted comment; defaults to now. */
  now?: Date;
}

/** Signs `data` as `minisign -S` does (prehashed by default) and returns the .minisig text. */
export async function signMinisign(data: Uint8Array, secretKey: MinisignSecretKey, opts: MinisignSignOptions = {}): Promise<string> {
  requireSecretKey(secretKey);
  const legacy = opts.legacy === true;
  const fileName = opts.fileName === undefined ? undefined : checkLine(opts.fileName, 256, 'file name');
  const ts = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const trusted = checkLine(
    opts.trustedComment ?? `timestamp:${ts}${fileName !== undefined ? `\tfile:${fileName}` : ''}${legacy ? '' : '\thashed'}`,
    MAX_TRUSTED_COMMENT,
    'trusted comment',
  );
  const untrusted = checkLine(opts.untrustedComment ?? 'signature from signet minisign secret key', MAX_UNTRUSTED_COMMENT, 'untrusted comment');
  const message = legacy ? data : new Uint8Array(createHash('blake2b512').update(data).digest());
  const sig = await signAsync(message, secretKey.privateKey);
  const global = await signAsync(concatBytes(sig, utf8(trusted)), secretKey.privateKey);
  const sigLine = toBase64(concatBytes(utf8(legacy ? ALG_LEGACY : ALG_PREHASHED), secretKey.keyId, sig));
  return `${COMMENT_PREFIX}${untrusted}\n${sigLine}\n${TRUSTED_PREFIX}${trusted}\n${toBase64(global)}\n`;
}

/** Signs `data` as `signify -S` does and returns the .sig text. */
export async function signSignify(data: Uint8Array, secretKey: MinisignSecretKey, opts: { untrustedComment?: string } = {}): Promise<string> {
  requireSecretKey(secretKey);
  const untrusted = checkLine(opts.untrustedComment ?? 'verify with signet signify public key', MAX_UNTRUSTED_COMMENT, 'untrusted comment');
  const sig = await signAsync(data, secretKey.privateKey);
  return `${COMMENT_PREFIX}${untrusted}\n${toBase64(concatBytes(utf8(ALG_LEGACY), secretKey.keyId, sig))}\n`;
}

/** Finds the trusted key by key id and records the key, key-validity and identity checks. */
function matchKey(b: VerdictBuilder, keyId: Uint8Array, trust: TrustMaterial, policy: VerifyPolicy): MinisignTrustedKey | undefined {
  const id = minisignKeyIdHex(keyId);
  const entry = trust.keys.find((k): k is MinisignTrustedKey => k.kind === 'minisign' && bytesEqual(k.keyId, keyId));
  if (!entry) {
    b.fail('key', `key id ${id} is not among the trusted keys`);
    return undefined;
  }
  b.pass('key', `key id ${id} is trusted${entry.name ? ` (${entry.name})` : ''}`);
  const v = checkValidity(entry.validity, policy.now ?? new Date());
  if (v) b.check('key-validity', v.ok, v.detail);
  if (policy.identity !== undefined) {
    b.check(
      'identity',
      entry.name === policy.identity,
      entry.name === policy.identity
        ? `key id ${id} is named "${entry.name}"`
        : `key id ${id} is ${entry.name ? `named "${entry.name}"` : 'unnamed'}, not "${policy.identity}"`,
    );
  }
  return entry;
}

function timestampOf(trustedComment: string): string | undefined {
  const m = /(?:^|\t)timestamp:(\d{1,12})(?:\t|$)/.exec(trustedComment);
  return m ? new Date(Number(m[1]) * 1000).toISOString() : undefined;
}

/**
 * Verifies a minisign signature: the signature over the file (legacy "Ed") or its BLAKE2b-512 ("ED"),
 * and the global signature over sig ‖ trusted comment. Malformed input throws SIGNATURE_PARSE_FAILED.
 */
export async function verifyMinisign(
  artifact: Artifact,
  signature: Uint8Array,
  trust: TrustMaterial,
  policy: VerifyPolicy = {},
): Promise<Verdict> {
  const b = new VerdictBuilder('minisign');
  const s = parseMinisign(signature);
  const id = minisignKeyIdHex(s.keyId);
  const prehashed = s.alg === ALG_PREHASHED;
  b.pass('format', `minisign signature (${prehashed ? 'prehashed, BLAKE2b-512' : 'legacy'}) by key id ${id}`);
  const entry = matchKey(b, s.keyId, trust, policy);
  if (!entry) return b.done();
  const message = prehashed ? artifactDigest(artifact, 'blake2b512') : artifactBytes(artifact);
  if (!message) {
    return b.failWith(
      'artifact',
      prehashed
        ? 'a prehashed minisign signature needs the artifact bytes or its blake2b512 digest'
        : 'a legacy minisign signature covers the file itself: the artifact bytes are needed, not a digest',
    );
  }
  const ok = await verifyAsync(message, entry.publicKey, s.sig);
  b.check('signature', ok, ok ? `Ed25519 signature by key id ${id} is valid` : 'signature does not match the artifact');
  const tc = s.trustedComment ?? '';
  const globalOk = await verifyAsync(concatBytes(s.sig, s.trustedCommentBytes ?? new Uint8Array(0)), entry.publicKey, s.globalSig!);
  b.check(
    'trusted-comment',
    globalOk,
    globalOk ? `trusted comment "${tc}" is signed` : 'the trusted comment (or the signature line) was altered: the global signature does not match',
  );
  const timestamp = timestampOf(tc);
  b.signer({
    keyId: id,
    comment: tc,
    ...(entry.name !== undefined ? { identity: entry.name } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
  return b.done();
}

/** Verifies a signify signature (Ed25519 over the file bytes; no trusted comment). */
export async function verifySignify(
  artifact: Artifact,
  signature: Uint8Array,
  trust: TrustMaterial,
  policy: VerifyPolicy = {},
): Promise<Verdict> {
  const b = new VerdictBuilder('signify');
  const s = parseSignify(signature);
  const id = minisignKeyIdHex(s.keyId);
  b.pass('format', `signify signature by key id ${id}`);
  const entry = matchKey(b, s.keyId, trust, policy);
  if (!entry) return b.done();
  const bytes = artifactBytes(artifact);
  if (!bytes) return b.failWith('artifact', 'a signify signature covers the file itself: the artifact bytes are needed, not a digest');
  const ok = await verifyAsync(bytes, entry.publicKey, s.sig);
  b.check('signature', ok, ok ? `Ed25519 signature by key id ${id} is valid` : 'signature does not match the artifact');
  b.signer({ keyId: id, ...(entry.name !== undefined ? { identity: entry.name } : {}) });
  return b.done();
}
