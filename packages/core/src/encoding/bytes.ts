import { timingSafeEqual } from 'node:crypto';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/** Decodes UTF-8, throwing a TypeError on invalid sequences. */
export function fromUtf8(b: Uint8Array): string {
  return dec.decode(b);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality for equal-length inputs; unequal lengths compare false at once. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the bytes look like text (no NUL, valid UTF-8). */
export function looksLikeText(b: Uint8Array): boolean {
  if (b.includes(0)) return false;
  try {
    fromUtf8(b);
    return true;
  } catch {
    return false;
  }
}
