/**
 * Transparency log entries in Sigstore bundles (protobuf-specs `sigstore_rekor.proto` TransparencyLogEntry):
 * reading them strictly, matching the logged body against the bundle content, and proving inclusion by a
 * signed entry timestamp (Rekor v1 SET) or by a Merkle inclusion proof up to a signed checkpoint.
 */
import { createHash } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { bytesEqual, fromUtf8, utf8 } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { canonicalize } from '../encoding/jcs.js';
import { parsePemBlocks } from '../encoding/pem.js';
import { leafHash } from '../merkle/hash.js';
import { verifyInclusion } from '../merkle/verify.js';
import { parseNote, verifyNote, KEY_HINT_SIZE, type NoteVerifier, type ParsedNote } from '../checkpoint/note.js';
import { parseCheckpointBody } from '../checkpoint/checkpoint.js';
import { parseCertificate } from '../x509/parse.js';
import { verifyWithLogKey, type TransparencyLogInstance } from './trusted-root.js';

export interface InclusionProof {
  /** The leaf index within the log shard the proof is for. */
  logIndex: bigint;
  rootHash: Uint8Array;
  treeSize: bigint;
  hashes: Uint8Array[];
  /** The signed-note checkpoint text, when given. */
  checkpoint?: string;
}

export interface TlogEntry {
  /** Position in the bundle's tlogEntries. */
  position: number;
  logIndex: bigint;
  logId: Uint8Array;
  kind: string;
  version: string;
  /** Seconds since the epoch; 0 when absent (Rekor v2). */
  integratedTime: number;
  body: Uint8Array;
  signedEntryTimestamp?: Uint8Array;
  inclusionProof?: InclusionProof;
}

type Obj = Record<string, unknown>;

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', msg);
}

const asObj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** protobuf JSON int64: a decimal string or a number; negative values are refused. */
function uint64(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^(0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) < 1n << 64n) return BigInt(v);
  bad(`${field} must be a non-negative integer (found ${JSON.stringify(v)?.slice(0, 30)})`);
}

function b64(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string') bad(`${field} must be base64`);
  return fromBase64(v, field);
}

/**
 * Reads one bundle tlog entry. Throws MALFORMED_INPUT naming the field when it is not one: missing logId,
 * kindVersion or canonicalizedBody, a negative or non-integer index, bad base64.
 */
