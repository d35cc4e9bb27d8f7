import { X509Certificate, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromBase64, isBase64 } from '../encoding/base64.js';
import { bytesEqual, fromUtf8, looksLikeText, utf8 } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { hashForKey, spkiFingerprint, verifyData } from '../keys/pkix.js';
import { isBundleJson, parseBundle, type ParsedBundle } from '../bundle/bundle.js';
import { envelopePayload, parseEnvelope, INTOTO_PAYLOAD_TYPE, type DsseEnvelope } from '../dsse/envelope.js';
import { pae } from '../dsse/pae.js';
import { findSubject, parseStatement, type Statement } from '../dsse/intoto.js';
import { detectPgp } from '../pgp/detect.js';
import { isSshSignature, verifySshSig } from '../sshsig/index.js';
import { isMinisignSignature, isSignifySignature, verifyMinisign, verifySignify } from '../minisign/index.js';
import { artifactBytes, artifactDigest } from './artifact.js';
import { pkixKeys, verifyWithTrustedKeys, type PkixKey, type SignedData } from './pkix-verify.js';
import type { Artifact, PgpVerifier, SignatureKind, TrustMaterial, Verdict, VerifyPolicy } from './types.js';
import { VerdictBuilder, checkValidity } from './verdict.js';

export interface VerifyRequest {
  /** What was signed: its bytes, or a digest of them. */
  artifact: Artifact;
  /** The signature material as found on disk or on the wire; its kind is detected from the content. */
  signature: Uint8Array | string;
  trust: TrustMaterial;
  policy?: VerifyPolicy;
  /** Skip detection and treat the signature as this kind. */
  kind?: SignatureKind;
}

export interface VerifyOptions {
  /** OpenPGP support, from `@signet/core/pgp` (kept out of the main entry so openpgp loads only when wanted). */
  pgp?: PgpVerifier;
}

/** Signature material larger than this is refused before parsing (bundles and armored signatures are small). */
export const MAX_SIGNATURE_BYTES = 16 << 20;

function asJson(bytes: Uint8Array): unknown {
  const first = bytes.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
  if (first !== 0x7b) return undefined; // '{'
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Detects the kind of signature material from its content: a Sigstore bundle, a DSSE envelope, cosign's
 * base64 signature (or its older JSON bundle), OpenPGP armored/binary/cleartext, an SSH signature,
 * minisign or signify.
 */
export function detectSignatureKind(signature: Uint8Array | string): SignatureKind | undefined {
  const bytes = typeof signature === 'string' ? utf8(signature) : signature;
  return detectKind(bytes, asJson(bytes));
}

function detectKind(bytes: Uint8Array, json: unknown): SignatureKind | undefined {
  if (json !== undefined) {
    const j = json as Record<string, unknown>;
    if (isBundleJson(j)) return 'sigstore-bundle';
    if (typeof j['payloadType'] === 'string' && Array.isArray(j['signatures'])) return 'dsse';
    if (typeof j['base64Signature'] === 'string') return 'cosign';
    if (typeof j['mediaType'] === 'string') return 'sigstore-bundle';
    return undefined;
  }
  if (isSshSignature(bytes)) return 'sshsig';
  const pgp = detectPgp(bytes);
  if (pgp === 'armored-signature' || pgp === 'cleartext' || pgp === 'binary-signature') return 'pgp';
  if (isMinisignSignature(bytes)) return 'minisign';
  if (isSignifySignature(bytes)) return 'signify';
  if (looksLikeText(bytes) && isBase64(fromUtf8(bytes).trim())) return 'cosign';
  // A raw DER ECDSA signature (SEQUENCE of two INTEGERs), as some tools write with --output-signature.
  if (bytes.length > 8 && bytes.length < 600 && bytes[0] === 0x30 && bytes[2] === 0x02) return 'cosign';
  return undefined;
}

/**
 * The one verification entry point: artifact + signature material + trust material + policy → verdict.
 * A wrong key, a changed artifact, an expired key or a broken signature gives ok=false with the failing
 * check named. Only misuse throws (e.g. OpenPGP material without the pgp verifier).
 */
export async function verify(req: VerifyRequest, opts: VerifyOptions = {}): Promise<Verdict> {
  const sig = typeof req.signature === 'string' ? utf8(req.signature) : req.signature;
  if (sig.length > MAX_SIGNATURE_BYTES) {
    throw new SignetError('INVALID_ARGUMENT', `signature material is ${sig.length} bytes; the limit is ${MAX_SIGNATURE_BYTES}`);
  }
  // JSON material (bundles, envelopes) is parsed once here and handed on.
  const json = asJson(sig);
  const kind = req.kind ?? detectKind(sig, json);
  if (!kind) {
    throw new SignetError(
      'UNSUPPORTED_FORMAT',
      'unrecognised signature: expected a Sigstore bundle, DSSE envelope, cosign signature, OpenPGP, SSH, minisign or signify signature',
    );
  }
  const { artifact, trust, policy } = req;
  switch (kind) {
    case 'sigstore-bundle':
      return verifyBundleJson(artifact, json, trust, policy);
    case 'dsse':
      return verifyDsseJson(artifact, json, trust, policy);
    case 'cosign':
      return verifyCosignSignature(artifact, sig, json, trust, policy);
    case 'sshsig':
      return parseFailureAsVerdict(kind, () => verifySshSig(artifact, sig, trust, policy));
    case 'minisign':
      return parseFailureAsVerdict(kind, () => verifyMinisign(artifact, sig, trust, policy));
    case 'signify':
      return parseFailureAsVerdict(kind, () => verifySignify(artifact, sig, trust, policy));
    case 'pgp': {
      if (!opts.pgp) {
        throw new SignetError('PGP_NOT_LOADED', 'OpenPGP signatures need the verifier from @signet/core/pgp: verify(req, { pgp: pgpVerifier })');
      }
      if (detectPgp(sig) === 'cleartext') return opts.pgp.verifyCleartext(sig, trust, policy);
      return opts.pgp.verifyDetached(artifact, sig, trust, policy);
    }
  }
}

/**
 * Material detected as one kind but malformed inside (truncated, bad lengths) is a failed 'format'
 * check, like every other broken signature, not an exception.
 */
async function parseFailureAsVerdict(kind: SignatureKind, fn: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof SignetError && (e.code === 'SIGNATURE_PARSE_FAILED' || e.code === 'MALFORMED_INPUT')) {
      return new VerdictBuilder(kind).failWith('format', e.message);
    }
    throw e;
  }
}

