import { SignetError } from '../errors.js';

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(s: string, what = 'hex data'): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new SignetError('MALFORMED_INPUT', `${what} is not valid hex`);
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}
