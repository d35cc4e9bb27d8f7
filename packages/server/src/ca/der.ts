import { derOid, type Extension } from '@signet/core';

/**
 * A DER writer for the issuance hot path. Core's der-writer copies every TLV into a fresh array as it nests it,
 * which is simple and right but costs a few microseconds per TLV; a leaf certificate has about a hundred. Here a
 * constructed value is a node that only records its children and content length, and the whole tree is written
 * into one buffer at the end. Leaves are complete TLVs (from core's writer or cached), so the encoding rules (minimal
 * lengths, X.690 §10) are the same; tests compare the output with core's parser and with openssl.
 */
export type DerNode = Uint8Array | Constructed;

interface Constructed {
  tag: number;
  kids: DerNode[];
  /** Content length. */
  len: number;
}

function headerLen(len: number): number {
  return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : len < 0x1000000 ? 5 : 6;
}

export function sizeOf(n: DerNode): number {
  return n instanceof Uint8Array ? n.length : headerLen(n.len) + n.len;
}

/** A constructed (or, for OCTET STRING / BIT STRING wrappers, primitive) TLV around `kids`. */
export function node(tag: number, ...kids: DerNode[]): Constructed {
  let len = 0;
  for (const k of kids) len += sizeOf(k);
  return { tag, kids, len };
}

export const seq = (...kids: DerNode[]): Constructed => node(0x30, ...kids);

function write(n: DerNode, buf: Uint8Array, off: number): number {
  if (n instanceof Uint8Array) {
    buf.set(n, off);
    return off + n.length;
  }
  buf[off++] = n.tag;
  const len = n.len;
  if (len < 0x80) buf[off++] = len;
  else {
    const bytes = len < 0x100 ? 1 : len < 0x10000 ? 2 : len < 0x1000000 ? 3 : 4;
    buf[off++] = 0x80 | bytes;
    for (let i = bytes - 1; i >= 0; i--) buf[off++] = (len >>> (8 * i)) & 0xff;
  }
  for (const k of n.kids) off = write(k, buf, off);
  return off;
}

/**
 * Writes a tree into one new buffer. Small buffers come from Node's shared pool unless `own` asks for a buffer with
 * its own ArrayBuffer (one that may be transferred to another thread).
 */
export function encode(n: DerNode, own = false): Uint8Array {
  if (n instanceof Uint8Array && !own) return n;
  const out = own ? Buffer.allocUnsafeSlow(sizeOf(n)) : Buffer.allocUnsafe(sizeOf(n));
  write(n, out, 0);
  return out;
}

const oidCache = new Map<string, Uint8Array>();

/** An OBJECT IDENTIFIER TLV, encoded once per OID. */
export function oid(dotted: string): Uint8Array {
  let d = oidCache.get(dotted);
  if (!d) {
    d = derOid(dotted);
    if (oidCache.size < 4096) oidCache.set(dotted, d);
  }
  return d;
}

const TRUE = Uint8Array.of(0x01, 0x01, 0xff);

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (written only when TRUE), extnValue OCTET STRING } */
export function extension(e: Extension): Constructed {
  return e.critical ? seq(oid(e.oid), TRUE, node(0x04, e.value)) : seq(oid(e.oid), node(0x04, e.value));
}

/** A minimal, positive DER INTEGER from unsigned big-endian bytes. */
export function unsignedInteger(b: Uint8Array): Constructed {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return (v[0] as number) & 0x80 ? node(0x02, Uint8Array.of(0), v) : node(0x02, v);
}
