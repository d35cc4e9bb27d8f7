import { SignetError } from '../errors.js';
import type { Tlv } from '../encoding/der.js';

/** Object identifiers used by the X.509 profile (RFC 5280), CT (RFC 6962) and Fulcio (`docs/oid-info.md`). */
export const OID = {
  // RFC 5280 §4.2.1 certificate extensions
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  // RFC 6962 §3.1 / §3.3
  ctPoison: '1.3.6.1.4.1.11129.2.4.3',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
  // RFC 5280 §4.2.1.12 key purposes
  anyExtendedKeyUsage: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  // Signature algorithms (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3)
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ed25519: '1.3.101.112',
  // Fulcio arc 1.3.6.1.4.1.57264.1
  fulcio: '1.3.6.1.4.1.57264.1',
  fulcioIssuer: '1.3.6.1.4.1.57264.1.1',
  fulcioOtherNameSan: '1.3.6.1.4.1.57264.1.7',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
} as const;

/** Short names for the attribute types used in distinguished names (RFC 4519, RFC 5280 Appendix A). */
export const NAME_ATTRIBUTES: Record<string, string> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  street: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  emailAddress: '1.2.840.113549.1.9.1',
};

const SHORT_BY_OID = new Map(Object.entries(NAME_ATTRIBUTES).map(([k, v]) => [v, k]));

export function attributeShortName(oid: string): string {
  return SHORT_BY_OID.get(oid) ?? oid;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form (X.690 §8.19). */
export function decodeOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06) throw new SignetError('MALFORMED_INPUT', 'malformed DER: expected OBJECT IDENTIFIER');
  if (t.end === t.contentStart) throw new SignetError('MALFORMED_INPUT', 'malformed DER: empty OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let v = 0n;
  let fresh = true;
  for (let i = t.contentStart; i < t.end; i++) {
    const b = buf[i] as number;
    if (fresh && b === 0x80) throw new SignetError('MALFORMED_INPUT', 'malformed DER: non-minimal OID arc');
    v = (v << 7n) | BigInt(b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(v);
      v = 0n;
    }
  }
  if (!fresh) throw new SignetError('MALFORMED_INPUT', 'malformed DER: truncated OID');
  const first = arcs[0] as bigint;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}
