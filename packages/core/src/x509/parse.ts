import { SignetError } from '../errors.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { readChildren, readTlv, type Tlv } from '../encoding/der.js';
import { decodeDirectoryString } from './name.js';
import { OID, decodeOid } from './oids.js';

/** One certificate extension (RFC 5280 §4.1): `value` is the content of extnValue (the DER inside the OCTET STRING). */
export interface Extension {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

/** A GeneralName (RFC 5280 §4.2.1.6) as Signet reads it. */
export interface GeneralName {
  type: 'email' | 'dns' | 'uri' | 'othername' | 'ip' | 'directory' | 'other';
  value: string;
  /** For othername: its type-id. */
  oid?: string;
}

export const KEY_USAGE_FLAGS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageFlag = (typeof KEY_USAGE_FLAGS)[number];

/** Where the parts of a TBSCertificate sit, as offsets into `tbs` (used to re-encode it without some extensions). */
export interface TbsParts {
  /** Offset of the TBSCertificate SEQUENCE's content. */
  contentStart: number;
  /** The [3] EXPLICIT extensions wrapper (start, end) and each Extension TLV inside it; absent without extensions. */
  extensions?: { start: number; end: number; items: { start: number; end: number }[] };
}

export interface ParsedCertificate {
  der: Uint8Array;
  /** The complete TBSCertificate TLV, exactly as signed. */
  tbs: Uint8Array;
  tbsParts: TbsParts;
  /** 1 or 3. */
  version: number;
  /** Positive for conforming certificates; negative serials (seen in old certificates) are read as two's complement. */
  serialNumber: bigint;
  /** Raw DER of the issuer and subject Names. */
  issuer: Uint8Array;
  subject: Uint8Array;
  validity: { notBefore: Date; notAfter: Date };
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  extensions: Extension[];
  /** signatureAlgorithm OID (equal to the TBS signature field, RFC 5280 §4.1.1.2). */
  signatureAlgorithm: string;
  signature: Uint8Array;
  // Decoded standard extensions, when present.
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: KeyUsageFlag[];
  extKeyUsage?: string[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  subjectAltNames?: GeneralName[];
}

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `malformed certificate: ${msg}`);
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) bad(`expected ${what}`);
  return t;
}

/** UTCTime / GeneralizedTime (RFC 5280 §4.1.2.5.1, §4.1.2.5.2): seconds and "Z" required. */
export function decodeTime(buf: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(buf.subarray(t.contentStart, t.end)).toString('latin1');
  let m: RegExpMatchArray | null;
  let year: number;
  if (t.tag === 0x17 && (m = s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === 0x18 && (m = s.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d*[1-9]))?Z$/))) {
    year = Number(m[1]);
  } else bad(`bad time "${s}"`);
  const [mo, d, h, mi, se] = [2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const date = new Date(Date.UTC(year, mo! - 1, d, h, mi, se, ms));
  if (date.getUTCMonth() !== mo! - 1 || date.getUTCDate() !== d || (h as number) > 23 || (mi as number) > 59 || (se as number) > 59) {
    bad(`bad time "${s}"`);
  }
  return date;
}

function readSerial(buf: Uint8Array, t: Tlv): bigint {
  expect(t, 0x02, 'INTEGER serialNumber');
  const len = t.end - t.contentStart;
  if (len === 0) bad('empty serialNumber');
  let v = 0n;
  for (let i = t.contentStart; i < t.end; i++) v = (v << 8n) | BigInt(buf[i] as number);
  if ((buf[t.contentStart] as number) & 0x80) v -= 1n << BigInt(8 * len);
  return v;
}

/** AlgorithmIdentifier → OID (parameters are not interpreted). */
function readAlgorithm(buf: Uint8Array, t: Tlv | undefined): string {
  const seq = expect(t, 0x30, 'AlgorithmIdentifier');
  const [oid] = readChildren(buf, seq);
  return decodeOid(buf, expect(oid, 0x06, 'algorithm OID'));
}

function bitStringContent(buf: Uint8Array, t: Tlv): { unused: number; bytes: Uint8Array } {
  expect(t, 0x03, 'BIT STRING');
  if (t.end === t.contentStart) bad('empty BIT STRING');
  const unused = buf[t.contentStart] as number;
  if (unused > 7 || (unused && t.end - t.contentStart === 1)) bad('bad BIT STRING');
  return { unused, bytes: buf.subarray(t.contentStart + 1, t.end) };
}

function only(buf: Uint8Array, what: string): Tlv {
  const t = readTlv(buf);
  if (t.end !== buf.length) bad(`trailing bytes in ${what}`);
  return t;
}

