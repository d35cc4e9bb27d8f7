import { createPrivateKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual, fromUtf8 } from '../encoding/bytes.js';
import { toBase64Url } from '../encoding/base64.js';
import { parsePem } from '../encoding/pem.js';
import type { SshPublicKeyInfo } from '../verify/types.js';
import { SSH_ECDSA_CURVES, decodeSshPublicKeyBlob, sshPublicKeyFromKeyObject } from './keys.js';
import type { SshCurveName } from './keys.js';
import { SshReader, fixedLength } from './wire.js';

const MAGIC = 'openssh-key-v1\0';
const WHAT = 'OpenSSH private key';
const REMOVE_PASSPHRASE = 'remove the passphrase with `ssh-keygen -p -N "" -f <key>` or export an unencrypted copy';

function b64u(b: Uint8Array): string {
  return toBase64Url(b);
}

function bigToBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

function privateFromJwk(jwk: JsonWebKey): KeyObject {
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', `${WHAT}: the private key values are invalid`, { cause: e });
  }
}

/** Reads the type-specific private fields of one key (PROTOCOL.key; field order as in OpenSSH's sshkey_private_serialize). */
function readPrivateKey(r: SshReader, type: string): KeyObject {
  if (type === 'ssh-ed25519') {
    const pk = r.string();
    const sk = r.string();
    // sk = seed(32) ‖ pk(32), as libsodium/ref10 store it (RFC 8032 §5.1.5 for the seed)
    if (pk.length !== 32 || sk.length !== 64 || !bytesEqual(sk.subarray(32), pk)) r.fail('malformed Ed25519 private key');
    return privateFromJwk({ kty: 'OKP', crv: 'Ed25519', d: b64u(sk.subarray(0, 32)), x: b64u(pk) });
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const name = type.slice('ecdsa-sha2-'.length);
    const curve = SSH_ECDSA_CURVES[name as SshCurveName];
    if (!curve) throw new SignetError('UNSUPPORTED_ALGORITHM', `${WHAT}: unsupported curve ${name}`);
    if (r.text() !== name) r.fail('curve name does not match the key type');
    const q = r.string();
    const d = fixedLength(r.mpint(), curve.size);
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4 || !d) r.fail('malformed ECDSA private key');
    return privateFromJwk({
      kty: 'EC',
      crv: curve.crv,
      x: b64u(q.subarray(1, 1 + curve.size)),
      y: b64u(q.subarray(1 + curve.size)),
      d: b64u(d),
    });
  }
  if (type === 'ssh-rsa') {
    const n = r.mpint();
    const e = r.mpint();
    const d = r.mpint();
    const iqmp = r.mpint();
    const p = r.mpint();
    const q = r.mpint();
    const [P, Q, D] = [bytesToBig(p), bytesToBig(q), bytesToBig(d)];
    if (P < 3n || Q < 3n || D === 0n || bytesToBig(n) !== P * Q) r.fail('malformed RSA private key');
    return privateFromJwk({
      kty: 'RSA',
      n: b64u(n),
      e: b64u(e),
      d: b64u(d),
      p: b64u(p),
      q: b64u(q),
      dp: b64u(bigToBytes(D % (P - 1n))),
      dq: b64u(bigToBytes(D % (Q - 1n))),
      qi: b64u(iqmp),
    });
  }
  throw new SignetError('UNSUPPORTED_ALGORITHM', `${WHAT}: unsupported key type ${type}`);
}

function parseOpensshKey(der: Uint8Array): { privateKey: KeyObject; publicKey: SshPublicKeyInfo } {
  const r = new SshReader(der, 'KEY_PARSE_FAILED', WHAT);
  const magic = r.bytes(MAGIC.length);
  if (Buffer.from(magic).toString('latin1') !== MAGIC) r.fail('missing "openssh-key-v1" magic');
  const cipher = r.text();
  const kdf = r.text();
  r.string(); // kdfoptions
  if (cipher !== 'none' || kdf !== 'none') {
    throw new SignetError('KEY_ENCRYPTED', `${WHAT} is encrypted (${cipher}, ${kdf} KDF): ${REMOVE_PASSPHRASE}`);
  }
  const count = r.uint32();
  if (count !== 1) r.fail(`expected exactly one key, found ${count}`);
  const publicBlob = r.string();
  const priv = r.string();
  r.end();
  // PROTOCOL.key: with cipher "none" the private section is padded to a multiple of 8.
  if (priv.length % 8 !== 0) r.fail('private section is not padded to the block size');
  const pr = new SshReader(priv, 'KEY_PARSE_FAILED', WHAT);
  const check1 = pr.uint32();
  const check2 = pr.uint32();
  if (check1 !== check2) pr.fail('check integers differ (corrupt key, or decrypted with the wrong passphrase)');
  const type = pr.text();
  const privateKey = readPrivateKey(pr, type);
  let comment: string;
  try {
    comment = fromUtf8(pr.string());
  } catch {
    comment = '';
  }
  // Deterministic padding 1, 2, 3, … (PROTOCOL.key)
  const pad = pr.bytes(pr.remaining);
  if (pad.length >= 8 || pad.some((b, i) => b !== i + 1)) pr.fail('invalid padding');
  const declared = decodeSshPublicKeyBlob(publicBlob, 'KEY_PARSE_FAILED', WHAT);
  if (declared.type !== type) pr.fail(`public key type ${declared.type} does not match private key type ${type}`);
  const publicKey = sshPublicKeyFromKeyObject(privateKey, comment || undefined);
  if (!bytesEqual(publicKey.blob, publicBlob)) pr.fail('the private key does not match its public key');
  return { privateKey, publicKey };
}

/**
 * Reads an SSH private key: the openssh-key-v1 format ("-----BEGIN OPENSSH PRIVATE KEY-----", unencrypted)
 * for Ed25519, ECDSA and RSA, or a PKCS#8 / PKCS#1 / SEC1 PEM private key that Node can read.
 * Encrypted keys throw KEY_ENCRYPTED.
 */
export function parseSshPrivateKey(text: string): { privateKey: KeyObject; publicKey: SshPublicKeyInfo } {
  if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
    let der: Uint8Array;
    try {
      der = parsePem(text, 'OPENSSH PRIVATE KEY').der;
    } catch (e) {
      throw new SignetError('KEY_PARSE_FAILED', `${WHAT}: malformed PEM armor`, { cause: e });
    }
    return parseOpensshKey(der);
  }
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw new SignetError('KEY_ENCRYPTED', `the private key is encrypted: ${REMOVE_PASSPHRASE}`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new SignetError('KEY_PARSE_FAILED', 'not a private key (expected an OpenSSH or PEM private key)');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'the PEM private key could not be read', { cause: e });
  }
  return { privateKey, publicKey: sshPublicKeyFromKeyObject(privateKey) };
}
