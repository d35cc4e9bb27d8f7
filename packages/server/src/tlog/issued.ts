import { createHash, createPublicKey, verify } from 'node:crypto';
import { OID, bytesEqual, parseCertificate, type ParsedCertificate } from '@signet/core';
import type { SharedDigestSet } from '../workers/digest-set.js';

/** Leeway for clock differences when judging whether a short-lived certificate is current. */
const SKEW_MS = 60_000;

/** The hash of each ECDSA certificate signature algorithm (RFC 5758 §3.2). */
const ECDSA_HASH: Record<string, string> = { [OID.ecdsaWithSha256]: 'sha256', [OID.ecdsaWithSha384]: 'sha384', [OID.ecdsaWithSha512]: 'sha512' };

/**
 * A predicate: was this certificate issued by the given ECDSA CA certificate (DER), and is it valid now? The log
 * uses it (in its verifier workers) to let keyless clients, which hold no Signet API token, log entries signed
 * with the server's own CA certificates. The signature over the TBSCertificate (RFC 5280 §4.1.1.3) is the proof;
 * the issuer name must equal the CA's subject byte for byte, as the CA writes it.
 *
 * `issued`, when given, holds the SHA-256 digests of certificates this process's CA signed with that CA's key
 * (workers/digest-set.ts): a certificate whose whole DER is among them is known to carry the CA's signature, so
 * the ECDSA verification (about 0.1 ms, the largest part of this check) is skipped. Its issuer name and validity
 * are still checked; a certificate the set does not know is verified as before.
 */
export function issuedBy(caDer: Uint8Array, issued?: SharedDigestSet): (cert: ParsedCertificate, now?: Date) => boolean {
  const ca = parseCertificate(caDer);
  const caKey = createPublicKey({ key: Buffer.from(ca.spki), format: 'der', type: 'spki' });
  if (caKey.asymmetricKeyType !== 'ec') throw new Error('issuedBy: the CA key must be an ECDSA key');
  return (cert, now = new Date()) => {
    if (!bytesEqual(cert.issuer, ca.subject)) return false;
    const t = now.getTime();
    if (t + SKEW_MS < cert.validity.notBefore.getTime() || t - SKEW_MS > cert.validity.notAfter.getTime()) return false;
    const hash = ECDSA_HASH[cert.signatureAlgorithm];
    if (!hash) return false;
    if (issued?.has(createHash('sha256').update(cert.der).digest())) return true;
    try {
      return verify(hash, cert.tbs, caKey, cert.signature);
    } catch {
      return false;
    }
  };
}
