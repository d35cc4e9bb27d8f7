/**
 * The layer annotations of cosign's legacy `.sig` and `.att` images (cosign `pkg/oci/static/{signature,options}.go`;
 * reference §1.2–1.3): the base64 signature, the PEM certificate and chain for keyless signatures, the Rekor
 * bundle (a signed entry timestamp and the entry it covers) and an RFC 3161 timestamp.
 */
import { SignetError } from '../errors.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { fromHex, toHex } from '../encoding/hex.js';
import { parsePemBlocks } from '../encoding/pem.js';
import { fromUtf8 } from '../encoding/bytes.js';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_PREDICATE_TYPE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
} from './media-types.js';

/**
 * cosign's `dev.sigstore.cosign/bundle` (Go struct `bundle.RekorBundle`, outer keys without json tags):
 * `{"SignedEntryTimestamp":"<b64>","Payload":{"body":"<b64>","integratedTime":n,"logIndex":n,"logID":"<hex>"}}`.
 */
export interface CosignRekorBundle {
  signedEntryTimestamp: Uint8Array;
  /** The canonicalized Rekor entry body. */
  body: Uint8Array;
  integratedTime: number;
  logIndex: number;
  logId: Uint8Array;
}

export interface CosignLayerAnnotations {
  /** Base64 signature over the layer blob; empty on attestations (the signature is in the DSSE envelope). */
  signature: string;
  /** Keyless: the signing certificate (PEM). */
  certificate?: string;
  /** Keyless: intermediates and root (PEM); may be empty. */
  chain?: string;
  rekorBundle?: CosignRekorBundle;
  /** DER RFC 3161 TimeStampResp/token over the signature. */
  rfc3161Timestamp?: Uint8Array;
  /** Attestation layers: the statement's predicate type. */
  predicateType?: string;
}

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `cosign layer annotations: ${msg}`);
}

/** A JSON number or a decimal string (as some writers emit int64), non-negative and safe. */
function count(v: unknown, what: string): number {
  const n = typeof v === 'string' && /^(0|[1-9][0-9]{0,15})$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) bad(`${what} must be a non-negative integer`);
  return n;
}

function parseRekorBundle(text: string): CosignRekorBundle {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    bad(`${ANNOTATION_BUNDLE} is not JSON`);
  }
  const o = j as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) bad(`${ANNOTATION_BUNDLE} must be a JSON object`);
  const set = o['SignedEntryTimestamp'];
  const p = o['Payload'] as Record<string, unknown> | null | undefined;
  if (typeof set !== 'string' || set === '') bad(`${ANNOTATION_BUNDLE} has no SignedEntryTimestamp`);
  if (!p || typeof p !== 'object' || Array.isArray(p)) bad(`${ANNOTATION_BUNDLE} has no Payload object`);
  if (typeof p['body'] !== 'string' || p['body'] === '') bad(`${ANNOTATION_BUNDLE} Payload.body must be base64`);
  if (typeof p['logID'] !== 'string' || !/^([0-9a-f]{2})+$/i.test(p['logID'])) bad(`${ANNOTATION_BUNDLE} Payload.logID must be hex`);
  return {
    signedEntryTimestamp: fromBase64(set, `${ANNOTATION_BUNDLE} SignedEntryTimestamp`),
    body: fromBase64(p['body'], `${ANNOTATION_BUNDLE} Payload.body`),
    integratedTime: count(p['integratedTime'], `${ANNOTATION_BUNDLE} Payload.integratedTime`),
    logIndex: count(p['logIndex'], `${ANNOTATION_BUNDLE} Payload.logIndex`),
    logId: fromHex(p['logID'].toLowerCase()),
  };
}

function pem(v: string, what: string, allowEmpty: boolean): string {
  if (v === '' && allowEmpty) return v;
  let blocks;
  try {
    blocks = parsePemBlocks(v);
  } catch {
    bad(`${what} is not PEM`);
  }
  if (blocks.length === 0 || blocks.some((b) => b.label !== 'CERTIFICATE')) bad(`${what} must hold PEM certificates`);
  return v;
}

/**
 * Reads a layer's annotations strictly: every cosign annotation present must be well formed (base64 signature,
 * PEM certificates, the Rekor bundle JSON, the timestamp JSON). Unknown annotations are ignored.
 */
