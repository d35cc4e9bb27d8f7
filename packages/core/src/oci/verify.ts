/**
 * Verifying what cosign stores next to an image (reference §1.2–1.4, §6.4): legacy `.sig` layers (a simple-signing
 * payload signed as bytes, keyed or keyless with the certificate, chain, Rekor bundle and timestamp annotations),
 * legacy `.att` layers (DSSE envelopes) and v3 Sigstore bundles found as referrers. Every function returns a Verdict
 * whose checks name what was verified, including that the signed digest is the image's and, for simple signing,
 * that the docker-reference is the expected repository. No I/O: the caller fetched the bytes.
 */
import { BUNDLE_V01_MEDIA_TYPE, parseBundle, type BundleJson, type ParsedBundle } from '../bundle/bundle.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { parsePemBlocks } from '../encoding/pem.js';
import { envelopePayload, parseEnvelope, INTOTO_PAYLOAD_TYPE, type DsseEnvelope } from '../dsse/envelope.js';
import { parseStatement, type Statement } from '../dsse/intoto.js';
import { SignetError } from '../errors.js';
import { fromHex } from '../encoding/hex.js';
import { verifySigstoreBundle, type IdentityPolicy, type SigstoreVerifyOptions } from '../sigstore/verify.js';
import type { TrustedRoot } from '../sigstore/trusted-root.js';
import { sha256 } from '../verify/artifact.js';
import { verifyWithTrustedKeys } from '../verify/pkix-verify.js';
import { VerdictBuilder } from '../verify/verdict.js';
import { verify } from '../verify/verify.js';
import type { Artifact, Check, SignatureKind, TrustedKey, Verdict, VerifyPolicy } from '../verify/types.js';
import { readCosignAnnotations, tlogEntryFromRekorBundle, type CosignLayerAnnotations } from './annotations.js';
import { COSIGN_SIGN_PREDICATE_TYPE, parseDigest } from './media-types.js';
import { parseSimpleSigningPayload, type SimpleSigningPayload } from './simple-signing.js';

/** Keys (cosign --key), or keyless trust: a trusted root and the identity the certificate must name. */
export type ImageTrust =
  | { keys: TrustedKey[]; now?: Date }
  | ({ trustedRoot: TrustedRoot; identity: IdentityPolicy } & Pick<SigstoreVerifyOptions, 'tlogThreshold' | 'ctlogThreshold' | 'timestampThreshold' | 'now'>);

export interface ImageExpectation {
  /** The image manifest digest the signature must be about. */
  digest: string;
  /**
   * The repository the simple-signing docker-reference must name (`host[:port]/path`), or several accepted names
   * (an image copied from another repository keeps the docker-reference it was signed under).
   */
  repository?: string | string[];
}

const isKeyTrust = (t: ImageTrust): t is { keys: TrustedKey[]; now?: Date } => 'keys' in t && !('trustedRoot' in t);

function checkTrust(t: ImageTrust): void {
  if (!t || typeof t !== 'object') throw new SignetError('INVALID_ARGUMENT', 'image trust must be { keys } or { trustedRoot, identity }');
  if (!isKeyTrust(t) && (!('trustedRoot' in t) || !t.trustedRoot || !t.identity)) {
    throw new SignetError('INVALID_ARGUMENT', 'keyless image verification needs a trustedRoot and an identity policy');
  }
}

function imageArtifact(digest: string): Artifact {
  const d = parseDigest(digest);
  return { digest: { algorithm: d.algorithm, value: fromHex(d.hex) } };
}

/** Copies a sub-verdict's checks, signer and statement into `b`. */
function absorb(b: VerdictBuilder, v: Verdict): void {
  for (const c of v.checks) b.check(c.name, c.ok, c.detail);
  if (v.ok && v.signer) {
    const { kind: _kind, ...who } = v.signer;
    b.signer(who);
  }
  if (v.ok && v.statement !== undefined) b.set({ statement: v.statement });
}

function certificatesDer(a: CosignLayerAnnotations): Uint8Array[] {
  const pems = [a.certificate ?? '', a.chain ?? ''].join('\n');
  return parsePemBlocks(pems).filter((p) => p.label === 'CERTIFICATE').map((p) => p.der);
}

/** The keyless material of a legacy layer as a v0.1 bundle (x509 chain, SET-only tlog entry), so one verifier checks both forms. */
function legacyBundle(a: CosignLayerAnnotations, content: Pick<BundleJson, 'messageSignature' | 'dsseEnvelope'>): BundleJson {
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      x509CertificateChain: { certificates: certificatesDer(a).map((d) => ({ rawBytes: toBase64(d) })) },
      tlogEntries: a.rekorBundle ? [tlogEntryFromRekorBundle(a.rekorBundle)] : [],
      ...(a.rfc3161Timestamp ? { timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: toBase64(a.rfc3161Timestamp) }] } } : {}),
    },
    ...content,
  };
}

