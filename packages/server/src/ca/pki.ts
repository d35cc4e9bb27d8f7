import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  bytesEqual,
  decodeName,
  keyIdentifier,
  keyUsage,
  randomSerial,
  subjectKeyIdentifier,
  type Extension,
  type Name,
  describeKey,
  generateKeyPair,
  parseCertificate,
  pkcs8Der,
  privateKeyFromPkcs8,
  spkiDer,
  type KeyKind,
  type ParsedCertificate,
} from '@signet/core';
import type { SecretStore } from '../storage/secrets.js';

/**
 * Helpers for the server's own PKI (the keyless CA and the TSA): keys and certificates made once at first start
 * and sealed in the SecretStore. Every step is "read; if absent generate, putIfAbsent, and use what is stored",
 * so servers racing on one database converge on the same material, and a start interrupted halfway resumes
 * from what was stored.
 */

export const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Now, truncated to the second (certificate times carry seconds only). */
export function nowSeconds(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

/** A sealed private key of `kind` under `name`, generated at first use. */
export async function sealedKey(secrets: SecretStore, name: string, kind: KeyKind): Promise<KeyObject> {
  let der = await secrets.get(name);
  if (!der) der = await secrets.putIfAbsent(name, pkcs8Der((await generateKeyPair(kind)).privateKey));
  const key = privateKeyFromPkcs8(der);
  if (describeKey(key) !== kind) throw new Error(`secret "${name}" holds a ${describeKey(key)} key where ${kind} was expected`);
  return key;
}

export interface StoredCertificate {
  der: Uint8Array;
  parsed: ParsedCertificate;
  x509: X509Certificate;
}

/**
 * A sealed certificate under `name` certifying `key`, made with `make` at first use. Throws when the stored
 * certificate is for another key (a corrupted or hand-edited store must not be served).
 */
export async function sealedCertificate(secrets: SecretStore, name: string, key: KeyObject, make: () => Promise<Uint8Array>): Promise<StoredCertificate> {
  let der = await secrets.get(name);
  if (!der) der = await secrets.putIfAbsent(name, await make());
  const parsed = parseCertificate(der);
  if (!bytesEqual(parsed.spki, spkiDer(key))) throw new Error(`the certificate stored as "${name}" does not certify the stored key`);
  return { der, parsed, x509: new X509Certificate(Buffer.from(der)) };
}

export interface SealedPair {
  key: KeyObject;
  cert: StoredCertificate;
}

/**
 * A self-signed ECDSA P-384 root CA (O=signet, CN=`commonName`, 10 years, certSign + cRLSign, no EKU) under
 * `<prefix>/root-key` and `<prefix>/root-cert`, made at first use.
 */
export async function sealedRoot(
  secrets: SecretStore,
  o: { prefix: string; commonName: string; pathLen: number; now: Date; onCreate?: () => void },
): Promise<SealedPair> {
  const key = await sealedKey(secrets, `${o.prefix}/root-key`, 'ecdsa-p384');
  const name: Name = [
    ['O', 'signet'],
    ['CN', o.commonName],
  ];
  const cert = await sealedCertificate(secrets, `${o.prefix}/root-cert`, key, async () => {
    o.onCreate?.();
    return buildCertificate({
      serialNumber: randomSerial(),
      subject: name,
      issuer: name,
      notBefore: o.now,
      notAfter: new Date(o.now.getTime() + 10 * YEAR_MS),
      publicKey: key,
      extensions: [basicConstraints(true, o.pathLen), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(key)],
      signingKey: key,
    });
  });
  assertSignedBy(cert, cert, `${o.prefix} root certificate`);
  return { key, cert };
}

/**
 * An ECDSA P-256 key and its certificate signed by `root` (O=signet, CN=`commonName`, SKI and AKI added to
 * `extensions`), made at first use; valid from `now` until `notAfter`, never past the root.
 */
export async function sealedIssued(
  secrets: SecretStore,
  root: SealedPair,
  o: { keyName: string; certName: string; commonName: string; now: Date; notAfter?: Date; extensions: Extension[]; onCreate?: () => void },
): Promise<SealedPair> {
  const key = await sealedKey(secrets, o.keyName, 'ecdsa-p256');
  const rootEnd = root.cert.parsed.validity.notAfter;
  const cert = await sealedCertificate(secrets, o.certName, key, async () => {
    o.onCreate?.();
    return buildCertificate({
      serialNumber: randomSerial(),
      subject: [
        ['O', 'signet'],
        ['CN', o.commonName],
      ],
      // The root as stored (another server may have made it, under its own host name).
      issuer: decodeName(root.cert.parsed.subject),
      notBefore: o.now,
      notAfter: o.notAfter && o.notAfter < rootEnd ? o.notAfter : rootEnd,
      publicKey: key,
      extensions: [...o.extensions, subjectKeyIdentifier(key), authorityKeyIdentifier(root.cert.parsed.subjectKeyId ?? keyIdentifier(root.key))],
      signingKey: root.key,
    });
  });
  assertSignedBy(cert, root.cert, o.certName);
  return { key, cert };
}

/** Throws unless `child` is signed by `issuer` (a stored chain must verify before it is served). */
export function assertSignedBy(child: StoredCertificate, issuer: StoredCertificate, what: string): void {
  let ok = false;
  try {
    ok = child.x509.verify(createPublicKey({ key: Buffer.from(issuer.parsed.spki), format: 'der', type: 'spki' }));
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`the stored ${what} is not signed by its issuer; the stored PKI is inconsistent`);
}

/** The host part of the base URL, for certificate subjects. */
export function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).hostname.replace(/^\[|\]$/g, '') || 'signet';
  } catch {
    return 'signet';
  }
}
