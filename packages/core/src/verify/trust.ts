import { SignetError } from '../errors.js';
import { fromUtf8, looksLikeText } from '../encoding/bytes.js';
import { parsePkixTrust } from '../keys/pkix.js';
import { detectPgp } from '../pgp/detect.js';
import { parseSshTrust } from '../sshsig/index.js';
import { parseMinisignTrust } from '../minisign/index.js';
import type { TrustedKey } from './types.js';

export type TrustKind = 'pkix' | 'pgp' | 'ssh' | 'minisign';

const SSH_KEY = /(^|\s)(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s+AAAA/m;

/** Detects what kind of public key material a file holds. */
export function detectTrustKind(data: Uint8Array): TrustKind | undefined {
  const pgp = detectPgp(data);
  if (pgp === 'armored-key' || pgp === 'binary-key') return 'pgp';
  if (!looksLikeText(data)) return undefined;
  const text = fromUtf8(data);
  if (text.includes('-----BEGIN ')) {
    if (/-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)-----/.test(text)) return 'pkix';
    return undefined;
  }
  if (SSH_KEY.test(text)) return 'ssh';
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const b64 = lines.find((l) => !l.startsWith('untrusted comment:'))?.trim() ?? '';
  if (/^RW[A-Za-z0-9+/]{54}$/.test(b64)) return 'minisign';
  return undefined;
}

/**
 * Reads public key material of any supported kind: PEM public keys and certificates (cosign .pub), OpenPGP
 * keys and keyrings (armored or binary), SSH public keys and allowed_signers files, minisign and signify
 * public keys. Private keys are refused with a message pointing at the public half.
 */
export function parseTrustMaterial(data: Uint8Array, name?: string): TrustedKey[] {
  const kind = detectTrustKind(data);
  const text = looksLikeText(data) ? fromUtf8(data) : '';
  switch (kind) {
    case 'pkix':
      return parsePkixTrust(text, name);
    case 'pgp':
      return [{ kind: 'pgp', data, ...(name ? { name } : {}) }];
    case 'ssh':
      return parseSshTrust(text, name);
    case 'minisign':
      return [parseMinisignTrust(text, name)];
    default:
      if (/PRIVATE KEY-----|PGP PRIVATE KEY BLOCK|^untrusted comment: .*secret key/m.test(text)) {
        throw new SignetError('INVALID_ARGUMENT', 'this is a private key; verification takes the public key');
      }
      throw new SignetError(
        'KEY_PARSE_FAILED',
        'unrecognised public key: expected a PEM public key or certificate, an OpenPGP key or keyring, an SSH public key or allowed_signers file, or a minisign/signify public key',
      );
  }
}
