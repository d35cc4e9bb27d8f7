import { X509Certificate } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { readTlv } from '../encoding/der.js';
import { OID, children, content, expectTag, malformed, readBoolean, readInteger, readOid, readTime, readTop, whole } from './asn1.js';
import { readExtensions, type TsaExtension } from './request.js';

/**
 * The few fields of an X.509 certificate (RFC 5280 §4.1) the TSA code needs, read with the strict DER
 * reader; signatures and public keys go through node:crypto's X509Certificate.
 */
export interface TsaCertificate {
  der: Uint8Array;
  x509: X509Certificate;
  /** The serialNumber INTEGER, complete TLV (compared byte for byte, as in IssuerAndSerialNumber). */
  serial: Uint8Array;
  /** Issuer and subject Name, complete TLVs. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: TsaExtension[];
  /** The subject in one line, for messages. */
  name: string;
}

const WHAT = 'X.509 certificate';

export function parseCertificate(der: Uint8Array): TsaCertificate {
  const top = readTop(der, WHAT);
  const [tbsT] = children(der, top);
  const tbs = children(der, expectTag(tbsT, 0x30, `${WHAT} tbsCertificate`));
  let i = 0;
  if (tbs[i]?.tag === 0xa0) i++;
  const serialT = expectTag(tbs[i++], 0x02, `${WHAT} serialNumber`);
  expectTag(tbs[i++], 0x30, `${WHAT} signature`);
  const issuerT = expectTag(tbs[i++], 0x30, `${WHAT} issuer`);
  const validity = children(der, expectTag(tbs[i++], 0x30, `${WHAT} validity`));
  const subjectT = expectTag(tbs[i++], 0x30, `${WHAT} subject`);
  expectTag(tbs[i++], 0x30, `${WHAT} subjectPublicKeyInfo`);
  let extensions: TsaExtension[] = [];
  for (; i < tbs.length; i++) {
    const t = tbs[i]!;
    if (t.tag === 0xa3) {
      const inner = readTlv(der, t.contentStart, t.end);
      if (inner.end !== t.end) malformed(WHAT, 'trailing bytes in extensions');
      extensions = readExtensions(der, expectTag(inner, 0x30, `${WHAT} extensions`), `${WHAT} extension`);
    }
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(Buffer.from(der));
  } catch (e) {
    throw new SignetError('MALFORMED_INPUT', `${WHAT}: ${(e as Error).message}`);
  }
  return {
    der: Uint8Array.from(der),
    x509,
    serial: Uint8Array.from(whole(der, serialT)),
    issuer: Uint8Array.from(whole(der, issuerT)),
    subject: Uint8Array.from(whole(der, subjectT)),
    notBefore: readTime(der, validity[0], `${WHAT} notBefore`),
    notAfter: readTime(der, validity[1], `${WHAT} notAfter`),
    extensions,
    name: x509.subject.replace(/\n/g, ', '),
  };
}

/** The serial number in hex, for messages. */
export const serialHex = (serialTlv: Uint8Array): string => toHex(serialTlv.subarray(2)).replace(/^(00)+(?=.)/, '');

export function extension(cert: TsaCertificate, oid: string): TsaExtension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (RFC 5280 §4.2.1.12). */
export function extendedKeyUsage(ext: TsaExtension): string[] {
  const t = readTop(ext.value, 'extendedKeyUsage');
  return children(ext.value, t).map((o) => readOid(ext.value, o, 'extendedKeyUsage'));
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } (RFC 5280 §4.2.1.9). */
export function basicConstraints(cert: TsaCertificate): { ca: boolean; pathLen?: number } {
  const ext = extension(cert, OID.basicConstraints);
  if (!ext) return { ca: false };
  const v = ext.value;
  const fields = children(v, readTop(v, 'basicConstraints'));
  let i = 0;
  const ca = fields[i]?.tag === 0x01 ? readBoolean(v, fields[i++]!, 'basicConstraints cA') : false;
  if (fields[i]) return { ca, pathLen: Number(readInteger(v, fields[i], 'basicConstraints pathLenConstraint')) };
  return { ca };
}

/** KeyUsage keyCertSign is bit 5 (RFC 5280 §4.2.1.3); undefined when the certificate has no keyUsage. */
export function hasKeyCertSign(cert: TsaCertificate): boolean | undefined {
  const ext = extension(cert, OID.keyUsage);
  if (!ext) return undefined;
  const bits = content(ext.value, readTop(ext.value, 'keyUsage', 0x03));
  return bits.length >= 2 && ((bits[1] as number) & 0x04) !== 0;
}

/** The subjectKeyIdentifier value (RFC 5280 §4.2.1.2), when present. */
export function subjectKeyIdentifier(cert: TsaCertificate): Uint8Array | undefined {
  const ext = extension(cert, OID.subjectKeyIdentifier);
  return ext ? content(ext.value, readTop(ext.value, 'subjectKeyIdentifier', 0x04)) : undefined;
}

export const sameCert = (a: TsaCertificate, b: TsaCertificate): boolean => a.der.length === b.der.length && bytesEqual(a.der, b.der);

/** Self-issued (subject = issuer) and signed by its own key. */
export function isSelfSigned(c: TsaCertificate): boolean {
  return bytesEqual(c.subject, c.issuer) && c.x509.verify(c.x509.publicKey);
}