function signedData(artifact: Artifact, hash: 'sha256' | 'sha384' | 'sha512' = 'sha256'): SignedData | undefined {
  const bytes = artifactBytes(artifact);
  if (bytes) return { bytes };
  const d = artifactDigest(artifact, hash);
  return d ? { digest: { algorithm: hash, value: d } } : undefined;
}

async function verifyCosignSignature(
  artifact: Artifact,
  sigBytes: Uint8Array,
  json: unknown,
  trust: TrustMaterial,
  policy?: VerifyPolicy,
): Promise<Verdict> {
  const b = new VerdictBuilder('cosign');
  let sig: Uint8Array;
  let certPem: string | undefined;
  const j = json as Record<string, unknown> | undefined;
  try {
    if (j) {
      // cosign's pre-v3 `--bundle` JSON: {base64Signature, cert (base64 PEM), rekorBundle}.
      sig = fromBase64(String(j['base64Signature']), 'base64Signature');
      if (typeof j['cert'] === 'string' && j['cert'] !== '') certPem = fromUtf8(fromBase64(j['cert'], 'cert'));
    } else if (looksLikeText(sigBytes) && isBase64(fromUtf8(sigBytes).trim())) {
      // Base64 text first: base64 of a signature may well start with "0" (0x30), like DER.
      sig = fromBase64(fromUtf8(sigBytes).trim(), 'cosign signature');
    } else if (sigBytes[0] === 0x30) {
      sig = sigBytes;
    } else {
      throw new SignetError('MALFORMED_INPUT', 'the signature is neither base64 nor DER');
    }
  } catch (e) {
    return b.failWith('format', e instanceof SignetError ? e.message : 'signature is neither base64 nor DER');
  }
  b.pass('format', `cosign signature (${sig.length} bytes${certPem ? ', with certificate' : ''})`);
  let keys = trust;
  if (certPem) {
    const r = certificateKeys(b, [pemToDer(certPem)], trust);
    if (!r) return b.done();
    keys = r;
  }
  const data = signedData(artifact);
  if (!data) return b.failWith('artifact', 'a cosign signature is checked against the artifact bytes or its sha256 digest');
  await verifyWithTrustedKeys(b, keys, data, sig, policy);
  return b.done();
}

function pemToDer(pem: string): Uint8Array {
  return new Uint8Array(new X509Certificate(pem).raw);
}

/**
 * For certificate-carrying signatures checked with keys: the leaf's public key must itself be trusted
 * (cosign's --key with a certificate). Keyless trust (CA chain, identity, transparency) is not derived
 * from keys, so without a matching key the check fails and says what is needed.
 */