export function parseTlogEntry(v: unknown, position: number): TlogEntry {
  const at = `tlogEntries[${position}]`;
  const o = asObj(v);
  if (!o) bad(`${at} must be a JSON object`);
  const logIndex = uint64(o['logIndex'], `${at}.logIndex`);
  const logId = b64(asObj(o['logId'])?.['keyId'], `${at}.logId.keyId`);
  const kv = asObj(o['kindVersion']);
  if (!kv || typeof kv['kind'] !== 'string' || typeof kv['version'] !== 'string') bad(`${at}.kindVersion needs kind and version`);
  const it = o['integratedTime'] === undefined || o['integratedTime'] === null ? 0n : uint64(o['integratedTime'], `${at}.integratedTime`);
  if (it > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${at}.integratedTime is out of range`);
  const body = b64(o['canonicalizedBody'], `${at}.canonicalizedBody`);
  const entry: TlogEntry = { position, logIndex, logId, kind: kv['kind'], version: kv['version'], integratedTime: Number(it), body };
  const promise = asObj(o['inclusionPromise']);
  if (o['inclusionPromise'] !== undefined && o['inclusionPromise'] !== null) {
    if (!promise) bad(`${at}.inclusionPromise must be an object`);
    entry.signedEntryTimestamp = b64(promise['signedEntryTimestamp'], `${at}.inclusionPromise.signedEntryTimestamp`);
  }
  if (o['inclusionProof'] !== undefined && o['inclusionProof'] !== null) {
    const p = asObj(o['inclusionProof']);
    if (!p) bad(`${at}.inclusionProof must be an object`);
    const hashes = p['hashes'] ?? [];
    if (!Array.isArray(hashes)) bad(`${at}.inclusionProof.hashes must be an array`);
    const proof: InclusionProof = {
      logIndex: uint64(p['logIndex'], `${at}.inclusionProof.logIndex`),
      rootHash: b64(p['rootHash'], `${at}.inclusionProof.rootHash`),
      treeSize: uint64(p['treeSize'], `${at}.inclusionProof.treeSize`),
      hashes: hashes.map((h: unknown, i) => b64(h, `${at}.inclusionProof.hashes[${i}]`)),
    };
    const cp = asObj(p['checkpoint']);
    if (p['checkpoint'] !== undefined && p['checkpoint'] !== null) {
      if (!cp || typeof cp['envelope'] !== 'string') bad(`${at}.inclusionProof.checkpoint.envelope must be a string`);
      proof.checkpoint = cp['envelope'];
    }
    entry.inclusionProof = proof;
  }
  return entry;
}

/** The log in the trusted root an entry names, by logId or checkpointKeyId. */
export function findLog(logs: TransparencyLogInstance[], logId: Uint8Array): TransparencyLogInstance | undefined {
  return logs.find((l) => bytesEqual(l.logId, logId) || (l.checkpointKeyId !== undefined && bytesEqual(l.checkpointKeyId, logId)));
}

// ---------------------------------------------------------------------------------------------------------
// Inclusion: signed entry timestamps and checkpoints

/**
 * Rekor v1 SET (`pkg/api/entries.go`): the log's signature over JCS({body, integratedTime, logID, logIndex}),
 * body as base64, logID as hex, logIndex the entry's (global) index.
 */
export async function verifySet(entry: TlogEntry, log: TransparencyLogInstance): Promise<string | undefined> {
  if (!entry.signedEntryTimestamp) return 'has no signed entry timestamp';
  if (entry.logIndex > BigInt(Number.MAX_SAFE_INTEGER)) return 'has a log index too large for a signed entry timestamp';
  const payload = canonicalize({
    body: toBase64(entry.body),
    integratedTime: entry.integratedTime,
    logID: toHex(entry.logId),
    logIndex: Number(entry.logIndex),
  });
  const ok = await verifyWithLogKey(log, utf8(payload), entry.signedEntryTimestamp);
  return ok ? undefined : `signed entry timestamp does not verify with the key of log ${log.baseUrl}`;
}

/** A signed-note verifier for a trusted log under the key name `name` and the root's key ID hint. */
function logNoteVerifier(log: TransparencyLogInstance, name: string): NoteVerifier {
  const keyId = log.checkpointKeyId ?? log.logId;
  return { name, keyHint: keyId.slice(0, KEY_HINT_SIZE), verify: (text, sig) => verifyWithLogKey(log, text, sig) };
}

/**
 * Inclusion proof (RFC 6962 §2.1.1, RFC 9162 §2.1.3.2) of the entry's leaf up to a checkpoint signed by the
 * entry's own log (C2SP signed-note / tlog-checkpoint). A signature line counts only when its key name is
 * part of the log's baseUrl (as sigstore clients match it: Rekor v1 names the key by host name, Rekor v2 by
 * its origin) and its key hint is the first 4 bytes of the root's checkpointKeyId (else logId); other lines
 * (witness cosignatures, other keys) are ignored. The checkpoint's size and root must be the proof's.
 */
export async function verifyInclusionProof(entry: TlogEntry, log: TransparencyLogInstance): Promise<string | undefined> {
  const p = entry.inclusionProof;
  if (!p) return 'has no inclusion proof';
  if (p.checkpoint === undefined) return 'has an inclusion proof without a checkpoint, so the proof cannot be tied to a signed tree head';
  let text: string;
  let cpSize: bigint;
  let cpRoot: Uint8Array;
  let note: ParsedNote;
  try {
    note = parseNote(p.checkpoint);
    text = note.text;
    const cp = parseCheckpointBody(text);
    cpSize = cp.size;
    cpRoot = cp.rootHash;
  } catch (e) {
    return `has a checkpoint that cannot be parsed: ${e instanceof Error ? e.message : String(e)}`;
  }
  const names = [...new Set(note.signatures.map((s) => s.name))].filter((n) => n.length > 0 && log.baseUrl.includes(n));
  const result = await verifyNote(note, names.map((n) => logNoteVerifier(log, n)));
  if (!result.ok) {
    return result.failed.length > 0
      ? `has a checkpoint whose signature by ${result.failed[0]!.name} does not verify with the key of log ${log.baseUrl}`
      : `has a checkpoint with no signature by log ${log.baseUrl} (signed by ${note.signatures.map((s) => `${s.name} key ${toHex(s.keyHint)}`).join(', ')})`;
  }
  if (cpSize !== p.treeSize || !bytesEqual(cpRoot, p.rootHash)) {
    return `has a checkpoint for tree size ${cpSize} and root ${toHex(cpRoot).slice(0, 16)}…, not the proof's tree size ${p.treeSize} and root ${toHex(p.rootHash).slice(0, 16)}…`;
  }
  let ok: boolean;
  try {
    ok = verifyInclusion(p.logIndex, p.treeSize, leafHash(entry.body), p.hashes, p.rootHash);
  } catch {
    ok = false;
  }
  return ok ? undefined : `has an inclusion proof that does not lead from the entry's leaf to the checkpoint root (leaf ${p.logIndex} of ${p.treeSize})`;
}