/** The Sigstore verification options of a keyless image trust (only the thresholds and time it sets). */
function keylessOptions(trust: Exclude<ImageTrust, { keys: TrustedKey[] }>, predicateType: string | undefined): Parameters<typeof verifySigstoreBundle>[2] {
  const { trustedRoot, identity, tlogThreshold, ctlogThreshold, timestampThreshold, now } = trust;
  return {
    trustedRoot,
    identity,
    ...(tlogThreshold !== undefined ? { tlogThreshold } : {}),
    ...(ctlogThreshold !== undefined ? { ctlogThreshold } : {}),
    ...(timestampThreshold !== undefined ? { timestampThreshold } : {}),
    ...(now ? { now } : {}),
    ...(predicateType ? { predicateType } : {}),
  };
}

async function keyless(b: VerdictBuilder, bundle: unknown, artifact: Artifact, trust: Exclude<ImageTrust, { keys: TrustedKey[] }>, predicateType?: string): Promise<void> {
  const v = await verifySigstoreBundle(bundle, artifact, keylessOptions(trust, predicateType));
  // The first check is the bundle 'format' of the converted legacy material; keep the rest.
  absorb(b, { ...v, checks: v.checks.filter((c, i) => !(i === 0 && c.name === 'format' && c.ok)) });
}

/** The docker-reference and digest checks of a verified simple-signing payload. */
function checkClaims(b: VerdictBuilder, p: SimpleSigningPayload, expected: ImageExpectation): void {
  b.check(
    'image-digest',
    p.manifestDigest === expected.digest,
    p.manifestDigest === expected.digest
      ? `the payload signs the image digest ${expected.digest}`
      : `the payload signs ${p.manifestDigest}, not the image digest ${expected.digest}`,
  );
  if (expected.repository === undefined) return;
  const names = Array.isArray(expected.repository) ? expected.repository : [expected.repository];
  const ok = names.includes(p.dockerReference);
  b.check(
    'docker-reference',
    ok,
    ok
      ? `the payload names repository ${p.dockerReference}`
      : `the payload names repository "${p.dockerReference}", expected ${names.map((n) => `"${n}"`).join(' or ')}`,
  );
}

/**
 * Verifies one legacy `.sig` layer: the signature annotation over the payload bytes with a trusted key, or — keyless
 * — the certificate (chain to the trusted root at the Rekor/TSA times, SCT, identity), the Rekor bundle's SET and
 * body; then that the payload's docker-manifest-digest is the image digest and its docker-reference the repository.
 */
export async function verifyLegacySignature(
  layer: { payload: Uint8Array; annotations: unknown },
  expected: ImageExpectation,
  trust: ImageTrust,
  policy?: VerifyPolicy,
): Promise<Verdict> {
  checkTrust(trust);
  parseDigest(expected.digest);
  const b = new VerdictBuilder('cosign');
  let a: CosignLayerAnnotations;
  let payload: SimpleSigningPayload;
  try {
    a = readCosignAnnotations(layer.annotations);
    payload = parseSimpleSigningPayload(layer.payload);
  } catch (e) {
    return b.failWith('format', e instanceof SignetError ? e.message : String(e));
  }
  if (a.signature === '') return b.failWith('signature', 'the layer has an empty signature annotation');
  b.pass('format', `cosign simple-signing layer (${a.certificate ? 'certificate' : 'key'}${a.rekorBundle ? ', Rekor bundle' : ''}${a.rfc3161Timestamp ? ', RFC 3161 timestamp' : ''})`);
  const sig = fromBase64(a.signature, 'signature');
  if (isKeyTrust(trust)) {
    await verifyWithTrustedKeys(b, { keys: trust.keys }, { bytes: layer.payload }, sig, { ...policy, ...(trust.now ? { now: trust.now } : {}) });
  } else {
    if (!a.certificate) return b.failWith('certificate', 'the layer carries no certificate: it was signed with a key, so verify it with that public key');
    let bundle: BundleJson;
    try {
      bundle = legacyBundle(a, {
        messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: toBase64(sha256(layer.payload)) }, signature: a.signature },
      });
    } catch (e) {
      return b.failWith('format', e instanceof SignetError ? e.message : String(e));
    }
    await keyless(b, bundle, { bytes: layer.payload }, trust);
  }
  if (!b.failed) checkClaims(b, payload, expected);
  return b.done();
}

/**
 * Verifies one legacy `.att` layer: a DSSE envelope over an in-toto statement whose subject is the image digest,
 * with a trusted key or keyless (annotations as for signatures); `predicateType` when given must match.
 */
