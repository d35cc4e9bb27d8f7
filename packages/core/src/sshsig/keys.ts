import { createHash, createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import type { CoreErrorCode } from '../errors.js';
import { fromBase64, toBase64, toBase64Url } from '../encoding/base64.js';
import { concatBytes } from '../encoding/bytes.js';
import type { SshPublicKeyInfo } from '../verify/types.js';
import { SshReader, fixedLength, sshMpint, sshString } from './wire.js';

/** ECDSA curves of RFC 5656 §6.2 / §10.1: SSH curve name, JWK curve, coordinate size, hash (RFC 5656 §6.2.1). */
export const SSH_ECDSA_CURVES = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
} as const;

export type SshCurveName = keyof typeof SSH_ECDSA_CURVES;

const CERT_SUFFIX = '-cert-v01@openssh.com';

/** Key types this module can turn into a KeyObject (plain keys and the OpenSSH certificates wrapping them). */
export const SSH_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

/** True for anything that looks like an SSH key type token (including ones we cannot use, e.g. sk-* keys). */
export function looksLikeSshKeyType(token: string): boolean {
  return /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/.test(token);
}

export function isCertificateType(type: string): boolean {
  return type.endsWith(CERT_SUFFIX);
}

/** The plain key type behind a certificate type ("ssh-ed25519-cert-v01@openssh.com" → "ssh-ed25519"). */
export function baseKeyType(type: string): string {
  return isCertificateType(type) ? type.slice(0, -CERT_SUFFIX.length) : type;
}

/** "SHA256:" ‖ unpadded base64 of SHA-256(blob), as ssh-keygen -l prints it. */
export function sshFingerprint(blob: Uint8Array): string {
  return `SHA256:${toBase64(createHash('sha256').update(blob).digest()).replace(/=+$/, '')}`;
}

function jwkKey(jwk: JsonWebKey, code: CoreErrorCode, what: string): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (e) {
    throw new SignetError(code, `${what}: the key is not a valid ${String(jwk.crv ?? jwk.kty)} public key`, { cause: e });
  }
}

/**
 * Decodes a public key blob (RFC 4253 §6.6; RFC 5656 §3.1; RFC 8709 §4) into a KeyObject.
 * For an OpenSSH certificate (PROTOCOL.certkeys) the certified key is returned and `certificate` is true;
 * the certificate itself is not validated.
 */
export function decodeSshPublicKeyBlob(
  blob: Uint8Array,
  code: CoreErrorCode = 'KEY_PARSE_FAILED',
  what = 'SSH public key',
): { type: string; key: KeyObject; certificate: boolean } {
  const r = new SshReader(blob, code, what);
  const type = r.text();
  const certificate = isCertificateType(type);
  if (certificate) r.string(); // PROTOCOL.certkeys: nonce precedes the key fields
  const base = baseKeyType(type);
  let key: KeyObject;
  if (base === 'ssh-ed25519') {
    const pk = r.string();
    if (pk.length !== 32) r.fail(`an Ed25519 key must be 32 bytes, got ${pk.length}`);
    key = jwkKey({ kty: 'OKP', crv: 'Ed25519', x: toBase64Url(pk) }, code, what);
  } else if (base.startsWith('ecdsa-sha2-')) {
    const curveName = base.slice('ecdsa-sha2-'.length);
    const curve = SSH_ECDSA_CURVES[curveName as SshCurveName];
    if (!curve) throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unsupported ECDSA curve ${curveName}`);
    if (r.text() !== curveName) r.fail('curve name does not match the key type');
    const q = r.string();
    // RFC 5656 §3.1: Q is an uncompressed point (SEC1 §2.3.3), 0x04 ‖ X ‖ Y.
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4) r.fail('the ECDSA point is not an uncompressed point of the curve');
    key = jwkKey(
      { kty: 'EC', crv: curve.crv, x: toBase64Url(q.subarray(1, 1 + curve.size)), y: toBase64Url(q.subarray(1 + curve.size)) },
      code,
      what,
    );
  } else if (base === 'ssh-rsa') {
    // RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n
    const e = r.mpint();
    const n = r.mpint();
    if (e.length === 0 || n.length === 0) r.fail('RSA key with an empty exponent or modulus');
    key = jwkKey({ kty: 'RSA', n: toBase64Url(n), e: toBase64Url(e) }, code, what);
  } else {
    throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unsupported key type ${type}`);
  }
  if (!certificate) r.end();
  return { type, key, certificate };
}

