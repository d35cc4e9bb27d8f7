import { SignetError } from '../errors.js';
import { readChildren, readTlv, readUnsignedInteger, type Tlv } from '../encoding/der.js';
import { derOid, derSequence } from '../encoding/der-writer.js';

/**
 * Small strict DER reading helpers shared by the RFC 3161 code: every error is a SignetError
 * MALFORMED_INPUT naming the structure being read.
 */

export type TsaHash = 'sha256' | 'sha384' | 'sha512';

/** NIST hash OIDs (RFC 5754 §2) and their digest lengths. */
export const HASH_OIDS: Record<TsaHash, string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};
export const HASH_LENGTHS: Record<TsaHash, number> = { sha256: 32, sha384: 48, sha512: 64 };

export const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
} as const;

export function malformed(what: string, msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `${what}: ${msg}`);
}

/** Reads the single top-level TLV of `der`, refusing trailing bytes. */
export function readTop(der: Uint8Array, what: string, tag = 0x30): Tlv {
  if (!(der instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', `${what}: expected DER bytes`);
  const t = readTlv(der, 0);
  if (t.tag !== tag) malformed(what, `expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  if (t.end !== der.length) malformed(what, `${der.length - t.end} trailing byte(s) after the DER structure`);
  return t;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) malformed(what, 'missing');
  if (t.tag !== tag) malformed(what, `expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

export const content = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.contentStart, t.end);
export const whole = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.start, t.end);

/** An OBJECT IDENTIFIER in dotted form (X.690 §8.19), refusing non-minimal sub-identifiers. */
export function readOid(buf: Uint8Array, t: Tlv | undefined, what: string): string {
  const o = expectTag(t, 0x06, what);
  const b = content(buf, o);
  if (b.length === 0) malformed(what, 'empty OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let v = 0n;
  let fresh = true;
  for (const byte of b) {
    if (fresh && byte === 0x80) malformed(what, 'non-minimal OBJECT IDENTIFIER');
    v = (v << 7n) | BigInt(byte & 0x7f);
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      arcs.push(v);
      v = 0n;
    }
  }
  if (!fresh) malformed(what, 'truncated OBJECT IDENTIFIER');
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

export function readInteger(buf: Uint8Array, t: Tlv | undefined, what: string): bigint {
  const i = expectTag(t, 0x02, what);
  try {
    return readUnsignedInteger(buf, i);
  } catch (e) {
    return malformed(what, (e as Error).message);
  }
}

/**
 * A DER INTEGER as a signed bigint (X.690 §8.3: two's complement, minimal). RFC 3161 §2.4.2 only asks a TSA
 * for unique serial numbers, and some deployed TSAs emit negative ones, so a token's serialNumber is read
 * with this.
 */
export function readSignedInteger(buf: Uint8Array, t: Tlv | undefined, what: string): bigint {
  const b = content(buf, expectTag(t, 0x02, what));
  if (b.length === 0) malformed(what, 'empty INTEGER');
  if (b.length > 1 && ((b[0] === 0x00 && !((b[1] as number) & 0x80)) || (b[0] === 0xff && (b[1] as number) & 0x80))) {
    malformed(what, 'non-minimal INTEGER (X.690 §8.3.2)');
  }
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return (b[0] as number) & 0x80 ? v - (1n << BigInt(8 * b.length)) : v;
}

export function readBoolean(buf: Uint8Array, t: Tlv, what: string): boolean {
  expectTag(t, 0x01, what);
  const b = content(buf, t);
  if (b.length !== 1 || (b[0] !== 0 && b[0] !== 0xff)) malformed(what, 'BOOLEAN must be one byte, 0x00 or 0xff (X.690 §11.1)');
  return b[0] === 0xff;
}

export function children(buf: Uint8Array, t: Tlv): Tlv[] {
  return readChildren(buf, t);
}

export interface AlgorithmIdentifier {
  oid: string;
  /** The parameters' complete TLV, when present. */
  params?: Uint8Array;
}

export function readAlgorithm(buf: Uint8Array, t: Tlv | undefined, what: string): AlgorithmIdentifier {
  const seq = expectTag(t, 0x30, what);
  const [o, p, ...rest] = children(buf, seq);
  if (rest.length) malformed(what, 'AlgorithmIdentifier has more than two fields');
  const oid = readOid(buf, o, what);
  return p ? { oid, params: whole(buf, p) } : { oid };
}

/** A SHA-2 AlgorithmIdentifier: parameters absent or NULL (RFC 5754 §2); anything else is refused. */
export function readHashAlgorithm(buf: Uint8Array, t: Tlv | undefined, what: string): TsaHash {
  const alg = readAlgorithm(buf, t, what);
  const name = hashByOid(alg.oid);
  if (!name) {
    throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unsupported hash algorithm ${alg.oid} (supported: SHA-256, SHA-384, SHA-512)`);
  }
  if (alg.params && !(alg.params.length === 2 && alg.params[0] === 0x05 && alg.params[1] === 0x00)) {
    malformed(what, 'hash AlgorithmIdentifier parameters must be absent or NULL (RFC 5754 §2)');
  }
  return name;
}

export function hashByOid(oid: string): TsaHash | undefined {
  return (Object.keys(HASH_OIDS) as TsaHash[]).find((h) => HASH_OIDS[h] === oid);
}

/** A SHA-2 AlgorithmIdentifier as RFC 5754 §2 says to generate it: parameters absent. */
export function hashAlgorithmDer(h: TsaHash): Uint8Array {
  return derSequence(derOid(HASH_OIDS[h]));
}

export function checkHashName(h: unknown, what: string): TsaHash {
  if (h === 'sha256' || h === 'sha384' || h === 'sha512') return h;
  throw new SignetError('UNSUPPORTED_ALGORITHM', `${what}: unsupported hash algorithm ${JSON.stringify(h)} (supported: sha256, sha384, sha512)`);
}

export function checkDigestLength(h: TsaHash, digest: Uint8Array, what: string, code: 'INVALID_ARGUMENT' | 'MALFORMED_INPUT'): void {
  if (!(digest instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', `${what}: the digest must be a Uint8Array`);
  if (digest.length !== HASH_LENGTHS[h]) {
    throw new SignetError(code, `${what}: a ${h} digest is ${HASH_LENGTHS[h]} bytes, got ${digest.length}`);
  }
}

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);

/**
 * GeneralizedTime as DER and RFC 3161 §2.4.2 allow it: YYYYMMDDHHMMSS[.fff]Z, UTC, the fraction without
 * trailing zeros. Sub-millisecond digits are dropped (a Date holds milliseconds).
 */
export function readGeneralizedTime(buf: Uint8Array, t: Tlv | undefined, what: string): Date {
  const s = ascii(content(buf, expectTag(t, 0x18, what)));
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/.exec(s);
  if (!m) malformed(what, `"${s}" is not a DER GeneralizedTime (YYYYMMDDHHMMSS[.fff]Z)`);
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return utcDate(Number(m[1]), m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, ms, what, s);
}

function utcDate(y: number, mo: string, d: string, h: string, mi: string, s: string, ms: number, what: string, text: string): Date {
  const date = new Date(Date.UTC(y, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
  date.setUTCFullYear(y);
  if (
    date.getUTCMonth() !== Number(mo) - 1 ||
    date.getUTCDate() !== Number(d) ||
    date.getUTCHours() !== Number(h) ||
    date.getUTCMinutes() !== Number(mi) ||
    date.getUTCSeconds() !== Number(s)
  ) {
    malformed(what, `"${text}" is not a valid date`);
  }
  return date;
}
