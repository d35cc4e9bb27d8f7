import { SignetError } from '../errors.js';
import type { CoreErrorCode } from '../errors.js';
import { concatBytes, utf8, fromUtf8 } from '../encoding/bytes.js';

/**
 * SSH wire format (RFC 4251 §5): uint32 big-endian, `string` = uint32 length ‖ bytes,
 * `mpint` = two's-complement big-endian in a string. Every read is bounds-checked and a
 * failure throws a SignetError with the reader's error code.
 */
export class SshReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly code: CoreErrorCode = 'SIGNATURE_PARSE_FAILED',
    private readonly what = 'SSH data',
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  fail(message: string): never {
    throw new SignetError(this.code, `${this.what}: ${message}`);
  }

  bytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      this.fail(`truncated (needs ${n} more bytes at offset ${this.pos}, ${this.remaining} left)`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uint32(): number {
    const b = this.bytes(4);
    return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
  }

  string(): Uint8Array {
    return this.bytes(this.uint32());
  }

  /** A `string` that must be valid UTF-8 text (names, namespaces, comments). */
  text(): string {
    const b = this.string();
    try {
      return fromUtf8(b);
    } catch {
      return this.fail('a text field is not valid UTF-8');
    }
  }

  /** An `mpint` as an unsigned magnitude without leading zero bytes; negative values are rejected. */
  mpint(): Uint8Array {
    const b = this.string();
    if (b.length > 0 && (b[0]! & 0x80) !== 0) this.fail('negative mpint');
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.subarray(i);
  }

  /** Fails unless every byte was consumed. */
  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} unexpected trailing bytes`);
  }
}

export function sshUint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

export function sshString(data: Uint8Array | string): Uint8Array {
  const b = typeof data === 'string' ? utf8(data) : data;
  return concatBytes(sshUint32(b.length), b);
}

/** Encodes an unsigned big-endian magnitude as an mpint (RFC 4251 §5): minimal, 0x00 prefix if the top bit is set. */
export function sshMpint(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  if (m.length > 0 && (m[0]! & 0x80) !== 0) return sshString(concatBytes(new Uint8Array([0]), m));
  return sshString(m);
}

/** Left-pads (or checks) an unsigned magnitude to exactly `len` bytes; undefined if it does not fit. */
export function fixedLength(magnitude: Uint8Array, len: number): Uint8Array | undefined {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  if (m.length > len) return undefined;
  const out = new Uint8Array(len);
  out.set(m, len - m.length);
  return out;
}
