import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import {
  SignetError,
  canonicalize,
  fromBase64,
  fromHex,
  pae,
  parseEnvelope,
  publicKeyFromPem,
  spkiFingerprint,
  toBase64,
  toHex,
  utf8,
  verifyData,
  verifyPrehashed,
  type DsseEnvelope,
} from '@signet/core';
import { TlogError } from './errors.js';

/** A proposed entry after validation: the canonical body the log stores and the search keys it indexes. */
export interface CanonicalEntry {
  kind: 'hashedrekord' | 'dsse' | 'intoto';
  apiVersion: string;
  /** RFC 8785 canonical JSON of the body (Rekor's CanonicalizeEntry). */
  body: Uint8Array;
  /** "sha256:<hex>", "pk:<sha256 of SPKI>", "email:<addr>", "subject:<s>". */
  indexKeys: string[];
  /** PEM certificates whose keys verified the entry's signatures (keyless entries); empty for bare keys. */
  certificates: string[];
  /** Set by the verifier pool: one of those certificates is a current leaf of a trusted issuer (our CA). */
  fromTrustedIssuer?: boolean;
}

/** Bodies go into C2SP entry bundles with 16-bit length prefixes. */
export const MAX_BODY_BYTES = 65_535;

function invalid(msg: string): never {
  throw new TlogError('ENTRY_INVALID', msg);
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) invalid(`${where} must be an object`);
  return v as Record<string, unknown>;
}

function b64(v: unknown, where: string): Uint8Array {
  if (typeof v !== 'string' || v === '') invalid(`${where} must be a base64 string`);
  try {
    return fromBase64(v, where);
  } catch {
    invalid(`${where} is not valid base64`);
  }
}

const HEX_LEN: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

interface Verifier {
  key: KeyObject;
  /** The PEM text as submitted (certificate or public key). */
  pem: string;
  cert?: X509Certificate;
}

/** Reads a base64 PEM certificate or public key, as Rekor's x509 verifier format carries them. */
function readVerifier(content: unknown, where: string): Verifier {
  const pem = Buffer.from(b64(content, where)).toString('utf8');
  if (pem.length > 16_384) invalid(`${where} is too large`);
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) {
      const cert = new X509Certificate(pem);
      return { key: cert.publicKey, pem, cert };
    }
    return { key: publicKeyFromPem(pem), pem };
  } catch (e) {
    invalid(`${where} is not a PEM certificate or public key${e instanceof SignetError ? `: ${e.message}` : ''}`);
  }
}

function identityKeys(v: Verifier): string[] {
  const keys = [`pk:${spkiFingerprint(v.key)}`];
  const san = v.cert?.subjectAltName ?? '';
  for (const part of san.split(/,\s*/)) {
    const m = /^(email|URI):(.+)$/.exec(part);
    if (!m) continue;
    const value = (m[2] as string).trim();
    if (m[1] === 'email') keys.push(`email:${value.toLowerCase()}`);
    keys.push(`subject:${value}`);
  }
  return keys;
}

function finish(kind: CanonicalEntry['kind'], apiVersion: string, body: unknown, indexKeys: string[], signers: Verifier[]): CanonicalEntry {
  const bytes = utf8(canonicalize(body));
  if (bytes.length > MAX_BODY_BYTES) invalid(`the canonical entry is ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES}`);
  const certificates = [...new Set(signers.filter((v) => v.cert).map((v) => v.pem))];
  return { kind, apiVersion, body: bytes, indexKeys: [...new Set(indexKeys)], certificates };
}

