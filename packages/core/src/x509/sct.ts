import { createHash, verify as verifyCb, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual, concatBytes } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { readTlv } from '../encoding/der.js';
import { derExplicit, derSequence, tlv } from '../encoding/der-writer.js';
import { signData, spkiDer } from '../keys/pkix.js';
import type { Check } from '../verify/types.js';
import { OID } from './oids.js';
import { findExtension, parseCertificate, type ParsedCertificate } from './parse.js';

/** A SignedCertificateTimestamp (RFC 6962 §3.2). */
export interface Sct {
  /** 0 = v1. */
  version: number;
  /** SHA-256 of the log's SubjectPublicKeyInfo (§3.2). */
  logId: Uint8Array;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** CtExtensions, opaque (Static CT logs put the leaf index here). */
  extensions: Uint8Array;
  /** TLS HashAlgorithm (RFC 5246 §7.4.1.4.1): 4 sha256, 5 sha384, 6 sha512, 8 intrinsic (Ed25519, RFC 8422). */
  hashAlgorithm: number;
  /** TLS SignatureAlgorithm: 1 rsa, 3 ecdsa, 7 ed25519. */
  signatureAlgorithm: number;
  signature: Uint8Array;
}

const TLS_HASH: Record<number, 'sha256' | 'sha384' | 'sha512' | null> = { 4: 'sha256', 5: 'sha384', 6: 'sha512', 8: null };

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `malformed SCT: ${msg}`);
}

const u16 = (n: number): Uint8Array => Uint8Array.of((n >> 8) & 0xff, n & 0xff);
const u24 = (n: number): Uint8Array => Uint8Array.of((n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
function u64(ms: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(ms));
  return b;
}
function vec16(b: Uint8Array, what: string): Uint8Array {
  if (b.length > 0xffff) throw new SignetError('INVALID_ARGUMENT', `${what} is longer than 65535 bytes`);
  return concatBytes(u16(b.length), b);
}

function checkTimestamp(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new SignetError('INVALID_ARGUMENT', 'an SCT timestamp must be a non-negative integer of milliseconds');
}

/** TLS encoding of a SignedCertificateTimestamp v1 (RFC 6962 §3.2). */
export function serializeSct(sct: Sct): Uint8Array {
  if (sct.logId.length !== 32) throw new SignetError('INVALID_ARGUMENT', 'an SCT log_id is 32 bytes');
  checkTimestamp(sct.timestamp);
  return concatBytes(
    Uint8Array.of(sct.version),
    sct.logId,
    u64(sct.timestamp),
    vec16(sct.extensions, 'SCT extensions'),
    Uint8Array.of(sct.hashAlgorithm, sct.signatureAlgorithm),
    vec16(sct.signature, 'SCT signature'),
  );
}

/** Parses one TLS-encoded SCT v1; throws MALFORMED_INPUT on any length mismatch or another version. */
export function parseSct(b: Uint8Array): Sct {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 1 + 32 + 8 + 2) bad('truncated');
  const version = b[0] as number;
  if (version !== 0) bad(`unsupported version ${version + 1}`);
  const logId = b.slice(1, 33);
  const ts = dv.getBigUint64(33);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) bad('timestamp out of range');
  let p = 41;
  const extLen = dv.getUint16(p);
  p += 2;
  if (p + extLen + 4 > b.length) bad('truncated');
  const extensions = b.slice(p, p + extLen);
  p += extLen;
  const hashAlgorithm = b[p] as number;
  const signatureAlgorithm = b[p + 1] as number;
  const sigLen = dv.getUint16(p + 2);
  p += 4;
  if (p + sigLen !== b.length) bad('signature length does not match');
  return { version, logId, timestamp: Number(ts), extensions, hashAlgorithm, signatureAlgorithm, signature: b.slice(p) };
}

/** TLS SignedCertificateTimestampList (RFC 6962 §3.3): uint16 total length, each SCT uint16-prefixed. */
export function serializeSctList(scts: Array<Sct | Uint8Array>): Uint8Array {
  if (scts.length === 0) throw new SignetError('INVALID_ARGUMENT', 'an SCT list holds at least one SCT');
  const body = concatBytes(...scts.map((s) => vec16(s instanceof Uint8Array ? s : serializeSct(s), 'an SCT')));
  return vec16(body, 'the SCT list');
}

/** Splits a TLS SignedCertificateTimestampList into its serialized SCTs. */
export function parseSctList(b: Uint8Array): Uint8Array[] {
  if (b.length < 2) bad('truncated list');
  const total = (b[0]! << 8) | b[1]!;
  if (total + 2 !== b.length) bad('list length does not match');
  const out: Uint8Array[] = [];
  let p = 2;
  while (p < b.length) {
    if (p + 2 > b.length) bad('truncated list entry');
    const n = (b[p]! << 8) | b[p + 1]!;
    p += 2;
    if (n === 0 || p + n > b.length) bad('bad list entry length');
    out.push(b.slice(p, p + n));
    p += n;
  }
  if (out.length === 0) bad('empty list');
  return out;
}

