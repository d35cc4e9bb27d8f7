import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  SignetError,
  canonicalize,
  ecPublicKeyFromSpki,
  fromBase64,
  fromHex,
  pae,
  parseCertificate,
  parseEnvelope,
  parsePemBlocks,
  publicKeyFromPem,
  spkiDerFingerprint,
  spkiFingerprint,
  toBase64,
  toHex,
  utf8,
  verifyData,
  verifyEcdsaPrehashed,
  verifyPrehashed,
  type DsseEnvelope,
  type EcPublicKey,
  type ParsedCertificate,
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
  /** A certificate whose key verified one of the entry's signatures is a current leaf of a trusted issuer (our CA). */
  fromTrustedIssuer: boolean;
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
  /** The PEM text as submitted (certificate or public key). */
  pem: string;
  /** The certificate, parsed (RFC 5280, strict DER); absent for a bare public key. */
  cert?: ParsedCertificate;
  /** A certificate's key when it is a named-curve ECDSA key with an uncompressed point (nearly all of them). */
  ec?: EcPublicKey;
  /** The key as a KeyObject, made on first use: OpenSSL's key decoding costs a few hundred microseconds. */
  key: () => KeyObject;
}

/** Reads a base64 PEM certificate or public key, as Rekor's x509 verifier format carries them. */
function readVerifier(content: unknown, where: string): Verifier {
  const pem = Buffer.from(b64(content, where)).toString('utf8');
  if (pem.length > 16_384) invalid(`${where} is too large`);
  const refuse = (e: unknown): never =>
    invalid(`${where} is not a PEM certificate or public key${e instanceof SignetError ? `: ${e.message}` : ''}`);
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) {
      // The first certificate is the signer's, as OpenSSL and Rekor read such a PEM.
      const block = parsePemBlocks(pem).find((b) => b.label === 'CERTIFICATE');
      if (!block) invalid(`${where} is not a PEM certificate or public key: no complete CERTIFICATE block`);
      const cert = parseCertificate(block.der);
      const ec = ecPublicKeyFromSpki(cert.spki);
      let key: KeyObject | undefined;
      return {
        pem,
        cert,
        ...(ec ? { ec } : {}),
        key: () => {
          try {
            key ??= createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
          } catch (e) {
            return refuse(e);
          }
          return key;
        },
      };
    }
    const key = publicKeyFromPem(pem);
    return { pem, key: () => key };
  } catch (e) {
    if (e instanceof TlogError) throw e;
    return refuse(e);
  }
}

function identityKeys(v: Verifier): string[] {
  // For the usual EC form the certificate's SPKI bytes are what OpenSSL would export, so the hash is the same.
  const keys = [`pk:${v.ec && v.cert ? spkiDerFingerprint(v.cert.spki) : spkiFingerprint(v.key())}`];
  for (const n of v.cert?.subjectAltNames ?? []) {
    if (n.type === 'email') keys.push(`email:${n.value.toLowerCase()}`, `subject:${n.value}`);
    else if (n.type === 'uri') keys.push(`subject:${n.value}`);
  }
  return keys;
}

/** Whether a certificate is a current leaf of a trusted issuer (see issuedBy). */
export type TrustedIssuer = (cert: ParsedCertificate) => boolean;

function finish(kind: CanonicalEntry['kind'], apiVersion: string, body: unknown, indexKeys: string[], signers: Verifier[], trusted: TrustedIssuer): CanonicalEntry {
  const bytes = utf8(canonicalize(body));
  if (bytes.length > MAX_BODY_BYTES) invalid(`the canonical entry is ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES}`);
  const fromTrustedIssuer = signers.some((v) => v.cert !== undefined && trusted(v.cert));
  return { kind, apiVersion, body: bytes, indexKeys: [...new Set(indexKeys)], fromTrustedIssuer };
}

/** hashedrekord 0.0.1: a signature over an artifact digest, checked here against the digest. */
async function hashedrekord(spec: Record<string, unknown>, trusted: TrustedIssuer): Promise<CanonicalEntry> {
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
  const digest = fromHex(value);
  let ok: boolean;
  if (verifier.ec) ok = verifyEcdsaPrehashed(verifier.ec, digest, sig);
  else {
    const key = verifier.key();
    const t = key.asymmetricKeyType;
    if (t !== 'ec' && t !== 'rsa') invalid(`a ${t} key cannot sign a hashedrekord entry: the log sees only the digest`);
    ok = verifyPrehashed(key, algorithm as 'sha256', digest, sig);
  }
  if (!ok) {
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
  return finish('hashedrekord', '0.0.1', body, [`${algorithm}:${value}`, ...identityKeys(verifier)], [verifier], trusted);
}

async function verifyEnvelopeSignatures(env: DsseEnvelope, verifiers: Verifier[]): Promise<{ sig: Uint8Array; verifier: Verifier }[]> {
  const signed = pae(env.payloadType, fromBase64(env.payload));
  const out: { sig: Uint8Array; verifier: Verifier }[] = [];
  for (const [i, s] of env.signatures.entries()) {
    const sig = fromBase64(s.sig);
    let match: Verifier | undefined;
    for (const v of verifiers) {
      if (await verifyData(v.key(), signed, sig)) {
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
async function dsse(spec: Record<string, unknown>, trusted: TrustedIssuer): Promise<CanonicalEntry> {
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
  return finish('dsse', '0.0.1', body, [`sha256:${payloadHash}`, ...subjectKeys(env.payloadType, payload), ...matched.flatMap((m) => identityKeys(m.verifier))], matched.map((m) => m.verifier), trusted);
}

/** intoto 0.0.2: payload and signatures arrive base64-encoded twice; the stored body drops the payload. */
async function intoto(spec: Record<string, unknown>, trusted: TrustedIssuer): Promise<CanonicalEntry> {
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
  return finish('intoto', '0.0.2', body, [`sha256:${payloadHash}`, ...subjectKeys(payloadType, payload), ...matched.flatMap((m) => identityKeys(m.verifier))], matched.map((m) => m.verifier), trusted);
}

/**
 * Validates a Rekor v1 ProposedEntry ({kind, apiVersion, spec}), verifies its signature(s), and returns the
 * canonical body. Anything wrong is a TlogError ENTRY_INVALID naming the field.
 */
export async function canonicalizeProposedEntry(value: unknown, trusted: TrustedIssuer = () => false): Promise<CanonicalEntry> {
  const o = obj(value, 'the proposed entry');
  const kind = o['kind'];
  const apiVersion = o['apiVersion'];
  const spec = obj(o['spec'], 'spec');
  if (kind === 'hashedrekord' && apiVersion === '0.0.1') return hashedrekord(spec, trusted);
  if (kind === 'dsse' && apiVersion === '0.0.1') return dsse(spec, trusted);
  if (kind === 'intoto' && apiVersion === '0.0.2') return intoto(spec, trusted);
  invalid(`unsupported entry type ${JSON.stringify(kind)} version ${JSON.stringify(apiVersion)}: this log takes hashedrekord 0.0.1, dsse 0.0.1 and intoto 0.0.2`);
}