export function sshPublicKeyFromBlob(blob: Uint8Array, comment?: string): SshPublicKeyInfo {
  const { type, key } = decodeSshPublicKeyBlob(blob);
  const info: SshPublicKeyInfo = { type, blob, key, fingerprint: sshFingerprint(blob) };
  if (comment) info.comment = comment;
  return info;
}

/** Parses one public key line ("ssh-ed25519 AAAA… comment", as in id_ed25519.pub or authorized_keys). */
export function parseSshPublicKey(line: string): SshPublicKeyInfo {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/=]+)(?:[ \t]+([^\r\n]*?))?\s*$/.exec(line);
  if (!m) throw new SignetError('KEY_PARSE_FAILED', 'not an SSH public key line ("<type> <base64> [comment]")');
  const type = m[1] ?? '';
  let blob: Uint8Array;
  try {
    blob = fromBase64(m[2] ?? '', 'SSH public key');
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', 'SSH public key: the key is not valid base64', { cause: e });
  }
  const info = sshPublicKeyFromBlob(blob, m[3] || undefined);
  if (info.type !== type) {
    throw new SignetError('KEY_PARSE_FAILED', `SSH public key: the line says ${type} but the key blob is ${info.type}`);
  }
  return info;
}

function jwkBytes(v: string | undefined, what: string): Uint8Array {
  if (!v) throw new SignetError('INVALID_ARGUMENT', `key has no ${what}`);
  return new Uint8Array(Buffer.from(v, 'base64url'));
}

/** Builds the SSH wire blob for a public key (or the public half of a private key). */
export function sshPublicKeyFromKeyObject(key: KeyObject, comment?: string): SshPublicKeyInfo {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.type !== 'public') throw new SignetError('INVALID_ARGUMENT', 'expected an asymmetric public or private key');
  const jwk = pub.export({ format: 'jwk' });
  let blob: Uint8Array;
  let type: string;
  switch (pub.asymmetricKeyType) {
    case 'ed25519':
      type = 'ssh-ed25519';
      blob = concatBytes(sshString(type), sshString(jwkBytes(jwk.x, 'x')));
      break;
    case 'ec': {
      const entry = Object.entries(SSH_ECDSA_CURVES).find(([, c]) => c.crv === jwk.crv);
      if (!entry) throw new SignetError('UNSUPPORTED_ALGORITHM', `SSH has no ECDSA key type for curve ${String(jwk.crv)}`);
      const [name, curve] = entry;
      type = `ecdsa-sha2-${name}`;
      const x = fixedLength(jwkBytes(jwk.x, 'x'), curve.size);
      const y = fixedLength(jwkBytes(jwk.y, 'y'), curve.size);
      if (!x || !y) throw new SignetError('INVALID_ARGUMENT', 'EC point coordinates do not fit the curve');
      blob = concatBytes(sshString(type), sshString(name), sshString(concatBytes(new Uint8Array([4]), x, y)));
      break;
    }
    case 'rsa':
      type = 'ssh-rsa';
      blob = concatBytes(sshString(type), sshMpint(jwkBytes(jwk.e, 'e')), sshMpint(jwkBytes(jwk.n, 'n')));
      break;
    default:
      throw new SignetError('UNSUPPORTED_ALGORITHM', `SSH keys of type ${String(pub.asymmetricKeyType)} are not supported`);
  }
  const info: SshPublicKeyInfo = { type, blob, key: pub, fingerprint: sshFingerprint(blob) };
  if (comment) info.comment = comment;
  return info;
}

/** "<type> <base64 blob>[ <comment>]", the one-line form of a .pub file. */
export function formatSshPublicKey(info: SshPublicKeyInfo): string {
  const comment = info.comment?.replace(/[\r\n]+/g, ' ').trim();
  return `${info.type} ${toBase64(info.blob)}${comment ? ` ${comment}` : ''}`;
}
