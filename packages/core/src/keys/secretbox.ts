/**
 * NaCl crypto_secretbox (XSalsa20-Poly1305), written from the specifications:
 *  - Salsa20:  D. J. Bernstein, "Salsa20 specification" (§3 quarterround … §8 hash, §9 expansion).
 *  - HSalsa20 and XSalsa20: D. J. Bernstein, "Extending the Salsa20 nonce" §2.
 *  - Poly1305: RFC 8439 §2.5.
 *  - secretbox: D. J. Bernstein, "Cryptography in NaCl" §9–10: the message is prefixed with 32 zero
 *    bytes and XORed with the XSalsa20 stream; the first 32 stream bytes are the Poly1305 one-time key;
 *    the box is tag (16 bytes) ‖ ciphertext ("easy" form, as tweetnacl's nacl.secretbox returns).
 * Pure computation, no I/O. Used for cosign's encrypted private keys (see ./cosign.ts).
 */
import { SignetError } from '../errors.js';
import { bytesEqual } from '../encoding/bytes.js';

export const SECRETBOX_KEY_BYTES = 32;
export const SECRETBOX_NONCE_BYTES = 24;
export const SECRETBOX_TAG_BYTES = 16;

/** "expand 32-byte k" as four little-endian words (Salsa20 spec §9, σ). */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

function rotl(v: number, c: number): number {
  return (v << c) | (v >>> (32 - c));
}

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

function putLe32(out: Uint8Array, off: number, v: number): void {
  out[off] = v & 0xff;
  out[off + 1] = (v >>> 8) & 0xff;
  out[off + 2] = (v >>> 16) & 0xff;
  out[off + 3] = (v >>> 24) & 0xff;
}

/** Salsa20 spec §3: quarterround(y0, y1, y2, y3), applied to the words of x at indexes a, b, c, d. */
function quarterRound(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  const y0 = x[a]!;
  const y1 = x[b]!;
  const y2 = x[c]!;
  const y3 = x[d]!;
  const z1 = y1 ^ rotl(y0 + y3, 7);
  const z2 = y2 ^ rotl(z1 + y0, 9);
  const z3 = y3 ^ rotl(z2 + z1, 13);
  const z0 = y0 ^ rotl(z3 + z2, 18);
  x[a] = z0;
  x[b] = z1;
  x[c] = z2;
  x[d] = z3;
}

/** Salsa20 spec §7: doubleround(x) = rowround(columnround(x)), applied 10 times (20 rounds). */
function doubleRounds10(x: Uint32Array): void {
  for (let i = 0; i < 10; i++) {
    // columnround (spec §5)
    quarterRound(x, 0, 4, 8, 12);
    quarterRound(x, 5, 9, 13, 1);
    quarterRound(x, 10, 14, 2, 6);
    quarterRound(x, 15, 3, 7, 11);
    // rowround (spec §4)
    quarterRound(x, 0, 1, 2, 3);
    quarterRound(x, 5, 6, 7, 4);
    quarterRound(x, 10, 11, 8, 9);
    quarterRound(x, 15, 12, 13, 14);
  }
}

/** Salsa20 spec §9: the input to Salsa20_k(n) for a 32-byte k = k0 ‖ k1 and a 16-byte n. */
function initialState(key: Uint8Array, n: Uint8Array): Uint32Array {
  const x = new Uint32Array(16);
  x[0] = SIGMA[0];
  x[5] = SIGMA[1];
  x[10] = SIGMA[2];
  x[15] = SIGMA[3];
  for (let i = 0; i < 4; i++) {
    x[1 + i] = le32(key, 4 * i); // k0
    x[11 + i] = le32(key, 16 + 4 * i); // k1
    x[6 + i] = le32(n, 4 * i); // n
  }
  return x;
}

function checkLength(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new SignetError('INVALID_ARGUMENT', `${what} must be ${n} bytes`);
  }
}

/**
 * The Salsa20 expansion function Salsa20_k(n) (spec §9) for a 32-byte key and a 16-byte input:
 * 64 bytes, the Salsa20 hash (spec §8: x + doubleround¹⁰(x)) of the initial state.
 */
export function salsa20Block(key: Uint8Array, input: Uint8Array): Uint8Array {
  checkLength('Salsa20 key', key, 32);
  checkLength('Salsa20 input', input, 16);
  const x = initialState(key, input);
  const z = x.slice();
  doubleRounds10(z);
  const out = new Uint8Array(64);
  for (let i = 0; i < 16; i++) putLe32(out, 4 * i, (z[i]! + x[i]!) >>> 0);
  return out;
}

/**
 * HSalsa20 ("Extending the Salsa20 nonce" §2): the 20 rounds without the final addition; the output is
 * words z0, z5, z10, z15, z6, z7, z8, z9 (32 bytes).
 */
export function hsalsa20(key: Uint8Array, input: Uint8Array): Uint8Array {
  checkLength('HSalsa20 key', key, 32);
  checkLength('HSalsa20 input', input, 16);
  const z = initialState(key, input);
  doubleRounds10(z);
  const out = new Uint8Array(32);
  [0, 5, 10, 15, 6, 7, 8, 9].forEach((w, i) => putLe32(out, 4 * i, z[w]!));
  z.fill(0);
  return out;
}

/**
 * XORs `data` in place with the Salsa20 stream of a 32-byte key and 8-byte nonce (spec §10: block i
 * is Salsa20_k(nonce ‖ i), i a 64-bit little-endian block counter starting at 0).
 */