export async function verifyLegacyAttestation(
  layer: { envelope: Uint8Array; annotations: unknown },
  expected: ImageExpectation,
  trust: ImageTrust,
  opts: { predicateType?: string } = {},
): Promise<Verdict> {
  checkTrust(trust);
  const artifact = imageArtifact(expected.digest);
  const b = new VerdictBuilder('dsse');
  let a: CosignLayerAnnotations;
  let env: DsseEnvelope;
  try {
    a = readCosignAnnotations(layer.annotations);
    env = parseEnvelope(JSON.parse(fromUtf8(layer.envelope)));
  } catch (e) {
    return b.failWith('format', e instanceof SignetError ? e.message : 'the layer is not a DSSE envelope (not JSON)');
  }
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) return b.failWith('payload-type', `the envelope holds ${env.payloadType}, not an in-toto statement`);
  b.pass('format', `cosign attestation layer (DSSE, ${a.certificate ? 'certificate' : 'key'})`);
  if (isKeyTrust(trust)) {
    const v = await verify({
      artifact,
      signature: layer.envelope,
      kind: 'dsse',
      trust: { keys: trust.keys },
      policy: { ...(trust.now ? { now: trust.now } : {}), ...(opts.predicateType ? { predicateType: opts.predicateType } : {}) },
    });
    absorb(b, { ...v, checks: v.checks.filter((c) => c.name !== 'format' || !c.ok) });
  } else {
    if (!a.certificate) return b.failWith('certificate', 'the layer carries no certificate: it was signed with a key, so verify it with that public key');
    await keyless(b, legacyBundle(a, { dsseEnvelope: env }), artifact, trust, opts.predicateType);
  }
  return b.done();
}

/** The in-toto statement in a bundle's DSSE envelope; undefined for message-signature bundles or other payloads. */
export function bundleStatement(bundle: ParsedBundle): Statement | undefined {
  const c = bundle.content;
  if (c.kind !== 'dsseEnvelope' || c.envelope.payloadType !== INTOTO_PAYLOAD_TYPE) return undefined;
  try {
    return parseStatement(JSON.parse(fromUtf8(envelopePayload(c.envelope))));
  } catch {
    return undefined;
  }
}

/**
 * Pure claim checks on a statement (no signature): a subject carries the image digest, and the predicate type is
 * cosign's signature type for `purpose: 'signature'`, or the given one for attestations. A registry can use this
 * to index what it receives; a verifier must also verify the signature (verifyImageBundle).
 */
export function checkImageStatement(statement: Statement, imageDigest: string, purpose: 'signature' | 'attestation', predicateType?: string): Check[] {
  const d = parseDigest(imageDigest);
  const checks: Check[] = [];
  const hit = statement.subject.some((s) => s.digest[d.algorithm]?.toLowerCase() === d.hex);
  checks.push({
    name: 'subject',
    ok: hit,
    detail: hit ? `the statement's subject is the image ${imageDigest}` : `no subject of the statement has the image digest ${imageDigest}`,
  });
  const want = purpose === 'signature' ? COSIGN_SIGN_PREDICATE_TYPE : predicateType;
  if (want !== undefined) {
    const ok = statement.predicateType === want;
    checks.push({ name: 'predicate-type', ok, detail: ok ? `predicate type is ${want}` : `predicate type is ${statement.predicateType}, expected ${want}` });
  }
  return checks;
}

/**
 * Verifies a Sigstore bundle found as a referrer of an image (cosign v3 / @sigstore/oci): a DSSE envelope over an
 * in-toto statement whose subject is the image digest; for signatures the predicate type must be
 * https://sigstore.dev/cosign/sign/v1, for attestations `predicateType` when given. Keys or keyless trust.
 */
export async function verifyImageBundle(
  bundle: Uint8Array | string | unknown,
  expected: { digest: string },
  trust: ImageTrust,
  opts: { purpose: 'signature' | 'attestation'; predicateType?: string },
): Promise<Verdict> {
  checkTrust(trust);
  const artifact = imageArtifact(expected.digest);
  const kind: SignatureKind = 'sigstore-bundle';
  const b = new VerdictBuilder(kind);
  let parsed: ParsedBundle;
  let json: unknown = bundle;
  try {
    if (typeof bundle === 'string' || bundle instanceof Uint8Array) json = JSON.parse(typeof bundle === 'string' ? bundle : fromUtf8(bundle));
    parsed = parseBundle(json);
  } catch (e) {
    return b.failWith('format', e instanceof SignetError ? e.message : 'the bundle is not valid JSON');
  }
  const st = bundleStatement(parsed);
  if (!st) {
    return b.failWith(
      'format',
      parsed.content.kind === 'dsseEnvelope'
        ? 'the bundle\'s DSSE envelope does not hold an in-toto statement'
        : 'the bundle holds a message signature; image signatures are DSSE envelopes over an in-toto statement about the image digest',
    );
  }
  const predicateType = opts.purpose === 'signature' ? COSIGN_SIGN_PREDICATE_TYPE : opts.predicateType;
  if (!isKeyTrust(trust) && parsed.keyMaterial.kind === 'publicKey') {
    return b.failWith('certificate', 'the bundle is signed with a key and carries no certificate: verify it with that public key');
  }
  let v: Verdict;
  if (isKeyTrust(trust)) {
    v = await verify({ artifact, signature: JSON.stringify(json), kind, trust: { keys: trust.keys }, policy: { ...(trust.now ? { now: trust.now } : {}), ...(predicateType ? { predicateType } : {}) } });
  } else {
    v = await verifySigstoreBundle(parsed, artifact, keylessOptions(trust, predicateType));
  }
  absorb(b, v);
  return b.done();
}
