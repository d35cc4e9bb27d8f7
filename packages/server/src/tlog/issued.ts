import { X509Certificate } from 'node:crypto';

/** Leeway for clock differences when judging whether a short-lived certificate is current. */
const SKEW_MS = 60_000;

/**
 * A predicate: was this PEM certificate issued by the given CA certificate (DER), and is it valid now? The log
 * uses it (in its verifier workers) to let keyless clients, which hold no Signet API token, log entries signed
 * with the server's own CA certificates. The signature check is the proof; the issuer-name check only avoids
 * needless verifications.
 */
export function issuedBy(intermediateDer: Uint8Array): (pem: string, now?: Date) => boolean {
  const inter = new X509Certificate(intermediateDer);
  return (pem, now = new Date()) => {
    try {
      const cert = new X509Certificate(pem);
      if (cert.issuer !== inter.subject) return false;
      const t = now.getTime();
      if (t + SKEW_MS < Date.parse(cert.validFrom) || t - SKEW_MS > Date.parse(cert.validTo)) return false;
      return cert.verify(inter.publicKey);
    } catch {
      return false;
    }
  };
}
