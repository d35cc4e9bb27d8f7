import { constants, createHash, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject, VerifyKeyObjectInput } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual, concatBytes, fromUtf8, utf8 } from '../encoding/bytes.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { artifactDigest } from '../verify/artifact.js';
import { VerdictBuilder, checkValidity } from '../verify/verdict.js';
import type { Artifact, SshPublicKeyInfo, TrustMaterial, Verdict, VerifyPolicy } from '../verify/types.js';
import { principalMatches } from './allowed-signers.js';
import type { SshTrustedKey } from './allowed-signers.js';
import {
  SSH_ECDSA_CURVES,
  baseKeyType,
  decodeSshPublicKeyBlob,
  isCertificateType,
  sshFingerprint,
  sshPublicKeyFromKeyObject,
} from './keys.js';
import type { SshCurveName } from './keys.js';
import { SshReader, fixedLength, sshMpint, sshString, sshUint32 } from './wire.js';

// PROTOCOL.sshsig §2 (blob) and §3 (armor).
const MAGIC = utf8('SSHSIG');
const VERSION = 1;
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
const ARMOR_WIDTH = 70; // as ssh-keygen wraps it (PROTOCOL.sshsig §3)
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384; // OpenSSH's upper bound (SSH_RSA_MAXIMUM_MODULUS_SIZE)

export type SshSigHash = 'sha256' | 'sha512';

export interface SshSignature {
  /** The signer's public key as embedded in the signature (for a certificate: the certified key). */
  publicKey: SshPublicKeyInfo;
  namespace: string;
  hashAlgorithm: string;
  /** e.g. ssh-ed25519, ecdsa-sha2-nistp256, rsa-sha2-512. */
  sigAlgorithm: string;
  /** The signature blob for sigAlgorithm (Ed25519: 64 bytes; ECDSA: mpint r ‖ mpint s; RSA: PKCS#1 v1.5). */
  signature: Uint8Array;
}

interface RawSshSig {
  publicKeyBlob: Uint8Array;
  namespace: string;
  hashAlgorithm: string;
  sigAlgorithm: string;
  signature: Uint8Array;
}

const WHAT = 'SSH signature';

function dearmor(input: Uint8Array | string): Uint8Array {
  const bytes = typeof input === 'string' ? utf8(input) : input;
  if (bytes.length >= MAGIC.length && bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC)) return bytes; // raw blob
  let text: string;
  try {
    text = typeof input === 'string' ? input : fromUtf8(bytes);
  } catch {
    throw new SignetError('SIGNATURE_PARSE_FAILED', `${WHAT}: not text and not an SSHSIG blob`);
  }
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END, start + BEGIN.length);
  if (start < 0 || end < 0) throw new SignetError('SIGNATURE_PARSE_FAILED', `${WHAT}: no "${BEGIN}" … "${END}" armor found`);
  const body = text.slice(start + BEGIN.length, end).replace(/\s+/g, '');
  try {
    return fromBase64(body, WHAT);
  } catch {
    throw new SignetError('SIGNATURE_PARSE_FAILED', `${WHAT}: the armored body is not valid base64`);
  }
}

/** PROTOCOL.sshsig §2: MAGIC ‖ uint32 version ‖ string publickey ‖ string namespace ‖ string reserved ‖ string hash ‖ string signature. */
function parseRaw(input: Uint8Array | string): RawSshSig {
  const r = new SshReader(dearmor(input), 'SIGNATURE_PARSE_FAILED', WHAT);
  if (!bytesEqual(r.bytes(MAGIC.length), MAGIC)) r.fail('missing SSHSIG magic');
  const version = r.uint32();
  if (version !== VERSION) r.fail(`unsupported version ${version}`);
  const publicKeyBlob = r.string();
  const namespace = r.text();
  r.string(); // reserved
  const hashAlgorithm = r.text();
  const sig = r.string();
  r.end();
  if (namespace === '') r.fail('empty namespace');
  // RFC 4253 §6.6 signature encoding: string algorithm ‖ string blob
  const sr = new SshReader(sig, 'SIGNATURE_PARSE_FAILED', WHAT);
  const sigAlgorithm = sr.text();
  const signature = sr.string();
  sr.end();
  return { publicKeyBlob, namespace, hashAlgorithm, sigAlgorithm, signature };
}

