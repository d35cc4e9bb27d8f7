import { X509Certificate } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { readChildren, readTlv } from '../encoding/der.js';
import { parseCertificate as parseX509, type Extension, type ParsedCertificate } from '../x509/parse.js';

/**
 * The certificate view the TSA code works with: the strict X.509 parser's result (src/x509) plus what
 * CMS needs byte for byte — the serialNumber TLV of IssuerAndSerialNumber — and node:crypto's
 * X509Certificate for signatures and public keys.
 */
export interface TsaCertificate {
  der: Uint8Array;
  parsed: ParsedCertificate;
  x509: X509Certificate;
  /** The serialNumber INTEGER, complete TLV (compared byte for byte, as in IssuerAndSerialNumber). */
  serial: Uint8Array;
  /** Issuer and subject Name, complete TLVs. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: Extension[];
  /** The subject in one line, for messages. */
  name: string;
}

export function parseCertificate(der: Uint8Array): TsaCertificate {
  let parsed: ParsedCertificate;
  let x509: X509Certificate;
  try {
    parsed = parseX509(der);
    x509 = new X509Certificate(Buffer.from(der));
  } catch (e) {
    throw new SignetError('MALFORMED_INPUT', `X.509 certificate: ${(e as Error).message}`);
  }
  // RFC 5280 §4.1: TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, ... }
  const fields = readChildren(parsed.tbs, readTlv(parsed.tbs));
  const serialT = fields[fields[0]?.tag === 0xa0 ? 1 : 0]!;
  return {
    der: Uint8Array.from(der),
    parsed,
    x509,
    serial: parsed.tbs.slice(serialT.start, serialT.end),
    issuer: parsed.issuer,
    subject: parsed.subject,
    notBefore: parsed.validity.notBefore,
    notAfter: parsed.validity.notAfter,
    extensions: parsed.extensions,
    name: x509.subject.replace(/\n/g, ', '),
  };
}

/** The serial number in hex, for messages. */
export const serialHex = (serialTlv: Uint8Array): string => toHex(serialTlv.subarray(2)).replace(/^(00)+(?=.)/, '');

export function extension(cert: TsaCertificate, oid: string): Extension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/** The extendedKeyUsage purposes (RFC 5280 §4.2.1.12), as the X.509 parser decoded them. */
export function extendedKeyUsage(cert: TsaCertificate): string[] {
  return cert.parsed.extKeyUsage ?? [];
}

/** BasicConstraints (RFC 5280 §4.2.1.9); absent means not a CA. */
export function basicConstraints(cert: TsaCertificate): { ca: boolean; pathLen?: number } {
  return cert.parsed.basicConstraints ?? { ca: false };
}

/** KeyUsage keyCertSign (RFC 5280 §4.2.1.3); undefined when the certificate has no keyUsage. */
export function hasKeyCertSign(cert: TsaCertificate): boolean | undefined {
  return cert.parsed.keyUsage ? cert.parsed.keyUsage.includes('keyCertSign') : undefined;
}

/** The subjectKeyIdentifier value (RFC 5280 §4.2.1.2), when present. */
export function subjectKeyIdentifier(cert: TsaCertificate): Uint8Array | undefined {
  return cert.parsed.subjectKeyId;
}

export const sameCert = (a: TsaCertificate, b: TsaCertificate): boolean => a.der.length === b.der.length && bytesEqual(a.der, b.der);

/** Self-issued (subject = issuer) and signed by its own key. */
export function isSelfSigned(c: TsaCertificate): boolean {
  return bytesEqual(c.subject, c.issuer) && c.x509.verify(c.x509.publicKey);
}