function salsa20XorInPlace(data: Uint8Array, key: Uint8Array, nonce8: Uint8Array): void {
  const n = new Uint8Array(16);
  n.set(nonce8);
  const x = initialState(key, n);
  const z = new Uint32Array(16);
  const block = new Uint8Array(64);
  for (let off = 0; off < data.length; off += 64) {
    z.set(x);
    doubleRounds10(z);
    for (let i = 0; i < 16; i++) putLe32(block, 4 * i, (z[i]! + x[i]!) >>> 0);
    const end = Math.min(64, data.length - off);
    for (let i = 0; i < end; i++) data[off + i] = data[off + i]! ^ block[i]!;
    // next block: counter words x8 (low) and x9 (high)
    x[8] = x[8]! + 1;
    if (x[8] === 0) x[9] = x[9]! + 1;
  }
  x.fill(0);
  z.fill(0);
  block.fill(0);
}

/**
 * XSalsa20 ("Extending the Salsa20 nonce" §2): data XOR the stream of Salsa20 keyed with
 * HSalsa20(key, nonce[0..16]) and nonced with nonce[16..24]. Returns a new array.
 */
export function xsalsa20Xor(data: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  checkLength('XSalsa20 key', key, 32);
  checkLength('XSalsa20 nonce', nonce, 24);
  const out = Uint8Array.from(data);
  const subkey = hsalsa20(key, nonce.subarray(0, 16));
  salsa20XorInPlace(out, subkey, nonce.subarray(16, 24));
  subkey.fill(0);
  return out;
}

// --- Poly1305 (RFC 8439 §2.5) over BigInt ---
// BigInt arithmetic is not guaranteed constant-time; the tag comparison below is.
const P1305 = (1n << 130n) - 5n;
const MASK130 = (1n << 130n) - 1n;
const MASK128 = (1n << 128n) - 1n;
const CLAMP = 0x0ffffffc0ffffffc0ffffffc0fffffffn; // RFC 8439 §2.5.1 clamp(r)
const BIT128 = 1n << 128n;

/** Little-endian 128-bit number at byte offset `off` of a DataView. */
function le128(v: DataView, off: number): bigint {
  return v.getBigUint64(off, true) | (v.getBigUint64(off + 8, true) << 64n);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Poly1305 one-time authenticator (RFC 8439 §2.5.1): 16-byte tag of msg under a 32-byte one-time key. */
export function poly1305(msg: Uint8Array, key: Uint8Array): Uint8Array {
  checkLength('Poly1305 key', key, 32);
  if (!(msg instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'Poly1305 message must be a Uint8Array');
  const kv = view(key);
  const r = le128(kv, 0) & CLAMP;
  const s = le128(kv, 16);
  const mv = view(msg);
  let acc = 0n;
  for (let off = 0; off < msg.length; off += 16) {
    const len = Math.min(16, msg.length - off);
    let n: bigint;
    if (len === 16) {
      n = le128(mv, off) | BIT128; // the 16-byte block with a 0x01 byte appended (RFC 8439 §2.5.1)
    } else {
      const last = new Uint8Array(16); // the final short block, 0x01 appended, zero-padded
      last.set(msg.subarray(off));
      n = le128(view(last), 0) | (1n << BigInt(8 * len));
      last.fill(0);
    }
    acc = (acc + n) * r;
    // Partial reduction mod p = 2^130 − 5, using 2^130 ≡ 5 (mod p); the result stays below 2^131.
    acc = (acc & MASK130) + 5n * (acc >> 130n);
    acc = (acc & MASK130) + 5n * (acc >> 130n);
  }
  acc %= P1305;
  const tag = (acc + s) & MASK128;
  const out = new Uint8Array(16);
  const ov = view(out);
  ov.setBigUint64(0, tag & 0xffffffffffffffffn, true);
  ov.setBigUint64(8, tag >> 64n, true);
  return out;
}

/** crypto_secretbox: returns tag (16 bytes) ‖ ciphertext (message length). */
export function secretboxSeal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  checkLength('secretbox key', key, SECRETBOX_KEY_BYTES);
  checkLength('secretbox nonce', nonce, SECRETBOX_NONCE_BYTES);
  if (!(message instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'secretbox message must be a Uint8Array');
  // "Cryptography in NaCl" §9: encrypt 32 zero bytes ‖ message; the first 32 output bytes are the Poly1305 key.
  const padded = new Uint8Array(32 + message.length);
  padded.set(message, 32);
  const stream = xsalsa20Xor(padded, nonce, key);
  const ciphertext = stream.subarray(32);
  const out = new Uint8Array(SECRETBOX_TAG_BYTES + message.length);
  out.set(poly1305(ciphertext, stream.subarray(0, 32)), 0);
  out.set(ciphertext, SECRETBOX_TAG_BYTES);
  padded.fill(0);
  stream.fill(0);
  return out;
}

/** crypto_secretbox_open: the message, or undefined if the box does not authenticate under key and nonce. */
export function secretboxOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  checkLength('secretbox key', key, SECRETBOX_KEY_BYTES);
  checkLength('secretbox nonce', nonce, SECRETBOX_NONCE_BYTES);
  if (!(box instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'secretbox box must be a Uint8Array');
  if (box.length < SECRETBOX_TAG_BYTES) return undefined;
  const tag = box.subarray(0, SECRETBOX_TAG_BYTES);
  const ciphertext = box.subarray(SECRETBOX_TAG_BYTES);
  const padded = new Uint8Array(32 + ciphertext.length);
  padded.set(ciphertext, 32);
  const plain = xsalsa20Xor(padded, nonce, key);
  const ok = bytesEqual(poly1305(ciphertext, plain.subarray(0, 32)), tag); // constant-time comparison
  if (!ok) {
    plain.fill(0);
    return undefined;
  }
  const message = plain.slice(32);
  plain.fill(0);
  return message;
}