function decodeKey(raw: RawSshSig): SshPublicKeyInfo {
  // Throws SIGNATURE_PARSE_FAILED for a malformed key, UNSUPPORTED_ALGORITHM for a key type we cannot use.
  const decoded = decodeSshPublicKeyBlob(raw.publicKeyBlob, 'SIGNATURE_PARSE_FAILED', `${WHAT}: embedded public key`);
  return { type: decoded.type, blob: raw.publicKeyBlob, key: decoded.key, fingerprint: sshFingerprint(raw.publicKeyBlob) };
}

/** Parses an armored (or raw binary) SSH signature. Throws SIGNATURE_PARSE_FAILED on malformed input. */
export function parseSshSignature(data: Uint8Array | string): SshSignature {
  const raw = parseRaw(data);
  return {
    publicKey: decodeKey(raw),
    namespace: raw.namespace,
    hashAlgorithm: raw.hashAlgorithm,
    sigAlgorithm: raw.sigAlgorithm,
    signature: raw.signature,
  };
}

/** True when the bytes start with the SSH signature armor (or the raw SSHSIG magic); does not parse. */
export function isSshSignature(bytes: Uint8Array): boolean {
  if (bytes.length >= MAGIC.length && bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC)) return true;
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1').replace(/^\s+/, '');
  return head.startsWith(BEGIN);
}

/** PROTOCOL.sshsig §2 "signed data": MAGIC ‖ string namespace ‖ string reserved ‖ string hash_algorithm ‖ string H(message). */
function signedData(namespace: string, hashAlgorithm: string, digest: Uint8Array): Uint8Array {
  return concatBytes(MAGIC, sshString(namespace), sshString(new Uint8Array(0)), sshString(hashAlgorithm), sshString(digest));
}

function armor(blob: Uint8Array): string {
  const b64 = toBase64(blob);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += ARMOR_WIDTH) lines.push(b64.slice(i, i + ARMOR_WIDTH));
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

function signAsync(alg: string | null, data: Uint8Array, key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' }): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    cryptoSign(alg, data, key, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig))));
  });
}