function certificateKeys(b: VerdictBuilder, certs: Uint8Array[], trust: TrustMaterial): TrustMaterial | undefined {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(Buffer.from(certs[0]!));
  } catch {
    b.fail('format', 'the signing certificate cannot be parsed');
    return undefined;
  }
  const fp = spkiFingerprint(leaf.publicKey);
  const match = pkixKeys(trust).filter((k) => k.fingerprint === fp);
  if (match.length === 0) {
    b.fail(
      'key',
      `signed with a certificate (subject "${leaf.subject || leaf.subjectAltName || 'none'}") whose key is not among the trusted keys; ` +
        'keyless signatures are verified against a certificate identity and a trusted root, not a key',
    );
    return undefined;
  }
  const now = new Date();
  const validity = match[0]!.validity ?? { notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) };
  const v = checkValidity(validity, now);
  if (v && !v.ok) {
    b.fail('key-validity', `certificate: ${v.detail}`);
    return undefined;
  }
  return { keys: match };
}

async function verifyBundleJson(artifact: Artifact, json: unknown, trust: TrustMaterial, policy?: VerifyPolicy): Promise<Verdict> {
  const b = new VerdictBuilder('sigstore-bundle');
  let bundle: ParsedBundle;
  try {
    if (json === undefined) return b.failWith('format', 'the bundle is not valid JSON');
    bundle = parseBundle(json);
  } catch (e) {
    return b.failWith('format', e instanceof SignetError ? e.message : 'the bundle cannot be parsed');
  }
  return verifyParsedBundle(b, bundle, artifact, trust, policy);
}

/** Verifies an already-parsed bundle; exported for callers (servers, bulk verifiers) that parse once. */
export async function verifyBundle(bundle: ParsedBundle, artifact: Artifact, trust: TrustMaterial, policy?: VerifyPolicy): Promise<Verdict> {
  return verifyParsedBundle(new VerdictBuilder('sigstore-bundle'), bundle, artifact, trust, policy);
}

async function verifyParsedBundle(
  b: VerdictBuilder,
  bundle: ParsedBundle,
  artifact: Artifact,
  trust: TrustMaterial,
  policy?: VerifyPolicy,
): Promise<Verdict> {
  const c = bundle.content;
  b.pass(
    'format',
    `Sigstore bundle v${bundle.version} (${c.kind === 'messageSignature' ? 'message signature' : 'DSSE envelope'}, ${
      bundle.keyMaterial.kind === 'publicKey' ? 'public key' : 'certificate'
    })`,
  );
  let keys = trust;
  let hint: string | undefined;
  if (bundle.keyMaterial.kind === 'certificate') {
    const r = certificateKeys(b, bundle.keyMaterial.certificates, trust);
    if (!r) return b.done();
    keys = r;
  } else {
    hint = bundle.keyMaterial.hint || undefined;
  }
  if (c.kind === 'dsseEnvelope') {
    await verifyEnvelope(b, c.envelope, artifact, keys, policy, hint);
    return b.done();
  }
  // messageSignature: the digest in the bundle must be the artifact's, then the signature must cover the artifact.
  const alg = c.digest?.algorithm ?? 'sha256';
  if (c.digest) {
    const d = artifactDigest(artifact, alg);
    if (!d) return b.failWith('artifact', `the bundle records a ${alg} digest; the artifact was given as another digest`);
    if (!bytesEqual(d, c.digest.value)) {
      return b.failWith('artifact', `the artifact's ${alg} digest ${toHex(d)} differs from the digest the bundle signs (${toHex(c.digest.value)})`);
    }
    b.pass('artifact', `artifact ${alg} digest matches the bundle`);
  }
  const data = signedData(artifact, alg);
  if (!data) return b.failWith('artifact', `the artifact must be given as bytes or as a ${alg} digest`);
  await verifyWithTrustedKeys(b, keys, data, c.signature, policy, hint, alg);
  return b.done();
}

async function verifyDsseJson(artifact: Artifact, json: unknown, trust: TrustMaterial, policy?: VerifyPolicy): Promise<Verdict> {
  const b = new VerdictBuilder('dsse');
  let env: DsseEnvelope;
  try {
    if (json === undefined) return b.failWith('format', 'the envelope is not valid JSON');
    env = parseEnvelope(json);
  } catch (e) {
    return b.failWith('format', e instanceof SignetError ? e.message : 'the DSSE envelope cannot be parsed');
  }
  b.pass('format', `DSSE envelope (${env.payloadType}, ${env.signatures.length} signature${env.signatures.length === 1 ? '' : 's'})`);
  await verifyEnvelope(b, env, artifact, trust, policy);
  return b.done();
}

