import { SignetError } from '../errors.js';
import { derBoolean, derInteger, derOctetString, derOid, derSequence } from '../encoding/der-writer.js';
import {
  checkDigestLength,
  checkHashName,
  children,
  content,
  expectTag,
  hashAlgorithmDer,
  malformed,
  readBoolean,
  readHashAlgorithm,
  readInteger,
  readOid,
  readTop,
  type TsaHash,
} from './asn1.js';
import type { Tlv } from '../encoding/der.js';

/** An X.509-style extension as carried in TimeStampReq and TSTInfo (RFC 5280 §4.1). */
export interface TsaExtension {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

/** RFC 3161 §2.4.1 TimeStampReq. */
export interface TimeStampRequest {
  version: number;
  hashAlgorithm: TsaHash;
  hashedMessage: Uint8Array;
  reqPolicy?: string;
  nonce?: bigint;
  certReq: boolean;
  extensions?: TsaExtension[];
}

const WHAT = 'RFC 3161 TimeStampReq';

/**
 * Parses an application/timestamp-query body (RFC 3161 §2.4.1):
 * TimeStampReq ::= SEQUENCE { version INTEGER { v1(1) }, messageImprint MessageImprint,
 *   reqPolicy TSAPolicyId OPTIONAL, nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE,
 *   extensions [0] IMPLICIT Extensions OPTIONAL }
 * Unknown hash algorithms throw UNSUPPORTED_ALGORITHM (a TSA answers them with failInfo badAlg);
 * anything else that does not fit throws MALFORMED_INPUT.
 */
export function parseTimeStampReq(der: Uint8Array): TimeStampRequest {
  const top = readTop(der, WHAT);
  const fields = children(der, top);
  let i = 0;
  const version = readInteger(der, fields[i++], `${WHAT} version`);
  if (version !== 1n) malformed(WHAT, `version must be 1, got ${version}`);
  const mi = expectTag(fields[i++], 0x30, `${WHAT} messageImprint`);
  const imprint = readMessageImprint(der, mi, `${WHAT} messageImprint`);
  const req: TimeStampRequest = { version: 1, ...imprint, certReq: false };
  if (fields[i]?.tag === 0x06) req.reqPolicy = readOid(der, fields[i++], `${WHAT} reqPolicy`);
  if (fields[i]?.tag === 0x02) req.nonce = readInteger(der, fields[i++], `${WHAT} nonce`);
  if (fields[i]?.tag === 0x01) req.certReq = readBoolean(der, fields[i++]!, `${WHAT} certReq`);
  if (fields[i]?.tag === 0xa0) req.extensions = readExtensions(der, fields[i++]!, `${WHAT} extensions`);
  if (i !== fields.length) malformed(WHAT, `unexpected field with tag 0x${fields[i]!.tag.toString(16)}`);
  return req;
}

/** MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING } */
export function readMessageImprint(
  buf: Uint8Array,
  seq: Tlv,
  what: string,
): { hashAlgorithm: TsaHash; hashedMessage: Uint8Array } {
  const [alg, hm, ...rest] = children(buf, seq);
  if (rest.length) malformed(what, 'MessageImprint has more than two fields');
  const hashAlgorithm = readHashAlgorithm(buf, alg, `${what} hashAlgorithm`);
  const hashedMessage = Uint8Array.from(content(buf, expectTag(hm, 0x04, `${what} hashedMessage`)));
  checkDigestLength(hashAlgorithm, hashedMessage, `${what} hashedMessage`, 'MALFORMED_INPUT');
  return { hashAlgorithm, hashedMessage };
}

/** Extensions ::= SEQUENCE OF Extension; Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function readExtensions(buf: Uint8Array, t: Tlv, what: string): TsaExtension[] {
  return children(buf, t).map((e) => {
    const [o, c, v, ...rest] = children(buf, expectTag(e, 0x30, what));
    const oid = readOid(buf, o, what);
    let critical = false;
    let value = c;
    if (c?.tag === 0x01) {
      critical = readBoolean(buf, c, `${what} ${oid} critical`);
      value = v;
    } else if (v) malformed(what, `extension ${oid} has too many fields`);
    if (rest.length) malformed(what, `extension ${oid} has too many fields`);
    return { oid, critical, value: Uint8Array.from(content(buf, expectTag(value, 0x04, `${what} ${oid} extnValue`))) };
  });
}

export interface TimeStampRequestOptions {
  algorithm: TsaHash;
  digest: Uint8Array;
  nonce?: bigint;
  certReq?: boolean;
  reqPolicy?: string;
}

/** Builds a TimeStampReq (RFC 3161 §2.4.1), the body a client POSTs as application/timestamp-query. */
export function buildTimeStampReq(opts: TimeStampRequestOptions): Uint8Array {
  const alg = checkHashName(opts.algorithm, 'buildTimeStampReq');
  checkDigestLength(alg, opts.digest, 'buildTimeStampReq', 'INVALID_ARGUMENT');
  if (opts.nonce !== undefined && (typeof opts.nonce !== 'bigint' || opts.nonce < 0n)) {
    throw new SignetError('INVALID_ARGUMENT', 'buildTimeStampReq: the nonce must be a non-negative bigint');
  }
  const parts = [derInteger(1), derSequence(hashAlgorithmDer(alg), derOctetString(opts.digest))];
  if (opts.reqPolicy !== undefined) parts.push(derOid(opts.reqPolicy));
  if (opts.nonce !== undefined) parts.push(derInteger(opts.nonce));
  // DER omits a BOOLEAN equal to its DEFAULT (X.690 §11.5).
  if (opts.certReq) parts.push(derBoolean(true));
  return derSequence(...parts);
}
