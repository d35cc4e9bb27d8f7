import { SignetError } from '../errors.js';

/** One DER TLV (ITU-T X.690 §8.1): tag byte, content bounds, and where the next TLV starts. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `malformed DER: ${msg}`);
}

/**
 * Reads one TLV at `offset`, strictly: single-byte tags only (all Signet needs), definite minimal lengths
 * (X.690 §10.1), content within `limit`.
 */
export function readTlv(buf: Uint8Array, offset = 0, limit = buf.length): Tlv {
  if (offset + 2 > limit) bad('truncated header');
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) bad('multi-byte tags are not supported');
  let len = buf[offset + 1] as number;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) bad('indefinite length');
    if (n > 4) bad('length too large');
    if (p + n > limit) bad('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p + i] as number);
    if (buf[p] === 0 || len < 0x80) bad('non-minimal length');
    p += n;
  }
  if (p + len > limit) bad('content runs past the end');
  return { tag, start: offset, contentStart: p, end: p + len };
}

/** Reads the children of a constructed TLV. */
export function readChildren(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.contentStart;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** A DER INTEGER's value as a non-negative bigint (rejects negative and non-minimal encodings). */
export function readUnsignedInteger(buf: Uint8Array, t: Tlv): bigint {
  if (t.tag !== 0x02) bad('expected INTEGER');
  const len = t.end - t.contentStart;
  if (len === 0) bad('empty INTEGER');
  const first = buf[t.contentStart] as number;
  if (first & 0x80) bad('negative INTEGER');
  if (len > 1 && first === 0 && !((buf[t.contentStart + 1] as number) & 0x80)) bad('non-minimal INTEGER');
  let v = 0n;
  for (let i = t.contentStart; i < t.end; i++) v = (v << 8n) | BigInt(buf[i] as number);
  return v;
}
