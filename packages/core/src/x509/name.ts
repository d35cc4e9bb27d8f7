import { SignetError } from '../errors.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { readChildren, readTlv, type Tlv } from '../encoding/der.js';
import { derIa5String, derOid, derPrintableString, derSequence, derSetOf, derUtf8String } from '../encoding/der-writer.js';
import { NAME_ATTRIBUTES, attributeShortName, decodeOid } from './oids.js';

/**
 * A distinguished name as a list of RDNs, each one [attribute, value]: the attribute is a dotted OID or one
 * of the short names in NAME_ATTRIBUTES (CN, O, OU, C, L, ST, serialNumber, emailAddress). An empty list is
 * the empty Name (Fulcio leaves have an empty subject).
 */
export type Name = ReadonlyArray<readonly [string, string]>;

/**
 * Encodes a Name (RFC 5280 §4.1.2.4): each RDN a SET of one AttributeTypeAndValue. Values are UTF8String,
 * except countryName and serialNumber (PrintableString, RFC 5280 Appendix A) and emailAddress (IA5String).
 */
export function encodeName(name: Name): Uint8Array {
  return derSequence(
    ...name.map(([attr, value]) => {
      const oid = NAME_ATTRIBUTES[attr] ?? attr;
      if (!/^\d+(\.\d+)+$/.test(oid)) throw new SignetError('INVALID_ARGUMENT', `unknown name attribute "${attr}"`);
      let v: Uint8Array;
      if (oid === NAME_ATTRIBUTES['C']) {
        if (value.length !== 2) throw new SignetError('INVALID_ARGUMENT', 'countryName must be two letters (RFC 5280 Appendix A)');
        v = derPrintableString(value);
      } else if (oid === NAME_ATTRIBUTES['serialNumber']) v = derPrintableString(value);
      else if (oid === NAME_ATTRIBUTES['emailAddress']) v = derIa5String(value);
      else v = derUtf8String(value);
      return derSetOf(derSequence(derOid(oid), v));
    }),
  );
}

/** Decodes a DirectoryString-like value: UTF8String, PrintableString, IA5String, TeletexString (as Latin-1), BMPString. */
export function decodeDirectoryString(buf: Uint8Array, t: Tlv): string {
  const c = buf.subarray(t.contentStart, t.end);
  switch (t.tag) {
    case 0x0c:
      try {
        return fromUtf8(c);
      } catch {
        throw new SignetError('MALFORMED_INPUT', 'malformed DER: invalid UTF8String');
      }
    case 0x13:
    case 0x16:
    case 0x14:
      return Buffer.from(c).toString('latin1');
    case 0x1e: {
      if (c.length % 2) throw new SignetError('MALFORMED_INPUT', 'malformed DER: odd-length BMPString');
      let s = '';
      for (let i = 0; i < c.length; i += 2) s += String.fromCharCode(((c[i] as number) << 8) | (c[i + 1] as number));
      return s;
    }
    default:
      throw new SignetError('MALFORMED_INPUT', `malformed DER: unsupported string tag 0x${t.tag.toString(16)}`);
  }
}

/** Parses a Name's DER into [attribute short name or OID, value] pairs, in order. */
export function decodeName(der: Uint8Array): Array<[string, string]> {
  const top = readTlv(der);
  if (top.tag !== 0x30 || top.end !== der.length) throw new SignetError('MALFORMED_INPUT', 'malformed DER: a Name must be one SEQUENCE');
  const out: Array<[string, string]> = [];
  for (const rdn of readChildren(der, top)) {
    if (rdn.tag !== 0x31) throw new SignetError('MALFORMED_INPUT', 'malformed DER: an RDN must be a SET');
    for (const atv of readChildren(der, rdn)) {
      const [type, value] = readChildren(der, atv);
      if (atv.tag !== 0x30 || !type || !value) throw new SignetError('MALFORMED_INPUT', 'malformed DER: bad AttributeTypeAndValue');
      out.push([attributeShortName(decodeOid(der, type)), decodeDirectoryString(der, value)]);
    }
  }
  return out;
}

/** A readable form of a Name's DER, e.g. "CN=sigstore, O=sigstore.dev"; "(empty)" for the empty Name. */
export function nameToString(der: Uint8Array): string {
  try {
    const parts = decodeName(der);
    return parts.length ? parts.map(([k, v]) => `${k}=${v}`).join(', ') : '(empty)';
  } catch {
    return '(unreadable name)';
  }
}
