import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignetError, decryptCosignKey, isCosignEncryptedKey, privateKeyFromPkcs8 } from '@signet/core';
import { parseSshPrivateKey, parseMinisignSecretKey, parseSignifySecretKey } from '@signet/core';
import { CliError } from './errors.js';
import { readText } from './io.js';
import { getPassword, passwordFromEnv } from './password.js';

export type SigningKey =
  | { kind: 'pkix'; privateKey: KeyObject; publicKey: KeyObject }
  | { kind: 'pgp'; armored: string; passphrase?: string }
  | { kind: 'ssh'; privateKey: KeyObject }
  | { kind: 'minisign'; secretKey: Awaited<ReturnType<typeof parseMinisignSecretKey>> }
  | { kind: 'signify'; secretKey: Awaited<ReturnType<typeof parseSignifySecretKey>> };

/**
 * Loads a private key file of any kind Signet signs with: cosign's encrypted key (password from
 * SIGNET_PASSWORD / COSIGN_PASSWORD / terminal), an unencrypted or encrypted PKCS#8 PEM, an OpenPGP
 * secret key, an OpenSSH private key, or a minisign / signify secret key.
 */
export async function loadSigningKey(path: string): Promise<SigningKey> {
  const text = await readText(path, 'key file');
  try {
    if (isCosignEncryptedKey(text)) {
      const password = await getPassword({ confirm: false, purpose: `decrypt ${path}` });
      const privateKey = privateKeyFromPkcs8(await decryptCosignKey(text, password));
      return { kind: 'pkix', privateKey, publicKey: createPublicKey(privateKey) };
    }
    if (text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) {
      const passphrase = passwordFromEnv();
      return { kind: 'pgp', armored: text, ...(passphrase !== undefined ? { passphrase } : {}) };
    }
    if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
      return { kind: 'ssh', privateKey: parseSshPrivateKey(text).privateKey };
    }
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
      const passphrase = await getPassword({ confirm: false, purpose: `decrypt ${path}` });
      const privateKey = createPrivateKey({ key: text, format: 'pem', passphrase });
      return { kind: 'pkix', privateKey, publicKey: createPublicKey(privateKey) };
    }
    if (/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(text)) {
      const privateKey = createPrivateKey({ key: text, format: 'pem' });
      return { kind: 'pkix', privateKey, publicKey: createPublicKey(privateKey) };
    }
    if (text.startsWith('untrusted comment:')) {
      if (/signify/i.test(text.split('\n')[0] ?? '')) return { kind: 'signify', secretKey: await parseSignifySecretKey(text) };
      try {
        return { kind: 'minisign', secretKey: await parseMinisignSecretKey(text, passwordFromEnv()) };
      } catch (e) {
        if (e instanceof SignetError && e.code !== 'KEY_PARSE_FAILED') throw e;
        return { kind: 'signify', secretKey: await parseSignifySecretKey(text) };
      }
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof SignetError) throw new CliError(`${path}: ${e.message}`);
    throw new CliError(`${path}: the private key cannot be read (${(e as Error).message.split('\n')[0]})`);
  }
  if (/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----|^ssh-|PGP PUBLIC KEY/m.test(text)) {
    throw new CliError(`${path} is a public key; signing needs the private key`);
  }
  throw new CliError(
    `${path}: unrecognised private key (expected a cosign key, PKCS#8 PEM, OpenPGP secret key, OpenSSH private key, or minisign/signify secret key)`,
  );
}