// ---------------------------------------------------------------------------------------------------------
// Body: what was logged must be what the bundle carries

/** What the bundle carries, for comparison with a logged body. */
export interface LoggedContent {
  kind: 'messageSignature' | 'dsseEnvelope';
  signature: Uint8Array;
  /** The signed data's digest in the given algorithm, or undefined when it cannot be known. */
  digest(alg: 'sha256' | 'sha384' | 'sha512'): Uint8Array[] | undefined;
  /** For DSSE: digests of the payload. */
  payloadDigest?(alg: 'sha256' | 'sha384' | 'sha512'): Uint8Array;
  /** Does the logged verifier (certificate or public key, DER) name the bundle's signer? */
  verifierMatches(v: LoggedVerifier): boolean;
}

export type LoggedVerifier = { certificate: Uint8Array } | { spki: Uint8Array };

const HASH_NAMES: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  SHA2_256: 'sha256',
  SHA2_384: 'sha384',
  SHA2_512: 'sha512',
};

export function hashBytes(alg: 'sha256' | 'sha384' | 'sha512', data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(data).digest());
}

const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => asObj(v)?.[k], o);

function hexDigest(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || !/^[0-9a-f]+$/i.test(v) || v.length % 2) bad(`${field} must be hex`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

function hashName(v: unknown, field: string): 'sha256' | 'sha384' | 'sha512' {
  const h = typeof v === 'string' ? HASH_NAMES[v] : undefined;
  if (!h) bad(`${field} ${JSON.stringify(v)} is not a supported hash algorithm`);
  return h;
}

/** A Rekor v1 verifier string: base64 of a PEM certificate or public key (or of DER). */
function v1Verifier(v: unknown, field: string): LoggedVerifier {
  const raw = b64(v, field);
  let text = '';
  try {
    text = fromUtf8(raw);
  } catch {
    text = '';
  }
  if (text.includes('-----BEGIN ')) {
    const block = parsePemBlocks(text)[0];
    if (!block) bad(`${field} holds no PEM block`);
    if (block.label === 'CERTIFICATE') return { certificate: block.der };
    if (block.label === 'PUBLIC KEY') return { spki: block.der };
    bad(`${field} holds a PEM "${block.label}", not a certificate or public key`);
  }
  try {
    parseCertificate(raw);
    return { certificate: raw };
  } catch {
    return { spki: raw };
  }
}

/** A Rekor v2 / protobuf-specs verifier: {x509Certificate: {rawBytes}} or {publicKey: {rawBytes}}. */
function v2Verifier(v: unknown, field: string): LoggedVerifier {
  const cert = get(v, 'x509Certificate', 'rawBytes');
  if (cert !== undefined) return { certificate: b64(cert, `${field}.x509Certificate.rawBytes`) };
  const key = get(v, 'publicKey', 'rawBytes');
  if (key !== undefined) return { spki: b64(key, `${field}.publicKey.rawBytes`) };
  bad(`${field} has neither x509Certificate nor publicKey`);
}

function oneSignature(list: unknown, field: string): unknown {
  if (!Array.isArray(list) || list.length !== 1) bad(`${field} must hold exactly one signature (found ${Array.isArray(list) ? list.length : 'none'})`);
  return list[0];
}

interface LoggedFacts {
  signature: Uint8Array;
  verifier?: LoggedVerifier;
  /** The logged digest of the signed data (hashedrekord) … */
  dataDigest?: { alg: 'sha256' | 'sha384' | 'sha512'; value: Uint8Array };
  /** … or of the DSSE payload (dsse, intoto). */
  payloadDigest?: { alg: 'sha256' | 'sha384' | 'sha512'; value: Uint8Array };
}

/** Reads what a body records, per kind and apiVersion (rekor `pkg/types`, rekor-tiles `api/proto/rekor/v2`). */
function loggedFacts(body: unknown, kind: string, version: string): LoggedFacts {
  const spec = get(body, 'spec');
  const key = `${kind} ${version}`;
  switch (key) {
    case 'hashedrekord 0.0.1': {
      const alg = hashName(get(spec, 'data', 'hash', 'algorithm'), 'spec.data.hash.algorithm');
      return {
        signature: b64(get(spec, 'signature', 'content'), 'spec.signature.content'),
        verifier: v1Verifier(get(spec, 'signature', 'publicKey', 'content'), 'spec.signature.publicKey.content'),
        dataDigest: { alg, value: hexDigest(get(spec, 'data', 'hash', 'value'), 'spec.data.hash.value') },
      };
    }
    case 'hashedrekord 0.0.2': {
      const s = get(spec, 'hashedRekordV002');
      if (!asObj(s)) bad('spec.hashedRekordV002 is missing');
      return {
        signature: b64(get(s, 'signature', 'content'), 'signature.content'),
        verifier: v2Verifier(get(s, 'signature', 'verifier'), 'signature.verifier'),
        dataDigest: { alg: hashName(get(s, 'data', 'algorithm'), 'data.algorithm'), value: b64(get(s, 'data', 'digest'), 'data.digest') },
      };
    }
    case 'dsse 0.0.1': {
      const sig = oneSignature(get(spec, 'signatures'), 'spec.signatures');
      return {
        signature: b64(get(sig, 'signature'), 'spec.signatures[0].signature'),
        verifier: v1Verifier(get(sig, 'verifier'), 'spec.signatures[0].verifier'),
        payloadDigest: { alg: hashName(get(spec, 'payloadHash', 'algorithm'), 'spec.payloadHash.algorithm'), value: hexDigest(get(spec, 'payloadHash', 'value'), 'spec.payloadHash.value') },
      };
    }
    case 'dsse 0.0.2': {
      const s = get(spec, 'dsseV002');
      if (!asObj(s)) bad('spec.dsseV002 is missing');
      const sig = oneSignature(get(s, 'signatures'), 'signatures');
      return {
        signature: b64(get(sig, 'content'), 'signatures[0].content'),
        verifier: v2Verifier(get(sig, 'verifier'), 'signatures[0].verifier'),
        payloadDigest: { alg: hashName(get(s, 'payloadHash', 'algorithm'), 'payloadHash.algorithm'), value: b64(get(s, 'payloadHash', 'digest'), 'payloadHash.digest') },
      };
    }
    case 'intoto 0.0.2': {
      // Rekor stores the envelope's signature as base64 of the base64 signature (some entries carry it
      // encoded once); the payload itself is not relied on.
      const content = get(spec, 'content');
      const sig = oneSignature(get(content, 'envelope', 'signatures'), 'spec.content.envelope.signatures');
      const outer = b64(get(sig, 'sig'), 'spec.content.envelope.signatures[0].sig');
      let signature = outer;
      try {
        signature = fromBase64(fromUtf8(outer), 'inner base64');
      } catch {
        signature = outer;
      }
      const facts: LoggedFacts = {
        signature,
        payloadDigest: { alg: hashName(get(content, 'payloadHash', 'algorithm'), 'spec.content.payloadHash.algorithm'), value: hexDigest(get(content, 'payloadHash', 'value'), 'spec.content.payloadHash.value') },
      };
      if (get(sig, 'publicKey') !== undefined) facts.verifier = v1Verifier(get(sig, 'publicKey'), 'spec.content.envelope.signatures[0].publicKey');
      return facts;
    }
    default:
      throw new SignetError('UNSUPPORTED_FORMAT', `entry kind ${key} is not supported (hashedrekord 0.0.1/0.0.2, dsse 0.0.1/0.0.2, intoto 0.0.2 are)`);
  }
}

/**
 * Checks that the logged body is the bundle's content: kind and apiVersion equal kindVersion; the logged
 * signature is the bundle's; the logged certificate/key is the signer's; and the logged digest is that of
 * the artifact (hashedrekord over a message signature), of the DSSE payload (dsse, intoto), or, for a
 * DSSE envelope logged as a hashedrekord (Rekor v2), of the PAE — or of the payload, as some clients log it.
 * Returns the problem, or undefined.
 */
export function checkBody(entry: TlogEntry, content: LoggedContent): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(fromUtf8(entry.body));
  } catch {
    return 'has a body that is not JSON';
  }
  const kind = get(body, 'kind');
  const apiVersion = get(body, 'apiVersion');
  if (kind !== entry.kind || apiVersion !== entry.version) {
    return `has a ${String(kind)} ${String(apiVersion)} body, but its kindVersion says ${entry.kind} ${entry.version}`;
  }
  let facts: LoggedFacts;
  try {
    facts = loggedFacts(body, entry.kind, entry.version);
  } catch (e) {
    return `has a body that cannot be read: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (content.kind === 'messageSignature' && !facts.dataDigest) {
    return `is a ${entry.kind} entry, which cannot record a message signature`;
  }
  if (!bytesEqual(facts.signature, content.signature)) return 'records a different signature than the bundle carries';
  if (facts.verifier && !content.verifierMatches(facts.verifier)) {
    return `records a different ${'certificate' in facts.verifier ? 'certificate' : 'public key'} than the bundle's signer`;
  }
  if (facts.dataDigest) {
    const { alg, value } = facts.dataDigest;
    const expected = content.digest(alg);
    if (!expected) return `records a ${alg} digest, and the artifact's ${alg} digest is not known`;
    if (!expected.some((d) => bytesEqual(d, value))) {
      return content.kind === 'messageSignature'
        ? `records the ${alg} digest ${toHex(value).slice(0, 16)}…, not the artifact's`
        : `records the ${alg} digest ${toHex(value).slice(0, 16)}…, which is neither the envelope's PAE nor its payload`;
    }
  }
  if (facts.payloadDigest) {
    if (!content.payloadDigest) return `is a ${entry.kind} entry, which cannot record a message signature`;
    const { alg, value } = facts.payloadDigest;
    if (!bytesEqual(content.payloadDigest(alg), value)) return `records a payload ${alg} digest that is not the envelope payload's`;
  }
  return undefined;
}
