import { randomFillSync } from 'node:crypto';
import { fromBase64, isSignetError, parseTimeStampReq, timeStampErrorResponse, type FailureInfo, type TimeStampRequest, type TsaHash } from '@signet/core';
import type { PreparedTsaSigner } from './token.js';

/** The TSA policy every token names: Sigstore's TSA policy OID (Fulcio `docs/oid-info.md`, 1.3.6.1.4.1.57264.2). */
export const TSA_POLICY_OID = '1.3.6.1.4.1.57264.2';

/** The answer to a timestamp request: a DER TimeStampResp, granted (200) or a rejection (400). */
export interface TimestampAnswer {
  status: number;
  body: Uint8Array;
  /** Why a request was rejected (also in the response's PKIFreeText). */
  reason?: string;
}

const JSON_FIELDS = new Set(['artifactHash', 'hashAlgorithm', 'nonce', 'certificates', 'tsaPolicyOID']);

class Rejection extends Error {
  constructor(
    readonly failInfo: FailureInfo,
    message: string,
  ) {
    super(message);
  }
}

function rejectWith(failInfo: FailureInfo, message: string): never {
  throw new Rejection(failInfo, message);
}

// CSPRNG bytes fetched 4 KiB at a time: one randomBytes(16) call per token cost more than the 16 bytes.
const serialPool = Buffer.alloc(4096);
let serialOffset = serialPool.length;

/** A positive random serial of up to 128 bits: unique without any shared counter (no write per token). */
function randomTokenSerial(): bigint {
  for (;;) {
    if (serialOffset === serialPool.length) {
      randomFillSync(serialPool);
      serialOffset = 0;
    }
    // Each serial takes fresh bytes: none is ever reused.
    const v = BigInt(`0x${serialPool.toString('hex', serialOffset, serialOffset + 16)}`);
    serialOffset += 16;
    if (v > 0n) return v;
  }
}

function readNonce(v: unknown): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,78}$/.test(v)) return BigInt(v);
  rejectWith('badRequest', 'nonce must be a non-negative integer (a JSON number, or a decimal string for large values)');
}

/**
 * Reads the JSON form Sigstore's TSA takes (and sigstore-js sends):
 * `{artifactHash: base64 digest, hashAlgorithm: "sha256"|"sha384"|"sha512", nonce?, certificates?, tsaPolicyOID?}`.
 */
export function parseJsonTimestampRequest(body: Uint8Array): TimeStampRequest {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    rejectWith('badDataFormat', 'the request body is not valid JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) rejectWith('badDataFormat', 'the request body must be a JSON object');
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!JSON_FIELDS.has(k)) rejectWith('badRequest', `unknown field "${k}" (known: ${[...JSON_FIELDS].join(', ')})`);
  const algName = r['hashAlgorithm'] ?? 'sha256';
  if (typeof algName !== 'string') rejectWith('badAlg', 'hashAlgorithm must be a string: sha256, sha384 or sha512');
  const alg = algName.toLowerCase().replace('-', '');
  if (alg !== 'sha256' && alg !== 'sha384' && alg !== 'sha512') rejectWith('badAlg', `unsupported hash algorithm "${algName}" (supported: sha256, sha384, sha512)`);
  if (typeof r['artifactHash'] !== 'string' || r['artifactHash'] === '') rejectWith('badRequest', 'artifactHash is required: the base64 digest to time-stamp');
  let digest: Uint8Array;
  try {
    digest = fromBase64(r['artifactHash'], 'artifactHash');
  } catch {
    rejectWith('badDataFormat', 'artifactHash is not valid base64');
  }
  checkDigest(alg, digest);
  const req: TimeStampRequest = { version: 1, hashAlgorithm: alg, hashedMessage: digest, certReq: false };
  if (r['nonce'] !== undefined && r['nonce'] !== null) req.nonce = readNonce(r['nonce']);
  if (r['certificates'] !== undefined) {
    if (typeof r['certificates'] !== 'boolean') rejectWith('badRequest', 'certificates must be true or false');
    req.certReq = r['certificates'];
  }
  if (r['tsaPolicyOID'] !== undefined && r['tsaPolicyOID'] !== '') {
    if (typeof r['tsaPolicyOID'] !== 'string') rejectWith('badRequest', 'tsaPolicyOID must be a dotted OID string');
    req.reqPolicy = r['tsaPolicyOID'];
  }
  return req;
}

const DIGEST_BYTES: Record<TsaHash, number> = { sha256: 32, sha384: 48, sha512: 64 };

function checkDigest(alg: TsaHash, digest: Uint8Array): void {
  if (digest.length !== DIGEST_BYTES[alg]) rejectWith('badDataFormat', `a ${alg} digest is ${DIGEST_BYTES[alg]} bytes, got ${digest.length}`);
}

/** Reads an application/timestamp-query body (RFC 3161 §2.4.1 TimeStampReq, DER). */
export function parseDerTimestampRequest(body: Uint8Array): TimeStampRequest {
  if (body.length === 0) rejectWith('badDataFormat', 'the request body is empty; a DER TimeStampReq was expected');
  try {
    return parseTimeStampReq(body);
  } catch (e) {
    if (isSignetError(e)) rejectWith(e.code === 'UNSUPPORTED_ALGORITHM' ? 'badAlg' : 'badDataFormat', e.message);
    throw e;
  }
}

/** Signs a token for a parsed request (policy and extensions checked here). */
export function grantTimestamp(signer: PreparedTsaSigner, req: TimeStampRequest): Uint8Array {
  if (req.reqPolicy !== undefined && req.reqPolicy !== TSA_POLICY_OID) rejectWith('unacceptedPolicy', `policy ${req.reqPolicy} is not offered; this TSA signs under ${TSA_POLICY_OID}`);
  if (req.extensions?.length) rejectWith('unacceptedExtension', `request extensions are not supported (got ${req.extensions.map((x) => x.oid).join(', ')})`);
  checkDigest(req.hashAlgorithm, req.hashedMessage);
  return signer.response({
    hashAlgorithm: req.hashAlgorithm,
    hashedMessage: req.hashedMessage,
    ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
    certReq: req.certReq,
    serialNumber: randomTokenSerial(),
    genTime: new Date(),
  });
}

/** Answers a JSON (`json`) or DER (`der`) request body with a TimeStampResp; bad input gets a rejection, never a throw. */
export function answerTimestampRequest(signer: PreparedTsaSigner, kind: 'json' | 'der', body: Uint8Array): TimestampAnswer {
  try {
    const req = kind === 'json' ? parseJsonTimestampRequest(body) : parseDerTimestampRequest(body);
    return { status: 200, body: grantTimestamp(signer, req) };
  } catch (e) {
    if (!(e instanceof Rejection)) throw e;
    return { status: 400, body: timeStampErrorResponse('rejection', e.failInfo, e.message), reason: e.message };
  }
}