/** hashedrekord 0.0.1: a signature over an artifact digest, checked here against the digest. */
async function hashedrekord(spec: Record<string, unknown>): Promise<CanonicalEntry> {
  const hash = obj(obj(spec['data'], 'spec.data')['hash'], 'spec.data.hash');
  const algorithm = hash['algorithm'];
  if (typeof algorithm !== 'string' || !(algorithm in HEX_LEN)) invalid('spec.data.hash.algorithm must be sha256, sha384 or sha512');
  const value = hash['value'];
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-f]{${HEX_LEN[algorithm]}}$`).test(value)) {
    invalid(`spec.data.hash.value must be ${HEX_LEN[algorithm]} lowercase hex digits`);
  }
  const sigObj = obj(spec['signature'], 'spec.signature');
  const sig = b64(sigObj['content'], 'spec.signature.content');
  if (sig.length > 1024) invalid('spec.signature.content is too large');
  const verifier = readVerifier(obj(sigObj['publicKey'], 'spec.signature.publicKey')['content'], 'spec.signature.publicKey.content');
  const t = verifier.key.asymmetricKeyType;
  if (t !== 'ec' && t !== 'rsa') invalid(`a ${t} key cannot sign a hashedrekord entry: the log sees only the digest`);
  if (!verifyPrehashed(verifier.key, algorithm as 'sha256', fromHex(value), sig)) {
    invalid('the signature does not verify against the digest with the given key');
  }
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm, value } },
      signature: { content: toBase64(sig), publicKey: { content: toBase64(utf8(verifier.pem)) } },
    },
  };
  return finish('hashedrekord', '0.0.1', body, [`${algorithm}:${value}`, ...identityKeys(verifier)], [verifier]);
}

async function verifyEnvelopeSignatures(env: DsseEnvelope, verifiers: Verifier[]): Promise<{ sig: Uint8Array; verifier: Verifier }[]> {
  const signed = pae(env.payloadType, fromBase64(env.payload));
  const out: { sig: Uint8Array; verifier: Verifier }[] = [];
  for (const [i, s] of env.signatures.entries()) {
    const sig = fromBase64(s.sig);
    let match: Verifier | undefined;
    for (const v of verifiers) {
      if (await verifyData(v.key, signed, sig)) {
        match = v;
        break;
      }
    }
    if (!match) invalid(`envelope signature ${i} does not verify with any of the given verifiers`);
    out.push({ sig, verifier: match });
  }
  return out;
}

function subjectKeys(payloadType: string, payload: Uint8Array): string[] {
  if (!/^application\/vnd\.in-toto(\.[^+]+)?\+json$/.test(payloadType)) return [];
  try {
    const st = JSON.parse(Buffer.from(payload).toString('utf8')) as { subject?: { digest?: Record<string, string> }[] };
    const keys: string[] = [];
    for (const s of st.subject ?? []) {
      for (const [alg, hex] of Object.entries(s.digest ?? {})) if (typeof hex === 'string' && /^[0-9a-f]+$/i.test(hex)) keys.push(`${alg}:${hex.toLowerCase()}`);
    }
    return keys.slice(0, 64);
  } catch {
    return [];
  }
}

const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** dsse 0.0.1: an envelope plus the keys that verify it; the envelope itself is not stored. */
async function dsse(spec: Record<string, unknown>): Promise<CanonicalEntry> {
  const pc = obj(spec['proposedContent'], 'spec.proposedContent');
  const envText = pc['envelope'];
  if (typeof envText !== 'string') invalid('spec.proposedContent.envelope must be the DSSE envelope as a JSON string');
  let env: DsseEnvelope;
  try {
    env = parseEnvelope(JSON.parse(envText));
  } catch (e) {
    invalid(`spec.proposedContent.envelope is not a DSSE envelope: ${(e as Error).message}`);
  }
  const vs = pc['verifiers'];
  if (!Array.isArray(vs) || vs.length === 0 || vs.length > 16) invalid('spec.proposedContent.verifiers must list 1 to 16 base64 PEM keys or certificates');
  const verifiers = vs.map((v, i) => readVerifier(v, `spec.proposedContent.verifiers[${i}]`));
  const matched = await verifyEnvelopeSignatures(env, verifiers);
  const payload = fromBase64(env.payload);
  const signatures = matched
    .map((m) => ({ signature: toBase64(m.sig), verifier: toBase64(utf8(m.verifier.pem)) }))
    .sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  const payloadHash = sha256hex(payload);
  const body = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256hex(utf8(envText)) },
      payloadHash: { algorithm: 'sha256', value: payloadHash },
      signatures,
    },
  };
  return finish('dsse', '0.0.1', body, [`sha256:${payloadHash}`, ...subjectKeys(env.payloadType, payload), ...matched.flatMap((m) => identityKeys(m.verifier))], matched.map((m) => m.verifier));
}

/** intoto 0.0.2: payload and signatures arrive base64-encoded twice; the stored body drops the payload. */
async function intoto(spec: Record<string, unknown>): Promise<CanonicalEntry> {
  const content = obj(spec['content'], 'spec.content');
  const e = obj(content['envelope'], 'spec.content.envelope');
  const payloadType = e['payloadType'];
  if (typeof payloadType !== 'string' || payloadType === '') invalid('spec.content.envelope.payloadType must be a string');
  const payloadB64 = Buffer.from(b64(e['payload'], 'spec.content.envelope.payload')).toString('utf8');
  const sigs = e['signatures'];
  if (!Array.isArray(sigs) || sigs.length === 0 || sigs.length > 16) invalid('spec.content.envelope.signatures must hold 1 to 16 signatures');
  const verifiers: Verifier[] = [];
  const envSigs = sigs.map((s, i) => {
    const so = obj(s, `spec.content.envelope.signatures[${i}]`);
    verifiers.push(readVerifier(so['publicKey'], `spec.content.envelope.signatures[${i}].publicKey`));
    return { keyid: typeof so['keyid'] === 'string' ? so['keyid'] : '', sig: Buffer.from(b64(so['sig'], `spec.content.envelope.signatures[${i}].sig`)).toString('utf8') };
  });
  let env: DsseEnvelope;
  try {
    env = parseEnvelope({ payloadType, payload: payloadB64, signatures: envSigs });
  } catch (err) {
    invalid(`spec.content.envelope: ${(err as Error).message}`);
  }
  const matched = await verifyEnvelopeSignatures(env, verifiers);
  const payload = fromBase64(env.payload);
  const payloadHash = sha256hex(payload);
  // The envelope hash: JCS of the envelope with each signature's verifier in it (keyid only when non-empty),
  // as sigstore-js computes it (witness/tlog/entry.js calculateDSSEHash: the PEM as text). Rekor marshals the
  // verifier as base64 of the PEM; a client may send either, and the one sent is kept.
  const hashWith = (key: (v: Verifier) => string): string =>
    sha256hex(
      utf8(
        canonicalize({
          payloadType,
          payload: env.payload,
          signatures: env.signatures.map((s, i) => ({ ...(s.keyid ? { keyid: s.keyid } : {}), sig: s.sig, publicKey: key(verifiers[i] as Verifier) })),
        }),
      ),
    );
  const candidates = [hashWith((v) => v.pem), hashWith((v) => toBase64(utf8(v.pem)))];
  const givenHash = (content['hash'] as { value?: unknown } | undefined)?.value;
  if (givenHash !== undefined && !candidates.includes(givenHash as string)) invalid('spec.content.hash.value does not match the envelope');
  const envelopeHash = (givenHash as string | undefined) ?? (candidates[0] as string);
  const givenPayloadHash = (content['payloadHash'] as { value?: unknown } | undefined)?.value;
  if (givenPayloadHash !== undefined && givenPayloadHash !== payloadHash) invalid('spec.content.payloadHash.value does not match the envelope payload');
  const body = {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: {
          payloadType,
          signatures: env.signatures.map((s, i) => ({
            ...(s.keyid ? { keyid: s.keyid } : {}),
            sig: toBase64(utf8(s.sig)),
            publicKey: toBase64(utf8((verifiers[i] as Verifier).pem)),
          })),
        },
        hash: { algorithm: 'sha256', value: envelopeHash },
        payloadHash: { algorithm: 'sha256', value: payloadHash },
      },
    },
  };
  return finish('intoto', '0.0.2', body, [`sha256:${payloadHash}`, ...subjectKeys(payloadType, payload), ...matched.flatMap((m) => identityKeys(m.verifier))], matched.map((m) => m.verifier));
}

/**
 * Validates a Rekor v1 ProposedEntry ({kind, apiVersion, spec}), verifies its signature(s), and returns the
 * canonical body. Anything wrong is a TlogError ENTRY_INVALID naming the field.
 */
export async function canonicalizeProposedEntry(value: unknown): Promise<CanonicalEntry> {
  const o = obj(value, 'the proposed entry');
  const kind = o['kind'];
  const apiVersion = o['apiVersion'];
  const spec = obj(o['spec'], 'spec');
  if (kind === 'hashedrekord' && apiVersion === '0.0.1') return hashedrekord(spec);
  if (kind === 'dsse' && apiVersion === '0.0.1') return dsse(spec);
  if (kind === 'intoto' && apiVersion === '0.0.2') return intoto(spec);
  invalid(`unsupported entry type ${JSON.stringify(kind)} version ${JSON.stringify(apiVersion)}: this log takes hashedrekord 0.0.1, dsse 0.0.1 and intoto 0.0.2`);
}

