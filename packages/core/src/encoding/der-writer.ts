import { SignetError } from '../errors.js';
import { concatBytes, utf8 } from './bytes.js';

/**
 * A strict DER writer (ITU-T X.690 §10): definite minimal lengths, minimal INTEGERs, SET OF sorted.
 * Each function returns the complete TLV bytes.
 */

function lengthBytes(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.of(0x80 | out.length, ...out);
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(tag), lengthBytes(content.length), content);
}

export const derSequence = (...items: Uint8Array[]): Uint8Array => tlv(0x30, concatBytes(...items));

/** SET OF: elements sorted by their encodings (X.690 §11.6). */
export function derSetOf(...items: Uint8Array[]): Uint8Array {
  const sorted = [...items].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return tlv(0x31, concatBytes(...sorted));
}

/** INTEGER from a non-negative bigint/number, or from unsigned big-endian bytes. */
export function derInteger(v: bigint | number | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (v instanceof Uint8Array) {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    bytes = v.subarray(i);
    if (bytes.length === 0) bytes = Uint8Array.of(0);
  } else {
    let b = BigInt(v);
    if (b < 0n) throw new SignetError('INVALID_ARGUMENT', 'negative INTEGERs are not supported');
    const hex = b.toString(16);
    bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  }
  if ((bytes[0] as number) & 0x80) bytes = concatBytes(Uint8Array.of(0), bytes);
  return tlv(0x02, bytes);
}

export const derBoolean = (b: boolean): Uint8Array => tlv(0x01, Uint8Array.of(b ? 0xff : 0x00));
export const derNull = (): Uint8Array => Uint8Array.of(0x05, 0x00);
export const derOctetString = (b: Uint8Array): Uint8Array => tlv(0x04, b);
/** BIT STRING with 0 unused bits (keys, signatures) unless given. */
export const derBitString = (b: Uint8Array, unused = 0): Uint8Array => tlv(0x03, concatBytes(Uint8Array.of(unused), b));
export const derUtf8String = (s: string): Uint8Array => tlv(0x0c, utf8(s));
export const derIa5String = (s: string): Uint8Array => tlv(0x16, utf8(s));
export const derPrintableString = (s: string): Uint8Array => {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s)) throw new SignetError('INVALID_ARGUMENT', `"${s}" is not a PrintableString`);
  return tlv(0x13, utf8(s));
};

/** OBJECT IDENTIFIER from dotted form (X.690 §8.19). */
export function derOid(oid: string): Uint8Array {
  const parts = oid.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new SignetError('INVALID_ARGUMENT', `bad OID "${oid}"`);
    return BigInt(p);
  });
  if (parts.length < 2) throw new SignetError('INVALID_ARGUMENT', `bad OID "${oid}"`);
  const arcs = [parts[0]! * 40n + parts[1]!, ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** UTCTime for years 1950–2049, else GeneralizedTime, as RFC 5280 §4.1.2.5 requires for validity. */
export function derTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050 ? derUtcTime(d) : derGeneralizedTime(d);
}

export function derUtcTime(d: Date): Uint8Array {
  const s = `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(0x17, utf8(s));
}

/** GeneralizedTime in UTC; milliseconds are written (without trailing zeros) only when `fraction` is set. */
export function derGeneralizedTime(d: Date, fraction = false): Uint8Array {
  let s = `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  const ms = d.getUTCMilliseconds();
  if (fraction && ms) s += `.${pad(ms, 3).replace(/0+$/, '')}`;
  return tlv(0x18, utf8(`${s}Z`));
}

/** [n] EXPLICIT: a constructed context-specific tag wrapping a complete TLV. */
export const derExplicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner);

/** [n] IMPLICIT: replaces the tag of `inner` (keeping its constructed bit unless told). */
export function derImplicit(n: number, inner: Uint8Array, constructed?: boolean): Uint8Array {
  const c = constructed ?? ((inner[0] as number) & 0x20) !== 0;
  const out = Uint8Array.from(inner);
  out[0] = (c ? 0xa0 : 0x80) | n;
  return out;
}