/** The serialized SCTs embedded in a certificate's 1.3.6.1.4.1.11129.2.4.2 extension ([] when absent). */
export function embeddedScts(cert: ParsedCertificate | Uint8Array): Uint8Array[] {
  const c = cert instanceof Uint8Array ? parseCertificate(cert) : cert;
  const ext = findExtension(c, OID.sctList);
  if (!ext) return [];
  let inner: Uint8Array;
  try {
    const t = readTlv(ext.value);
    if (t.tag !== 0x04 || t.end !== ext.value.length) bad('the SCT list extension is not one OCTET STRING');
    inner = ext.value.subarray(t.contentStart, t.end);
  } catch (e) {
    if (e instanceof SignetError) throw new SignetError('MALFORMED_INPUT', `malformed SCT: ${e.message}`);
    throw e;
  }
  return parseSctList(inner);
}

/** The log ID of a log key: SHA-256 of its SubjectPublicKeyInfo (RFC 6962 §3.2). */
export function ctLogId(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(createHash('sha256').update(spkiDer(publicKey)).digest());
}

/**
 * A TBSCertificate without the extensions whose OIDs are given, re-encoded (the [3] wrapper and the outer
 * SEQUENCE lengths change; everything else is byte-for-byte the same). The [3] wrapper goes when none remain.
 */
export function tbsWithoutExtensions(cert: ParsedCertificate, oids: readonly string[]): Uint8Array {
  const ext = cert.tbsParts.extensions;
  const { tbs } = cert;
  if (!ext) return tbs.slice();
  const keep = ext.items.filter((_, i) => !oids.includes(cert.extensions[i]!.oid)).map((r) => tbs.subarray(r.start, r.end));
  if (keep.length === ext.items.length) return tbs.slice();
  return tlv(
    0x30,
    concatBytes(
      tbs.subarray(cert.tbsParts.contentStart, ext.start),
      ...(keep.length ? [derExplicit(3, derSequence(...keep))] : []),
      tbs.subarray(ext.end),
    ),
  );
}

/**
 * The precertificate TBS as RFC 6962 §3.2 defines it for signing: the certificate's TBS without the SCT list
 * (what verifiers reconstruct from the final certificate) and without the poison (as logged from a precertificate).
 */
export function precertTbsFromCertificate(certDer: Uint8Array | ParsedCertificate): Uint8Array {
  const cert = certDer instanceof Uint8Array ? parseCertificate(certDer) : certDer;
  return tbsWithoutExtensions(cert, [OID.sctList, OID.ctPoison]);
}

/**
 * The data an SCT signs for a precert_entry (RFC 6962 §3.2): sct_version ‖ signature_type (0) ‖ timestamp ‖
 * entry_type (1) ‖ issuer_key_hash ‖ uint24-length TBS ‖ uint16-length extensions.
 */
export function precertSignedData(timestamp: number, issuerKeyHash: Uint8Array, precertTbs: Uint8Array, extensions: Uint8Array): Uint8Array {
  checkTimestamp(timestamp);
  if (issuerKeyHash.length !== 32) throw new SignetError('INVALID_ARGUMENT', 'issuer_key_hash is 32 bytes');
  if (precertTbs.length === 0 || precertTbs.length > 0xffffff) throw new SignetError('INVALID_ARGUMENT', 'the TBS must be 1..2^24-1 bytes');
  return concatBytes(
    Uint8Array.of(0, 0),
    u64(timestamp),
    u16(1),
    issuerKeyHash,
    u24(precertTbs.length),
    precertTbs,
    vec16(extensions, 'SCT extensions'),
  );
}

function tlsAlgorithmsFor(key: KeyObject): [number, number] {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const c = key.asymmetricKeyDetails?.namedCurve;
      return [c === 'secp384r1' ? 5 : c === 'secp521r1' ? 6 : 4, 3];
    }
    case 'rsa':
      return [4, 1];
    case 'ed25519':
      return [8, 7];
    default:
      throw new SignetError('UNSUPPORTED_ALGORITHM', `a CT log cannot sign with a ${String(key.asymmetricKeyType)} key`);
  }
}

export interface SignPrecertSctOptions {
  logPrivateKey: KeyObject;
  timestamp: Date | number;
  /** SubjectPublicKeyInfo DER of the certificate's issuer (its SHA-256 is issuer_key_hash). */
  issuerPublicKeySpki: Uint8Array;
  /** The TBS without poison and without the SCT list (§3.2); see precertTbsFromCertificate. */
  precertTbs: Uint8Array;
  extensions?: Uint8Array;
}