function verifyAsync(alg: string | null, data: Uint8Array, key: KeyObject | VerifyKeyObjectInput, sig: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      cryptoVerify(alg, data, key, sig, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

/**
 * Signs `data` as `ssh-keygen -Y sign -n <namespace>` does and returns the armored SSH SIGNATURE.
 * Ed25519 and ECDSA keys sign with their own algorithm; RSA keys sign rsa-sha2-512 (RFC 8332).
 */
export async function signSshSig(
  data: Uint8Array,
  privateKey: KeyObject,
  opts: { namespace: string; hash?: SshSigHash },
): Promise<string> {
  if (privateKey.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'signSshSig needs a private key');
  if (typeof opts.namespace !== 'string' || opts.namespace === '') {
    throw new SignetError('INVALID_ARGUMENT', 'an SSH signature needs a non-empty namespace (e.g. "file" or "git")');
  }
  const hash = opts.hash ?? 'sha512';
  if (hash !== 'sha512' && hash !== 'sha256') throw new SignetError('INVALID_ARGUMENT', `unsupported hash ${String(hash)}`);
  const pub = sshPublicKeyFromKeyObject(privateKey);
  const digest = new Uint8Array(createHash(hash).update(data).digest());
  const toSign = signedData(opts.namespace, hash, digest);
  let sigAlgorithm: string;
  let sigBlob: Uint8Array;
  if (pub.type === 'ssh-ed25519') {
    sigAlgorithm = 'ssh-ed25519';
    sigBlob = await signAsync(null, toSign, privateKey); // RFC 8709 §6
  } else if (pub.type === 'ssh-rsa') {
    sigAlgorithm = 'rsa-sha2-512';
    sigBlob = await signAsync('sha512', toSign, privateKey); // RFC 8332 §3
  } else {
    const curve = SSH_ECDSA_CURVES[pub.type.slice('ecdsa-sha2-'.length) as SshCurveName];
    sigAlgorithm = pub.type;
    const rs = await signAsync(curve.hash, toSign, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    // RFC 5656 §3.1.2: the blob is mpint r ‖ mpint s
    sigBlob = concatBytes(sshMpint(rs.subarray(0, curve.size)), sshMpint(rs.subarray(curve.size)));
  }
  const blob = concatBytes(
    MAGIC,
    sshUint32(VERSION),
    sshString(pub.blob),
    sshString(opts.namespace),
    sshString(new Uint8Array(0)),
    sshString(hash),
    sshString(concatBytes(sshString(sigAlgorithm), sshString(sigBlob))),
  );
  return armor(blob);
}

/** Which signature algorithms a key type may use, and how to verify them; undefined when not allowed. */
function algorithmProblem(keyType: string, sigAlgorithm: string, hashAlgorithm: string, key: KeyObject): string | undefined {
  if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') {
    return `hash algorithm "${hashAlgorithm}" is not allowed (PROTOCOL.sshsig permits sha256 and sha512 only)`;
  }
  const base = baseKeyType(keyType);
  if (base === 'ssh-rsa') {
    if (sigAlgorithm === 'ssh-rsa') return 'signature algorithm ssh-rsa uses SHA-1 and is refused; sign with rsa-sha2-512';
    if (sigAlgorithm !== 'rsa-sha2-512' && sigAlgorithm !== 'rsa-sha2-256') {
      return `signature algorithm ${sigAlgorithm} does not belong to an RSA key`;
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) return `RSA key of ${bits} bits is too small (minimum ${MIN_RSA_BITS})`;
    if (bits > MAX_RSA_BITS) return `RSA key of ${bits} bits is larger than the maximum of ${MAX_RSA_BITS}`;
    return undefined;
  }
  if (sigAlgorithm !== base) return `signature algorithm ${sigAlgorithm} does not match the key type ${base}`;
  return undefined;
}

async function verifyRaw(pub: SshPublicKeyInfo, sigAlgorithm: string, sig: Uint8Array, data: Uint8Array): Promise<boolean> {
  const base = baseKeyType(pub.type);
  if (base === 'ssh-ed25519') {
    return sig.length === 64 && verifyAsync(null, data, pub.key, sig); // RFC 8709 §6
  }
  if (base === 'ssh-rsa') {
    // RFC 8332 §3; OpenSSH accepts a signature shorter than the modulus and left-pads it.
    const len = Math.ceil((pub.key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    const padded = fixedLength(sig, len);
    if (!padded || sig.length > len) return false;
    const alg = sigAlgorithm === 'rsa-sha2-256' ? 'sha256' : 'sha512';
    return verifyAsync(alg, data, { key: pub.key, padding: constants.RSA_PKCS1_PADDING }, padded);
  }
  const curve = SSH_ECDSA_CURVES[base.slice('ecdsa-sha2-'.length) as SshCurveName];
  if (!curve) return false;
  // RFC 5656 §3.1.2: mpint r ‖ mpint s
  let r: Uint8Array;
  let s: Uint8Array;
  try {
    const rd = new SshReader(sig, 'SIGNATURE_PARSE_FAILED', WHAT);
    r = rd.mpint();
    s = rd.mpint();
    rd.end();
  } catch {
    return false;
  }
  const rf = fixedLength(r, curve.size);
  const sf = fixedLength(s, curve.size);
  if (!rf || !sf) return false;
  return verifyAsync(curve.hash, data, { key: pub.key, dsaEncoding: 'ieee-p1363' }, concatBytes(rf, sf));
}

/** How well a trusted entry fits the signature; problems are [check, detail] pairs. */
function entryProblems(entry: SshTrustedKey, namespace: string, policy: VerifyPolicy, now: Date): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  const v = checkValidity(entry.validity, now);
  if (v && !v.ok) problems.push(['key-validity', v.detail]);
  if (entry.namespaces && !entry.namespaces.includes(namespace)) {
    problems.push(['namespace', `the trusted key is restricted to namespaces ${entry.namespaces.join(', ')}, not "${namespace}"`]);
  }
  if (policy.identity !== undefined && !identityMatches(entry, policy.identity)) {
    const has = entry.principals.length > 0 ? `principals: ${entry.principals.join(', ')}` : 'no principals';
    problems.push(['identity', `"${policy.identity}" is not a principal of key ${entry.key.fingerprint} (${has})`]);
  }
  return problems;
}

function identityMatches(entry: SshTrustedKey, identity: string): boolean {
  if (entry.principals.length > 0) return principalMatches(entry.principals, identity);
  return entry.name !== undefined && entry.name === identity;
}

/**
 * Verifies an SSH signature (PROTOCOL.sshsig) against trusted SSH keys. Malformed signatures throw
 * SIGNATURE_PARSE_FAILED; everything else is reported in the verdict.
 */
export async function verifySshSig(
  artifact: Artifact,
  signature: Uint8Array,
  trust: TrustMaterial,
  policy: VerifyPolicy = {},
): Promise<Verdict> {
  const b = new VerdictBuilder('sshsig');
  const raw = parseRaw(signature);
  let pub: SshPublicKeyInfo;
  try {
    pub = decodeKey(raw);
  } catch (e) {
    if (e instanceof SignetError && e.code === 'UNSUPPORTED_ALGORITHM') {
      const type = new SshReader(raw.publicKeyBlob).text();
      b.pass('format', `SSH signature v1, namespace "${raw.namespace}", ${raw.hashAlgorithm}`);
      return b.failWith('algorithm', `key type ${type} is not supported (supported: Ed25519, ECDSA P-256/P-384/P-521, RSA)`);
    }
    throw e;
  }
  const fp = pub.fingerprint;
  b.pass('format', `SSH signature v1 by ${pub.type} key ${fp}, namespace "${raw.namespace}", ${raw.hashAlgorithm}`);

  const algProblem = algorithmProblem(pub.type, raw.sigAlgorithm, raw.hashAlgorithm, pub.key);
  if (algProblem) b.fail('algorithm', algProblem);
  else b.pass('algorithm', `${raw.sigAlgorithm} over ${raw.hashAlgorithm}`);

  const wanted = policy.sshNamespace ?? 'file';
  const nsOk = b.check(
    'namespace',
    raw.namespace === wanted,
    raw.namespace === wanted
      ? `namespace "${raw.namespace}"`
      : `signature namespace "${raw.namespace}" does not match the required namespace "${wanted}"`,
  );

  // Key: the embedded key must be one of the trusted keys (blobs compared in constant time).
  const sshKeys = trust.keys.filter((k): k is SshTrustedKey => k.kind === 'ssh');
  let entry: SshTrustedKey | undefined;
  if (isCertificateType(pub.type)) {
    const hasCa = sshKeys.some((k) => k.certAuthority);
    b.fail(
      'key',
      `signature was made with an SSH certificate (${pub.type}); SSH certificates are not verified` +
        (hasCa ? ', so cert-authority entries cannot vouch for it' : '') +
        ' — trust the signer\'s plain public key instead',
    );
  } else {
    const matches = sshKeys.filter((k) => bytesEqual(k.key.blob, pub.blob));
    const plain = matches.filter((k) => !k.certAuthority);
    if (plain.length === 0) {
      b.fail(
        'key',
        matches.length > 0
          ? `key ${fp} is trusted only as a cert-authority, which vouches for SSH certificates, not for signatures made by the key itself`
          : `key ${fp} is not among the trusted keys`,
      );
    } else {
      const now = policy.now ?? new Date();
      const scored = plain.map((k) => ({ k, problems: entryProblems(k, raw.namespace, policy, now) }));
      const best = scored.find((s) => s.problems.length === 0) ?? scored[0]!;
      entry = best.k;
      b.pass('key', `key ${fp} is trusted${entry.name ? ` (${entry.name})` : ''}`);
      const v = checkValidity(entry.validity, now);
      if (v) b.check('key-validity', v.ok, v.detail);
      for (const [name, detail] of best.problems) {
        if (name !== 'key-validity') b.fail(name, detail);
      }
      if (policy.identity !== undefined && !best.problems.some(([n]) => n === 'identity')) {
        const how = entry.principals.length > 0 ? 'matches a principal of' : 'is the name of';
        b.pass('identity', `"${policy.identity}" ${how} key ${fp}`);
      }
      if (nsOk && entry.namespaces && !best.problems.some(([n]) => n === 'namespace')) {
        b.pass('namespace', `the trusted key allows namespace "${raw.namespace}"`);
      }
    }
  }

  if (!entry || algProblem) return b.done();

  const hash = raw.hashAlgorithm as SshSigHash;
  const digest = artifactDigest(artifact, hash);
  if (!digest) {
    return b.failWith('artifact', `the signature covers the ${hash} digest of the artifact, but only a ${
      'digest' in artifact ? artifact.digest.algorithm : 'different'
    } digest was given`);
  }
  const ok = await verifyRaw(pub, raw.sigAlgorithm, raw.signature, signedData(raw.namespace, hash, digest));
  b.check('signature', ok, ok ? `${raw.sigAlgorithm} signature by ${fp} is valid` : 'signature does not match the artifact');
  const identity =
    (policy.identity !== undefined && identityMatches(entry, policy.identity) ? policy.identity : undefined) ??
    entry.principals[0] ??
    entry.key.comment ??
    entry.name;
  b.signer(identity !== undefined ? { keyId: fp, identity } : { keyId: fp });
  return b.done();
}