function decodeBasicConstraints(v: Uint8Array): { ca: boolean; pathLen?: number } {
  const seq = expect(only(v, 'basicConstraints'), 0x30, 'basicConstraints SEQUENCE');
  let ca = false;
  let pathLen: number | undefined;
  for (const c of readChildren(v, seq)) {
    if (c.tag === 0x01) {
      if (c.end - c.contentStart !== 1) bad('bad BOOLEAN');
      ca = v[c.contentStart] !== 0;
    } else if (c.tag === 0x02) {
      const n = readSerial(v, c);
      if (n < 0n || n > 255n) bad('pathLenConstraint out of range');
      pathLen = Number(n);
    } else bad('unexpected element in basicConstraints');
  }
  return pathLen === undefined ? { ca } : { ca, pathLen };
}

function decodeKeyUsage(v: Uint8Array): KeyUsageFlag[] {
  const { bytes } = bitStringContent(v, only(v, 'keyUsage'));
  return KEY_USAGE_FLAGS.filter((_, i) => (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === 1);
}

function decodeExtKeyUsage(v: Uint8Array): string[] {
  const seq = expect(only(v, 'extKeyUsage'), 0x30, 'extKeyUsage SEQUENCE');
  return readChildren(v, seq).map((c) => decodeOid(v, c));
}

function decodeKeyIdentifier(v: Uint8Array, aki: boolean): Uint8Array | undefined {
  const t = only(v, aki ? 'authorityKeyIdentifier' : 'subjectKeyIdentifier');
  if (!aki) return v.slice(expect(t, 0x04, 'OCTET STRING keyIdentifier').contentStart, t.end);
  const kid = readChildren(v, expect(t, 0x30, 'authorityKeyIdentifier SEQUENCE')).find((c) => c.tag === 0x80);
  return kid ? v.slice(kid.contentStart, kid.end) : undefined;
}

function ipString(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) return (Buffer.from(b).toString('hex').match(/.{4}/g) ?? []).join(':');
  return toHex(b);
}

/** Decodes GeneralNames (RFC 5280 §4.2.1.6). */
export function decodeGeneralNames(v: Uint8Array): GeneralName[] {
  const seq = expect(only(v, 'GeneralNames'), 0x30, 'GeneralNames SEQUENCE');
  const latin = (t: Tlv): string => Buffer.from(v.subarray(t.contentStart, t.end)).toString('latin1');
  return readChildren(v, seq).map((g): GeneralName => {
    switch (g.tag) {
      case 0x81:
        return { type: 'email', value: latin(g) };
      case 0x82:
        return { type: 'dns', value: latin(g) };
      case 0x86:
        return { type: 'uri', value: latin(g) };
      case 0x87:
        return { type: 'ip', value: ipString(v.subarray(g.contentStart, g.end)) };
      case 0xa0: {
        // OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY } (IMPLICIT [0] on the SEQUENCE)
        const [typeId, wrapped] = readChildren(v, g);
        const oid = decodeOid(v, expect(typeId, 0x06, 'OtherName type-id'));
        const inner = readChildren(v, expect(wrapped, 0xa0, 'OtherName [0] value'))[0];
        if (!inner) bad('empty OtherName value');
        let value: string;
        try {
          value = decodeDirectoryString(v, inner);
        } catch {
          value = toHex(v.subarray(inner.start, inner.end));
        }
        return { type: 'othername', value, oid };
      }
      case 0xa4:
        return { type: 'directory', value: toHex(v.subarray(g.contentStart, g.end)) };
      default:
        return { type: 'other', value: toHex(v.subarray(g.start, g.end)) };
    }
  });
}

