import { SignetError } from '../errors.js';

const STD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Strict base64 decoding. Accepts the standard and the URL-safe alphabet (DSSE, RFC 4648 §4 and §5),
 * with or without padding, and ignores line breaks. Anything else is rejected rather than silently
 * skipped, as Node's Buffer.from(s, 'base64') would do.
 */
export function fromBase64(input: string, what = 'base64 data'): Uint8Array {
  const s = input.replace(/[\r\n]/g, '');
  if (s.length % 4 === 1 || !(STD.test(s) || URL.test(s))) {
    throw new SignetError('MALFORMED_INPUT', `${what} is not valid base64`);
  }
  return new Uint8Array(Buffer.from(s, URL.test(s) && /[-_]/.test(s) ? 'base64url' : 'base64'));
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function isBase64(s: string): boolean {
  const t = s.replace(/[\r\n]/g, '');
  return t.length > 0 && t.length % 4 !== 1 && (STD.test(t) || URL.test(t));
}
