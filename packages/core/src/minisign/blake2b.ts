import { SignetError } from '../errors.js';

/**
 * BLAKE2b (RFC 7693) with any output length 1..64 and an optional key of up to 64 bytes.
 * Node's createHash offers only the 64-byte 'blake2b512'; minisign's secret key checksum needs
 * BLAKE2b-256, whose parameter block (digest length) differs, so it is not a truncation.
 *
 * 64-bit words are held as (low, high) pairs of uint32 in a Uint32Array: word i is at [2i, 2i+1].
 */

// RFC 7693 §2.6: IV = first 64 bits of the fractional parts of the square roots of the first 8 primes (as SHA-512).
const IV = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

// RFC 7693 §2.7: message word schedule SIGMA; rounds 10 and 11 reuse rows 0 and 1.
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/** v[a] += v[b] + m[x] for word indexes a, b and message word x (all mod 2^64). */
function add3(v: Uint32Array, a: number, b: number, m: Uint32Array, x: number): void {
  const lo = v[2 * a]! + v[2 * b]! + m[2 * x]!;
  const hi = v[2 * a + 1]! + v[2 * b + 1]! + m[2 * x + 1]! + Math.floor(lo / 0x100000000);
  v[2 * a] = lo;
  v[2 * a + 1] = hi;
}

/** v[a] += v[b] (mod 2^64). */
function add2(v: Uint32Array, a: number, b: number): void {
  const lo = v[2 * a]! + v[2 * b]!;
  const hi = v[2 * a + 1]! + v[2 * b + 1]! + Math.floor(lo / 0x100000000);
  v[2 * a] = lo;
  v[2 * a + 1] = hi;
}

/** v[d] = (v[d] ^ v[a]) >>> n for n in {32, 24, 16, 63} (RFC 7693 §2.1 rotation constants R1..R4). */
function xorRotr(v: Uint32Array, d: number, a: number, n: 32 | 24 | 16 | 63): void {
  const lo = v[2 * d]! ^ v[2 * a]!;
  const hi = v[2 * d + 1]! ^ v[2 * a + 1]!;
  if (n === 32) {
    v[2 * d] = hi;
    v[2 * d + 1] = lo;
  } else if (n === 63) {
    // rotate right by 63 = rotate left by 1
    v[2 * d] = (lo << 1) | (hi >>> 31);
    v[2 * d + 1] = (hi << 1) | (lo >>> 31);
  } else {
    v[2 * d] = (lo >>> n) | (hi << (32 - n));
    v[2 * d + 1] = (hi >>> n) | (lo << (32 - n));
  }
}

/** RFC 7693 §3.1 mixing function G. */
function G(v: Uint32Array, m: Uint32Array, a: number, b: number, c: number, d: number, x: number, y: number): void {
  add3(v, a, b, m, x);
  xorRotr(v, d, a, 32);
  add2(v, c, d);
  xorRotr(v, b, c, 24);
  add3(v, a, b, m, y);
  xorRotr(v, d, a, 16);
  add2(v, c, d);
  xorRotr(v, b, c, 63);
}

/** RFC 7693 §3.2 compression function F; `t` is the byte counter (< 2^53 here), `last` the final-block flag. */
function compress(h: Uint32Array, block: Uint8Array, t: number, last: boolean): void {
  const m = new Uint32Array(32);
  const dv = new DataView(block.buffer, block.byteOffset, 128);
  for (let i = 0; i < 32; i++) m[i] = dv.getUint32(i * 4, true); // little-endian words (§2.4)
  const v = new Uint32Array(32);
  v.set(h, 0);
  v.set(IV, 16);
  v[24]! ^= t >>> 0; // v[12] ^= t mod 2^64 (low word)
  v[25]! ^= Math.floor(t / 0x100000000) >>> 0;
  if (last) {
    v[28] = ~v[28]!; // v[14] = ~v[14]
    v[29] = ~v[29]!;
  }
  for (let round = 0; round < 12; round++) {
    const s = SIGMA[round % 10]!;
    G(v, m, 0, 4, 8, 12, s[0]!, s[1]!);
    G(v, m, 1, 5, 9, 13, s[2]!, s[3]!);
    G(v, m, 2, 6, 10, 14, s[4]!, s[5]!);
    G(v, m, 3, 7, 11, 15, s[6]!, s[7]!);
    G(v, m, 0, 5, 10, 15, s[8]!, s[9]!);
    G(v, m, 1, 6, 11, 12, s[10]!, s[11]!);
    G(v, m, 2, 7, 8, 13, s[12]!, s[13]!);
    G(v, m, 3, 4, 9, 14, s[14]!, s[15]!);
  }
  for (let i = 0; i < 16; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 16]!;
}

/** BLAKE2b of `data` with an `outLen`-byte digest (RFC 7693 §3.3). */
export function blake2b(data: Uint8Array, outLen = 64, key: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 64) throw new SignetError('INVALID_ARGUMENT', 'BLAKE2b output length must be 1..64');
  if (key.length > 64) throw new SignetError('INVALID_ARGUMENT', 'BLAKE2b key must be at most 64 bytes');
  const h = new Uint32Array(IV);
  h[0] = h[0]! ^ 0x01010000 ^ (key.length << 8) ^ outLen; // parameter block: fanout 1, depth 1, kk, nn
  // A key is processed as a full zero-padded first block (§3.3).
  let input = data;
  if (key.length > 0) {
    input = new Uint8Array(128 + data.length);
    input.set(key, 0);
    input.set(data, 128);
  }
  const block = new Uint8Array(128);
  let offset = 0;
  // All blocks but the last are compressed without the final flag.
  while (input.length - offset > 128) {
    block.set(input.subarray(offset, offset + 128));
    offset += 128;
    compress(h, block, offset, false);
  }
  block.fill(0);
  block.set(input.subarray(offset));
  compress(h, block, input.length, true);
  const out = new Uint8Array(64);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 16; i++) dv.setUint32(i * 4, h[i]!, true);
  return out.slice(0, outLen);
}
