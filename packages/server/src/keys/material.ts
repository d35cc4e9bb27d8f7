import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import {
  SignetError,
  describeKey,
  detectPgp,
  parseMinisignPublicKey,
  parsePemBlocks,
  parseSshPublicKey,
  publicKeyFromPem,
  spkiDer,
  toPem,
  utf8,
  type TrustedKey,
} from '@signet/core';
import { KeyError } from './errors.js';
import { dearmor, scanPackets, type Capability } from './pgp-packets.js';

export const KEY_TYPES = ['gpg', 'cosign', 'ssh', 'minisign', 'signify', 'x509', 'pem'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export interface SubkeyInfo {
  fingerprint: string;
  expires_at: string | null;
  capabilities: Capability[];
}

/** A public key read from an import request. */
export interface ParsedKey {
  type: KeyType;
  /** e.g. ecdsa-p256, ed25519, rsa-3072 (OpenPGP: ed25519, rsa4096, … as core names them). */
  algorithm: string;
  fingerprint: string;
  /** The public key as submitted (trimmed, one final newline): served back by GET /{id}/public. */
  publicText: string;
  subkeys?: SubkeyInfo[];
  /** The key's own validity: a certificate's window, an OpenPGP primary key's expiry. */
  notBefore?: Date;
  notAfter?: Date;
}

const invalid = (msg: string): never => {
  throw new KeyError('KEY_INVALID', msg);
};

/** "SHA256:" ‖ unpadded base64 of SHA-256(bytes), the notation ssh-keygen -l prints. */
export function sha256Fingerprint(bytes: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(bytes).digest('base64').replace(/=+$/, '')}`;
}

const MINISIGN_PK_BYTES = 42;
const MINISIGN_SK_BYTES = 158;
const SIGNIFY_SK_BYTES = 104;

function strictBase64(s: string): Uint8Array | undefined {
  const compact = s.replace(/\s+/g, '');
  if (compact.length < 4 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** The base64 line of a minisign/signify file ("untrusted comment:" line + base64 line, or the bare line). */
function minisignBlob(text: string): { comment?: string; blob: Uint8Array } | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  let comment: string | undefined;
  if (lines[0]?.startsWith('untrusted comment:')) comment = lines.shift()?.slice('untrusted comment:'.length).trim();
  if (lines.length !== 1 || !/^[A-Za-z0-9+/]+={0,2}$/.test(lines[0]!)) return undefined;
  const blob = new Uint8Array(Buffer.from(lines[0]!, 'base64'));
  if (blob[0] !== 0x45 || blob[1] !== 0x64) return undefined; // "Ed"
  return { ...(comment !== undefined ? { comment } : {}), blob };
}

/**
 * What kind of private key a text holds, if it is one. Such input is refused before anything else looks at
 * it, and neither the value nor any part of it goes into a message or a log line.
 */
export function privateKeyKind(text: string): string | undefined {
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(text)) return 'an OpenPGP private key block';
  if (/-----BEGIN OPENSSH PRIVATE KEY-----/.test(text)) return 'an OpenSSH private key';
  if (/-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(text)) return 'a PKCS#8 private key';
  if (/-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/.test(text)) return 'a cosign private key';
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*-----/.test(text)) return 'a PEM private key';
  if (/^PuTTY-User-Key-File-/m.test(text)) return 'a PuTTY private key';
  const mini = minisignBlob(text);
  if (mini?.blob.length === MINISIGN_SK_BYTES) return 'a minisign secret key';
  if (mini?.blob.length === SIGNIFY_SK_BYTES) return 'a signify secret key';
  if (/^untrusted comment:.*secret key/im.test(text)) return 'a minisign or signify secret key';
  const armored = dearmor(text);
  const binary = armored ?? strictBase64(text);
  if (binary && (armored || detectPgp(binary) === 'binary-key') && scanPackets(binary).hasSecret) return 'an OpenPGP secret key';
  return undefined;
}

const SSH_TYPE = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|ssh-dss|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/;

/** What the text looks like, without the caller's hint. */
export function detectKeyType(text: string): KeyType | undefined {
  if (/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(text)) return 'gpg';
  if (/-----BEGIN CERTIFICATE-----/.test(text)) return 'x509';
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) return 'pem';
  if (text.split(/\s+/).some((tok, i, all) => SSH_TYPE.test(tok) && /^AAAA[A-Za-z0-9+/]+=*$/.test(all[i + 1] ?? ''))) return 'ssh';
  const mini = minisignBlob(text);
  if (mini?.blob.length === MINISIGN_PK_BYTES) return /signify/i.test(mini.comment ?? '') ? 'signify' : 'minisign';
  const bin = strictBase64(text);
  if (bin && detectPgp(bin) === 'binary-key') return 'gpg';
  return undefined;
}

const DESCRIBE: Record<KeyType, string> = {
  gpg: 'an OpenPGP public key',
  cosign: 'a PEM public key',
  pem: 'a PEM public key',
  x509: 'an X.509 certificate',
  ssh: 'an SSH public key',
  minisign: 'a minisign public key',
  signify: 'a signify public key',
};

/** Families whose members share a file format: the stated type wins within one. */
const FAMILY: Record<KeyType, string> = { gpg: 'gpg', cosign: 'pem', pem: 'pem', x509: 'x509', ssh: 'ssh', minisign: 'minisign', signify: 'minisign' };

/** ECDSA P-256/384/521, Ed25519, RSA from 2048 to 16384 bits; anything else is refused. */
export function checkAlgorithm(key: KeyObject): string {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519') return 'ed25519';
  if (t === 'ec') {
    const a = describeKey(key);
    if (['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'].includes(a)) return a;
    throw new KeyError('KEY_ALGORITHM_REFUSED', `ECDSA keys must be on P-256, P-384 or P-521 (this one is on ${String(key.asymmetricKeyDetails?.namedCurve)})`);
  }
  if (t === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new KeyError('KEY_ALGORITHM_REFUSED', `RSA keys must have at least 2048 bits (this one has ${bits})`);
    if (bits > 16384) throw new KeyError('KEY_ALGORITHM_REFUSED', `RSA keys may have at most 16384 bits (this one has ${bits})`);
    return `rsa-${bits}`;
  }
  throw new KeyError('KEY_ALGORITHM_REFUSED', `${String(t)} keys are not accepted: use ECDSA (P-256, P-384, P-521), Ed25519 or RSA (2048 bits or more)`);
}

const normalized = (text: string): string => `${text.trim()}\n`;

function parsePkix(text: string, type: KeyType): ParsedKey {
  let blocks;
  try {
    blocks = parsePemBlocks(text);
  } catch {
    return invalid('public_key is not valid PEM');
  }
  if (blocks.length !== 1) invalid(`public_key must hold exactly one PEM block (it holds ${blocks.length})`);
  const b = blocks[0]!;
  if (type === 'x509') {
    if (b.label !== 'CERTIFICATE') invalid(`a key of type x509 is a PEM CERTIFICATE, not ${b.label}`);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(b.der));
    } catch {
      return invalid('the certificate cannot be parsed');
    }
    const notAfter = new Date(cert.validTo);
    if (notAfter.getTime() <= Date.now()) invalid(`the certificate expired at ${notAfter.toISOString()}`);
    const algorithm = checkAlgorithm(cert.publicKey);
    return { type, algorithm, fingerprint: sha256Fingerprint(spkiDer(cert.publicKey)), publicText: normalized(text), notBefore: new Date(cert.validFrom), notAfter };
  }
  if (b.label !== 'PUBLIC KEY' && b.label !== 'RSA PUBLIC KEY') invalid(`a key of type ${type} is a PEM PUBLIC KEY, not ${b.label}`);
  let key: KeyObject;
  try {
    key = publicKeyFromPem(toPem(b.label, b.der));
  } catch {
    return invalid('the PEM public key cannot be parsed');
  }
  return { type, algorithm: checkAlgorithm(key), fingerprint: sha256Fingerprint(spkiDer(key)), publicText: normalized(text) };
}

/** The single key line of an SSH public key or authorized_keys text (options before the key type are allowed). */
function sshKeyLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) invalid(`public_key must hold exactly one SSH public key line (it holds ${lines.length})`);
  const toks = lines[0]!.split(/[ \t]+/);
  const i = toks.findIndex((tok, k) => SSH_TYPE.test(tok) && /^AAAA[A-Za-z0-9+/]+=*$/.test(toks[k + 1] ?? ''));
  if (i < 0) invalid('public_key is not an SSH public key line ("<type> <base64> [comment]", as in id_ed25519.pub or authorized_keys)');
  const type = toks[i]!;
  if (type === 'ssh-dss') throw new KeyError('KEY_ALGORITHM_REFUSED', 'ssh-dss (DSA) keys are not accepted: use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa (2048 bits or more)');
  if (type.startsWith('sk-')) throw new KeyError('KEY_ALGORITHM_REFUSED', `${type} (FIDO security key) keys are not accepted for signing keys`);
  if (type.endsWith('-cert-v01@openssh.com')) throw new KeyError('KEY_ALGORITHM_REFUSED', 'SSH certificates are not accepted: import the plain public key');
  return toks.slice(i).join(' ');
}

function parseSsh(text: string): ParsedKey {
  const line = sshKeyLine(text);
  let info;
  try {
    info = parseSshPublicKey(line);
  } catch (e) {
    return invalid(`the SSH public key cannot be read${e instanceof SignetError ? `: ${e.message}` : ''}`);
  }
  return { type: 'ssh', algorithm: checkAlgorithm(info.key), fingerprint: info.fingerprint, publicText: normalized(text) };
}

function parseMinisign(text: string, type: KeyType): ParsedKey {
  const m = minisignBlob(text);
  if (!m || m.blob.length !== MINISIGN_PK_BYTES) invalid(`public_key is not a ${type} public key (an "untrusted comment:" line and a base64 line of 42 bytes)`);
  try {
    parseMinisignPublicKey(text);
  } catch (e) {
    return invalid(`the ${type} public key cannot be read${e instanceof SignetError ? `: ${e.message}` : ''}`);
  }
  return { type, algorithm: 'ed25519', fingerprint: sha256Fingerprint(m!.blob), publicText: normalized(text) };
}

/** The OpenPGP bytes to verify with: the armored text as is, or the decoded binary. */
export function pgpData(text: string): Uint8Array {
  if (/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(text)) return utf8(text);
  const bin = strictBase64(text);
  if (!bin) return invalid('public_key is neither an armored OpenPGP key nor base64 of a binary one');
  return bin;
}

async function parseGpg(text: string): Promise<ParsedKey> {
  const data = pgpData(text);
  const binary = /-----BEGIN PGP/.test(text) ? dearmor(text) : data;
  if (!binary || (!/-----BEGIN PGP/.test(text) && detectPgp(binary) !== 'binary-key')) invalid('public_key is not an OpenPGP public key or keyring');
  const scan = scanPackets(binary!);
  if (scan.hasSecret) throw new KeyError('PRIVATE_KEY_REFUSED', privateMessage('an OpenPGP secret key'));
  const { readPgpKeys } = await import('@signet/core/pgp');
  let keys;
  try {
    keys = await readPgpKeys(data);
  } catch (e) {
    return invalid(`the OpenPGP key cannot be read${e instanceof SignetError ? `: ${e.message}` : ''}`);
  }
  if (keys.length === 0) invalid('public_key holds no OpenPGP key');
  if (keys.some((k) => k.isPrivate)) throw new KeyError('PRIVATE_KEY_REFUSED', privateMessage('an OpenPGP secret key'));
  const first = keys[0]!;
  for (const k of keys) {
    if (k.revoked) invalid(`the OpenPGP key ${k.fingerprint} carries a revocation signature`);
    const bits = /^rsa(\d+)$/.exec(k.algorithm);
    if (bits && Number(bits[1]) < 2048) throw new KeyError('KEY_ALGORITHM_REFUSED', `RSA keys must have at least 2048 bits (OpenPGP key ${k.fingerprint} has ${bits[1]})`);
  }
  if (first.expires && first.expires.getTime() <= Date.now()) invalid(`the OpenPGP key ${first.fingerprint} expired at ${first.expires.toISOString()}`);
  // A keyring's further primary keys are listed with the subkeys: one entry verifies with all of them.
  const subkeys: SubkeyInfo[] = [];
  for (const [i, k] of keys.entries()) {
    if (i > 0) subkeys.push({ fingerprint: k.fingerprint, expires_at: k.expires?.toISOString() ?? null, capabilities: scan.capabilities.get(k.fingerprint) ?? [] });
    for (const s of k.subkeys) subkeys.push({ fingerprint: s.fingerprint, expires_at: s.expires?.toISOString() ?? null, capabilities: scan.capabilities.get(s.fingerprint) ?? [] });
  }
  return {
    type: 'gpg',
    algorithm: first.algorithm,
    fingerprint: first.fingerprint,
    publicText: normalized(text),
    subkeys,
    ...(first.expires ? { notAfter: first.expires } : {}),
  };
}

export function privateMessage(what: string): string {
  return `public_key holds ${what}, not a public key; it was refused and not stored. Import only the public half (gpg --export, ssh-keygen -y, the .pub file)`;
}

/**
 * Reads a public key of the stated type, or of the detected type when none is stated. Private keys, unknown
 * formats, a stated type that does not fit the data, and weak or unsupported algorithms are KeyErrors.
 */
export async function parseKeyMaterial(text: string, stated?: KeyType): Promise<ParsedKey> {
  const priv = privateKeyKind(text);
  if (priv) throw new KeyError('PRIVATE_KEY_REFUSED', privateMessage(priv));
  const detected = detectKeyType(text);
  if (!detected) {
    return invalid(
      'public_key is not a recognised public key: expected a PEM public key or certificate (cosign .pub), an OpenPGP key (armored, or base64 of binary), an SSH public key line, or a minisign/signify public key',
    );
  }
  if (stated && FAMILY[stated] !== FAMILY[detected]) {
    throw new KeyError('KEY_TYPE_MISMATCH', `type is "${stated}" but public_key holds ${DESCRIBE[detected]} (type "${detected}")`);
  }
  const type = stated ?? detected;
  switch (FAMILY[type]) {
    case 'gpg':
      return parseGpg(text);
    case 'ssh':
      return parseSsh(text);
    case 'minisign':
      return parseMinisign(text, type);
    default:
      return parsePkix(text, type);
  }
}

/** The core trust material for a stored key (without validity; the caller adds it). */
export function trustedKeyOf(type: KeyType, publicText: string, name: string): TrustedKey {
  switch (FAMILY[type]) {
    case 'gpg':
      return { kind: 'pgp', data: pgpData(publicText), name };
    case 'ssh':
      return { kind: 'ssh', key: parseSshPublicKey(sshKeyLine(publicText)), principals: [], name };
    case 'minisign': {
      const k = parseMinisignPublicKey(publicText);
      return { kind: 'minisign', keyId: k.keyId, publicKey: k.publicKey, name };
    }
    default: {
      const b = parsePemBlocks(publicText)[0]!;
      const key = b.label === 'CERTIFICATE' ? new X509Certificate(Buffer.from(b.der)).publicKey : publicKeyFromPem(toPem(b.label, b.der));
      return { kind: 'pkix', key, fingerprint: createHash('sha256').update(spkiDer(key)).digest('hex'), name };
    }
  }
}
