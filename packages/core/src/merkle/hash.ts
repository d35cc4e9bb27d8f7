import * as nodeCrypto from 'node:crypto';
import { SignetError } from '../errors.js';

/** Every hash in an RFC 6962 tree is a SHA-256 digest (RFC 6962 §2.1). */
export const HASH_SIZE = 32;

/** crypto.hash (one-shot, Node ≥ 20.12) is about a third faster than createHash for 65-byte inputs. */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

function sha256(data: Uint8Array): Uint8Array {
  if (oneShot) return new Uint8Array(oneShot('sha256', data, 'buffer'));
  return new Uint8Array(nodeCrypto.createHash('sha256').update(data).digest());
}

/** RFC 6962 §2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function leafHash(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(data.length + 1);
  buf.set(data, 1);
  return sha256(buf);
}

/** RFC 6962 §2.1: an interior node is SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** RFC 6962 §2.1: the hash of the empty tree, MTH({}) = SHA-256(""). */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** The largest tree index or size a log can have: indexes are uint64 (RFC 9162 §2.1.3). */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** A leaf index or tree size: a non-negative safe integer, or a bigint in the uint64 range. */
export type TreeIndex = number | bigint;

/** Validates and widens an index or size to a uint64 bigint; anything else is misuse (INVALID_ARGUMENT). */
export function toUint64(v: TreeIndex, what: string): bigint {
  if (typeof v === 'bigint') {
    if (v >= 0n && v <= MAX_UINT64) return v;
  } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    return BigInt(v);
  }
  throw new SignetError('INVALID_ARGUMENT', `${what} must be a non-negative integer (a safe integer or a uint64 bigint), got ${String(v)}`);
}

/**
 * Validates an index or size for proof generation, where trees are held by this process and are
 * addressed with ordinary numbers: a non-negative integer up to Number.MAX_SAFE_INTEGER.
 */
export function toSafeIndex(v: TreeIndex, what: string): number {
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new SignetError('INVALID_ARGUMENT', `${what} must be a non-negative safe integer, got ${String(v)}`);
}

export function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}