/**
 * DSSE does not record a hash. ECDSA P-384/P-521 envelopes are made with the curve's hash by cosign and
 * sigstore-go, but with SHA-256 by sigstore-js (Node's default for EC keys); both are accepted, as each
 * binds the same PAE.
 */
async function verifyPae(key: KeyObject, signed: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (await verifyData(key, signed, sig)) return true;
  return key.asymmetricKeyType === 'ec' && hashForKey(key) !== 'sha256' && verifyData(key, signed, sig, 'sha256');
}

/** Keys whose fingerprint or name equals the hint first, then the rest. */
function preferred(keys: PkixKey[], hint: string | undefined): PkixKey[] {
  if (!hint) return keys;
  const hit = (k: PkixKey): boolean => k.fingerprint === hint || k.name === hint;
  return [...keys.filter(hit), ...keys.filter((k) => !hit(k))];
}

/**
 * DSSE: some signature over PAE(payloadType, payload) must verify with a trusted key; then the payload
 * must be about the artifact: an in-toto statement naming its digest as a subject, or else the artifact
 * itself.
 */
export async function verifyEnvelope(
  b: VerdictBuilder,
  env: DsseEnvelope,
  artifact: Artifact,
  trust: TrustMaterial,
  policy: VerifyPolicy | undefined,
  hint?: string,
): Promise<void> {
  const payload = envelopePayload(env);
  const signed = pae(env.payloadType, payload);
  const keys = pkixKeys(trust);
  if (keys.length === 0) {
    b.fail('key', 'the trust material holds no PEM public key or certificate to check this envelope with');
    return;
  }
  let found: PkixKey | undefined;
  for (const s of env.signatures) {
    let sig: Uint8Array;
    try {
      sig = fromBase64(s.sig, 'DSSE signature');
    } catch {
      continue;
    }
    for (const k of preferred(keys, hint ?? s.keyid)) {
      if (await verifyPae(k.key, signed, sig)) {
        found = k;
        break;
      }
    }
    if (found) break;
  }
  if (!found) {
    b.fail('signature', `no signature in the envelope verifies with the ${keys.length === 1 ? 'trusted key' : `${keys.length} trusted keys`}`);
    return;
  }
  b.pass('key', `signed by trusted key ${found.name ? `"${found.name}" ` : ''}(sha256:${found.fingerprint})`);
  b.pass('signature', 'envelope signature verifies over the DSSE PAE');
  const v = checkValidity(found.validity, policy?.now ?? new Date());
  if (v) b.check('key-validity', v.ok, v.detail);
  b.signer({ keyId: `sha256:${found.fingerprint}`, ...(found.name ? { identity: found.name } : {}) });

  if (env.payloadType !== INTOTO_PAYLOAD_TYPE && !/^application\/vnd\.in-toto\.[^+]+\+json$/.test(env.payloadType)) {
    if (policy?.predicateType) {
      b.fail('payload-type', `expected an in-toto attestation, found payload type ${env.payloadType}`);
      return;
    }
    const bytes = artifactBytes(artifact);
    const same = bytes ? bytesEqual(bytes, payload) : bytesEqual(artifactDigest(artifact, 'sha256') ?? new Uint8Array(), artifactDigest({ bytes: payload }, 'sha256')!);
    b.check('artifact', same, same ? 'the envelope payload is the artifact' : 'the envelope payload is not the artifact');
    return;
  }
  let st: Statement;
  try {
    st = parseStatement(JSON.parse(fromUtf8(payload)));
  } catch (e) {
    b.fail('format', e instanceof SignetError ? e.message : 'the in-toto payload is not JSON');
    return;
  }
  const d256 = artifactDigest(artifact, 'sha256');
  const d512 = artifactDigest(artifact, 'sha512');
  const subject = (d256 && findSubject(st, 'sha256', toHex(d256))) || (d512 && findSubject(st, 'sha512', toHex(d512)));
  if (!subject) {
    b.fail('subject', `no subject of the statement has the artifact's digest${d256 ? ` (sha256:${toHex(d256)})` : ''}`);
  } else {
    b.pass('subject', `artifact is subject "${subject.name ?? ''}" of the statement`);
  }
  if (policy?.predicateType) {
    b.check(
      'predicate-type',
      st.predicateType === policy.predicateType,
      st.predicateType === policy.predicateType
        ? `predicate type is ${st.predicateType}`
        : `predicate type is ${st.predicateType}, expected ${policy.predicateType}`,
    );
  }
  b.set({ statement: st });
}