/** Signs an SCT v1 for a precertificate entry, as a CT log does (RFC 6962 §3.2). */
export async function signPrecertSct(o: SignPrecertSctOptions): Promise<Sct> {
  if (o.logPrivateKey?.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'logPrivateKey must be a private key');
  const timestamp = o.timestamp instanceof Date ? o.timestamp.getTime() : o.timestamp;
  const extensions = o.extensions ?? new Uint8Array(0);
  const issuerKeyHash = new Uint8Array(createHash('sha256').update(o.issuerPublicKeySpki).digest());
  const [hashAlgorithm, signatureAlgorithm] = tlsAlgorithmsFor(o.logPrivateKey);
  const signature = await signData(o.logPrivateKey, precertSignedData(timestamp, issuerKeyHash, o.precertTbs, extensions));
  return { version: 0, logId: ctLogId(o.logPrivateKey), timestamp, extensions, hashAlgorithm, signatureAlgorithm, signature };
}

/** A CT log as a trusted root lists it. */
export interface CtLog {
  logId: Uint8Array;
  publicKey: KeyObject;
  /** Missing bounds are open. */
  validFor?: { start?: Date; end?: Date };
}

export interface SctResult {
  ok: boolean;
  /** Hex log ID ('' when the SCT could not be read). */
  logId: string;
  timestamp?: Date;
  extensions?: Uint8Array;
  checks: Check[];
}

function verifyAsync(hash: string | null, data: Uint8Array, key: KeyObject, sig: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verifyCb(hash, data, key, sig, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

const KEY_TYPE_FOR_SIG: Record<number, string> = { 1: 'rsa', 3: 'ec', 7: 'ed25519' };

/**
 * Verifies the SCTs embedded in a certificate (RFC 6962 §3.3) against known CT logs: per SCT, the log is known
 * (by log ID), the SCT time lies within the log's validFor (inclusive), and the signature over the
 * reconstructed precertificate entry verifies. SCT extensions are allowed. A certificate without the extension
 * gives []; a malformed list gives one failed result. Throws only when a certificate cannot be parsed.
 */
export async function verifyEmbeddedScts(certDer: Uint8Array, issuerDer: Uint8Array, ctlogs: CtLog[]): Promise<SctResult[]> {
  const cert = parseCertificate(certDer);
  const issuer = parseCertificate(issuerDer);
  let raw: Uint8Array[];
  try {
    raw = embeddedScts(cert);
  } catch (e) {
    if (!(e instanceof SignetError)) throw e;
    return [{ ok: false, logId: '', checks: [{ name: 'format', ok: false, detail: `the embedded SCT list cannot be read: ${e.message}` }] }];
  }
  if (raw.length === 0) return [];
  const tbs = precertTbsFromCertificate(cert);
  const issuerKeyHash = new Uint8Array(createHash('sha256').update(issuer.spki).digest());

  return Promise.all(
    raw.map(async (bytes, i): Promise<SctResult> => {
      let sct: Sct;
      try {
        sct = parseSct(bytes);
      } catch (e) {
        return { ok: false, logId: '', checks: [{ name: 'format', ok: false, detail: `SCT ${i}: ${e instanceof Error ? e.message : String(e)}` }] };
      }
      const logId = toHex(sct.logId);
      const time = new Date(sct.timestamp);
      const checks: Check[] = [];
      const result = (): SctResult => ({ ok: checks.every((c) => c.ok), logId, timestamp: time, extensions: sct.extensions, checks });
      const log = ctlogs.find((l) => bytesEqual(l.logId, sct.logId));
      if (!log) {
        checks.push({ name: 'log', ok: false, detail: `SCT ${i} is from log ${logId}, which is not among the trusted CT logs` });
        return result();
      }
      checks.push({ name: 'log', ok: true, detail: `SCT ${i} is from trusted CT log ${logId}` });
      const { start, end } = log.validFor ?? {};
      if ((start && time < start) || (end && time > end)) {
        checks.push({
          name: 'log-validity',
          ok: false,
          detail: `SCT ${i} time ${time.toISOString()} is outside the log's validity (${start?.toISOString() ?? 'open'} to ${end?.toISOString() ?? 'open'})`,
        });
      } else checks.push({ name: 'log-validity', ok: true, detail: `SCT ${i} time ${time.toISOString()} is within the log's validity` });
      const hash = TLS_HASH[sct.hashAlgorithm];
      const keyType = KEY_TYPE_FOR_SIG[sct.signatureAlgorithm];
      if (hash === undefined || !keyType || keyType !== log.publicKey.asymmetricKeyType || (hash === null) !== (keyType === 'ed25519')) {
        checks.push({
          name: 'signature',
          ok: false,
          detail: `SCT ${i} uses hash ${sct.hashAlgorithm} / signature ${sct.signatureAlgorithm}, which does not fit the log's ${String(log.publicKey.asymmetricKeyType)} key`,
        });
        return result();
      }
      const ok = await verifyAsync(hash, precertSignedData(sct.timestamp, issuerKeyHash, tbs, sct.extensions), log.publicKey, sct.signature);
      checks.push(
        ok
          ? { name: 'signature', ok: true, detail: `SCT ${i} signature verifies with the log's key` }
          : { name: 'signature', ok: false, detail: `SCT ${i} signature does not verify over the certificate's precertificate entry` },
      );
      return result();
    }),
  );
}