export function readCosignAnnotations(annotations: unknown): CosignLayerAnnotations {
  if (!annotations || typeof annotations !== 'object' || Array.isArray(annotations)) bad('the layer has no annotations object');
  const a = annotations as Record<string, unknown>;
  for (const k of [ANNOTATION_SIGNATURE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_BUNDLE, ANNOTATION_RFC3161, ANNOTATION_PREDICATE_TYPE]) {
    if (a[k] !== undefined && typeof a[k] !== 'string') bad(`${k} must be a string`);
  }
  const sig = a[ANNOTATION_SIGNATURE];
  if (sig === undefined) bad(`${ANNOTATION_SIGNATURE} is missing`);
  if (sig !== '') fromBase64(sig as string, ANNOTATION_SIGNATURE);
  const out: CosignLayerAnnotations = { signature: sig as string };
  const cert = a[ANNOTATION_CERTIFICATE] as string | undefined;
  if (cert !== undefined && cert !== '') out.certificate = pem(cert, ANNOTATION_CERTIFICATE, false);
  const chain = a[ANNOTATION_CHAIN] as string | undefined;
  if (chain !== undefined) out.chain = pem(chain, ANNOTATION_CHAIN, true);
  const rb = a[ANNOTATION_BUNDLE] as string | undefined;
  if (rb !== undefined && rb !== '') out.rekorBundle = parseRekorBundle(rb);
  const ts = a[ANNOTATION_RFC3161] as string | undefined;
  if (ts !== undefined && ts !== '') {
    let j: unknown;
    try {
      j = JSON.parse(ts);
    } catch {
      bad(`${ANNOTATION_RFC3161} is not JSON`);
    }
    const t = (j as Record<string, unknown> | null)?.['SignedRFC3161Timestamp'];
    if (typeof t !== 'string' || t === '') bad(`${ANNOTATION_RFC3161} has no SignedRFC3161Timestamp`);
    out.rfc3161Timestamp = fromBase64(t, `${ANNOTATION_RFC3161} SignedRFC3161Timestamp`);
  }
  const pt = a[ANNOTATION_PREDICATE_TYPE] as string | undefined;
  if (pt !== undefined) out.predicateType = pt;
  return out;
}

/** The annotations map for a layer, in cosign's spellings. */
export function writeCosignAnnotations(s: CosignLayerAnnotations): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.predicateType !== undefined) out[ANNOTATION_PREDICATE_TYPE] = s.predicateType;
  out[ANNOTATION_SIGNATURE] = s.signature;
  if (s.certificate !== undefined) out[ANNOTATION_CERTIFICATE] = s.certificate;
  if (s.certificate !== undefined || s.chain !== undefined) out[ANNOTATION_CHAIN] = s.chain ?? '';
  if (s.rekorBundle) {
    const r = s.rekorBundle;
    out[ANNOTATION_BUNDLE] = JSON.stringify({
      SignedEntryTimestamp: toBase64(r.signedEntryTimestamp),
      Payload: { body: toBase64(r.body), integratedTime: r.integratedTime, logIndex: r.logIndex, logID: toHex(r.logId) },
    });
  }
  if (s.rfc3161Timestamp) out[ANNOTATION_RFC3161] = JSON.stringify({ SignedRFC3161Timestamp: toBase64(s.rfc3161Timestamp) });
  return out;
}

/**
 * The cosign Rekor bundle for a Sigstore bundle tlog entry (protobuf-specs TransparencyLogEntry JSON) that has a
 * signed entry timestamp; undefined when it has none (a bare inclusion proof cannot be carried in this form).
 */
export function rekorBundleFromTlogEntry(entry: unknown): CosignRekorBundle | undefined {
  const e = entry as Record<string, unknown> | null;
  const set = (e?.['inclusionPromise'] as Record<string, unknown> | undefined)?.['signedEntryTimestamp'];
  if (!e || typeof set !== 'string') return undefined;
  const logId = (e['logId'] as Record<string, unknown> | undefined)?.['keyId'];
  if (typeof logId !== 'string' || typeof e['canonicalizedBody'] !== 'string') return undefined;
  return {
    signedEntryTimestamp: fromBase64(set, 'signedEntryTimestamp'),
    body: fromBase64(e['canonicalizedBody'], 'canonicalizedBody'),
    integratedTime: count(e['integratedTime'], 'integratedTime'),
    logIndex: count(e['logIndex'], 'logIndex'),
    logId: fromBase64(logId, 'logId.keyId'),
  };
}

/**
 * The Sigstore bundle tlog entry (v0.1 form: inclusion promise, no proof) for a cosign Rekor bundle; the entry
 * kind and version are read from the logged body (`{"apiVersion","kind",…}`).
 */
export function tlogEntryFromRekorBundle(rb: CosignRekorBundle): Record<string, unknown> {
  let kind = '';
  let version = '';
  try {
    const body = JSON.parse(fromUtf8(rb.body)) as Record<string, unknown>;
    if (typeof body['kind'] === 'string') kind = body['kind'];
    if (typeof body['apiVersion'] === 'string') version = body['apiVersion'];
  } catch {
    // left empty: the body check then reports the entry as unreadable
  }
  return {
    logIndex: String(rb.logIndex),
    logId: { keyId: toBase64(rb.logId) },
    kindVersion: { kind, version },
    integratedTime: String(rb.integratedTime),
    inclusionPromise: { signedEntryTimestamp: toBase64(rb.signedEntryTimestamp) },
    canonicalizedBody: toBase64(rb.body),
  };
}