/**
 * Parses a DER certificate (RFC 5280 §4.1) strictly: one SEQUENCE with nothing after it, minimal lengths,
 * matching inner and outer signature algorithms, no duplicate extensions (§4.2). Throws MALFORMED_INPUT otherwise.
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  if (!(der instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'a certificate must be DER bytes');
  const top = readTlv(der);
  if (top.tag !== 0x30) bad('not a SEQUENCE');
  if (top.end !== der.length) bad('trailing bytes after the certificate');
  const [tbsT, algT, sigT, extra] = readChildren(der, top);
  if (extra) bad('too many elements');
  expect(tbsT, 0x30, 'TBSCertificate');
  const tbs = der.slice(tbsT!.start, tbsT!.end);
  const signatureAlgorithm = readAlgorithm(der, algT);
  const sig = bitStringContent(der, expect(sigT, 0x03, 'signatureValue'));
  if (sig.unused) bad('signatureValue has unused bits');

  const root = readTlv(tbs);
  const kids = readChildren(tbs, root);
  let i = 0;
  let version = 1;
  if (kids[0]?.tag === 0xa0) {
    const [v, more] = readChildren(tbs, kids[0]);
    if (!v || more) bad('bad version');
    const n = readSerial(tbs, v);
    if (n !== 1n && n !== 2n) bad(`unsupported version ${n + 1n}`);
    version = Number(n) + 1;
    i = 1;
  }
  const serialNumber = readSerial(tbs, expect(kids[i], 0x02, 'serialNumber'));
  const innerAlg = readAlgorithm(tbs, kids[i + 1]);
  if (innerAlg !== signatureAlgorithm) bad('the TBS signature algorithm differs from the outer one (RFC 5280 §4.1.1.2)');
  const issuerT = expect(kids[i + 2], 0x30, 'issuer Name');
  const validityT = expect(kids[i + 3], 0x30, 'Validity');
  const subjectT = expect(kids[i + 4], 0x30, 'subject Name');
  const spkiT = expect(kids[i + 5], 0x30, 'SubjectPublicKeyInfo');
  const [nb, na, moreV] = readChildren(tbs, validityT);
  if (!nb || !na || moreV) bad('bad Validity');
  const validity = { notBefore: decodeTime(tbs, nb), notAfter: decodeTime(tbs, na) };

  const out: ParsedCertificate = {
    der,
    tbs,
    tbsParts: { contentStart: root.contentStart },
    version,
    serialNumber,
    issuer: tbs.slice(issuerT.start, issuerT.end),
    subject: tbs.slice(subjectT.start, subjectT.end),
    validity,
    spki: tbs.slice(spkiT.start, spkiT.end),
    extensions: [],
    signatureAlgorithm,
    signature: sig.bytes.slice(),
  };

  let rest = kids.slice(i + 6);
  for (const tag of [0x81, 0x82]) if (rest[0]?.tag === tag) rest = rest.slice(1); // issuer/subjectUniqueID
  const extWrap = rest[0];
  if (extWrap) {
    if (extWrap.tag !== 0xa3 || rest.length > 1) bad('unexpected element after subjectPublicKeyInfo');
    if (version !== 3) bad('extensions require version 3');
    const [seq, more] = readChildren(tbs, extWrap);
    if (!seq || more || seq.tag !== 0x30) bad('bad extensions wrapper');
    const items = readChildren(tbs, seq);
    if (items.length === 0) bad('empty extensions (RFC 5280 §4.1.2.9)');
    out.tbsParts.extensions = { start: extWrap.start, end: extWrap.end, items: items.map((t) => ({ start: t.start, end: t.end })) };
    const seen = new Set<string>();
    for (const e of items) {
      const parts = readChildren(tbs, expect(e, 0x30, 'Extension'));
      const oid = decodeOid(tbs, expect(parts[0], 0x06, 'extnID'));
      let critical = false;
      let k = 1;
      if (parts[1]?.tag === 0x01) {
        if (parts[1].end - parts[1].contentStart !== 1 || tbs[parts[1].contentStart] !== 0xff) bad('critical must be DER TRUE when present');
        critical = true;
        k = 2;
      }
      const val = expect(parts[k], 0x04, 'extnValue OCTET STRING');
      if (parts.length !== k + 1) bad('bad Extension');
      if (seen.has(oid)) bad(`duplicate extension ${oid} (RFC 5280 §4.2)`);
      seen.add(oid);
      out.extensions.push({ oid, critical, value: tbs.slice(val.contentStart, val.end) });
    }
  }

  for (const e of out.extensions) {
    switch (e.oid) {
      case OID.basicConstraints:
        out.basicConstraints = decodeBasicConstraints(e.value);
        break;
      case OID.keyUsage:
        out.keyUsage = decodeKeyUsage(e.value);
        break;
      case OID.extKeyUsage:
        out.extKeyUsage = decodeExtKeyUsage(e.value);
        break;
      case OID.subjectKeyIdentifier:
        out.subjectKeyId = decodeKeyIdentifier(e.value, false);
        break;
      case OID.authorityKeyIdentifier: {
        const aki = decodeKeyIdentifier(e.value, true);
        if (aki) out.authorityKeyId = aki;
        break;
      }
      case OID.subjectAltName:
        out.subjectAltNames = decodeGeneralNames(e.value);
        break;
    }
  }
  return out;
}

/** The extension with this OID, if present. */
export function findExtension(cert: ParsedCertificate, oid: string): Extension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/** Reads an extension value that is a DER UTF8String (Fulcio `.8`–`.24`); undefined when it is not one. */
export function derUtf8Value(value: Uint8Array): string | undefined {
  try {
    const t = readTlv(value);
    if (t.tag !== 0x0c || t.end !== value.length) return undefined;
    return fromUtf8(value.subarray(t.contentStart, t.end));
  } catch {
    return undefined;
  }
}
