/**
 * Sigstore bundle verification against a trusted root, keyless (Fulcio certificate + identity policy) or with
 * a public key, as the sigstore clients do it (reference §4.3): transparency log entries (body, SET or
 * checkpoint + inclusion proof), timestamps (SET integrated times and RFC 3161 tokens), the certificate
 * chain at every verified timestamp, embedded SCTs, the signature over the artifact, and the identity.
 * Every check is a named entry of the verdict; a bundle that does not verify gives ok=false, never an
 * exception. Only misuse (no trusted root, a bad threshold or regular expression) throws.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { bytesEqual, fromUtf8 } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { spkiDer, spkiFingerprint } from '../keys/pkix.js';
import { parseBundle, type ParsedBundle } from '../bundle/bundle.js';
import { envelopePayload } from '../dsse/envelope.js';
import { pae } from '../dsse/pae.js';
import { parseCertificate } from '../x509/parse.js';
import { verifyCertificateChain } from '../x509/chain.js';
import { fulcioIdentity, type FulcioClaims, type FulcioIdentity } from '../x509/fulcio.js';
import { verifyEmbeddedScts, type CtLog } from '../x509/sct.js';
import { OID } from '../x509/oids.js';
import { verifyTimeStampToken } from '../tsa/verify.js';
import { artifactDigest } from '../verify/artifact.js';
import { pkixKeys, verifyWithTrustedKeys, type PkixKey, type SignedData } from '../verify/pkix-verify.js';
import { verifyEnvelope } from '../verify/verify.js';
import { VerdictBuilder } from '../verify/verdict.js';
import type { Artifact, Signer, TrustMaterial, Verdict, VerifyPolicy } from '../verify/types.js';
import { describeValidity, validAt, type TransparencyLogInstance, type TrustedRoot } from './trusted-root.js';
import { checkBody, findLog, hashBytes, parseTlogEntry, verifyInclusionProof, verifySet, type LoggedContent, type LoggedVerifier, type TlogEntry } from './tlog.js';

/** What the signing certificate must say (cosign's --certificate-identity[-regexp], --certificate-oidc-issuer[-regexp]). */
export interface IdentityPolicy {
  /** The SAN (email, URI or Fulcio username), exactly. */
  subjectAlternativeName?: string;
  /** A regular expression the whole SAN must match (anchored: ^(?:…)$). */
  subjectAlternativeNameRegExp?: string;
  /** The OIDC issuer (Fulcio extension .8, else .1), exactly. */
  issuer?: string;
  issuerRegExp?: string;
  /** Further Fulcio claims that must be equal (cosign's --certificate-github-workflow-* and the like). */
  claims?: Partial<Record<keyof FulcioClaims, string>>;
}

export interface SigstoreVerifyOptions {
  trustedRoot: TrustedRoot;
  /** Required for certificate bundles: without it the verdict fails check 'identity'. */
  identity?: IdentityPolicy;
  /** For public-key bundles. */
  keys?: TrustMaterial;
  /** Verified transparency log entries needed; default 1. */
  tlogThreshold?: number;
  /** Verified SCTs (from distinct CT logs) needed; default 1; 0 disables the SCT check. */
  ctlogThreshold?: number;
  /** Verified timestamps (SET integrated times + RFC 3161 tokens) needed; default 1. */
  timestampThreshold?: number;
  /**
   * The verifier's clock: key validity of public-key bundles, "in the future" checks. Certificates are
   * judged at the verified timestamps, never at now.
   */
  now?: Date;
  /** DSSE bundles: the in-toto predicate type the statement must have. */
  predicateType?: string;
}

/** The verdict's signer for keyless bundles also carries the OIDC issuer. */
export type SigstoreSigner = Signer;

/** How far a log or TSA time may lie ahead of the verifier's clock. */
const CLOCK_SKEW_MS = 60_000;

const iso = (d: Date): string => d.toISOString();
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// Fulcio claim name → extension OID (docs/oid-info.md); `issuer` is read from .8, else .1.
const CLAIM_ARCS: Record<Exclude<keyof FulcioClaims, 'issuer'>, number> = {
  githubWorkflowTrigger: 2,
  githubWorkflowSha: 3,
  githubWorkflowName: 4,
  githubWorkflowRepository: 5,
  githubWorkflowRef: 6,
  buildSignerUri: 9,
  buildSignerDigest: 10,
  runnerEnvironment: 11,
  sourceRepositoryUri: 12,
  sourceRepositoryDigest: 13,
  sourceRepositoryRef: 14,
  sourceRepositoryIdentifier: 15,
  sourceRepositoryOwnerUri: 16,
  sourceRepositoryOwnerIdentifier: 17,
  buildConfigUri: 18,
  buildConfigDigest: 19,
  buildTrigger: 20,
  runInvocationUri: 21,
  sourceRepositoryVisibilityAtSigning: 22,
  deploymentEnvironment: 23,
  subject: 24,
};

interface Matchers {
  san?: (s: string) => boolean;
  sanText?: string;
  issuer?: (s: string) => boolean;
  issuerText?: string;
  claims: Array<[keyof FulcioClaims, string]>;
}

/** Full-match regular expression, as cosign applies --certificate-identity-regexp. */
function anchored(source: string, what: string): (s: string) => boolean {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${source})$`, 'u');
  } catch (e) {
    throw new SignetError('INVALID_ARGUMENT', `${what} is not a valid regular expression: ${message(e)}`);
  }
  return (s) => re.test(s);
}

function matchers(p: IdentityPolicy | undefined): Matchers | undefined {
  if (p === undefined) return undefined;
  if (!p || typeof p !== 'object') throw new SignetError('INVALID_ARGUMENT', 'identity must be an object');
  const m: Matchers = { claims: [] };
  if (p.subjectAlternativeName !== undefined && p.subjectAlternativeNameRegExp !== undefined) {
    throw new SignetError('INVALID_ARGUMENT', 'give subjectAlternativeName or subjectAlternativeNameRegExp, not both');
  }
  if (p.issuer !== undefined && p.issuerRegExp !== undefined) throw new SignetError('INVALID_ARGUMENT', 'give issuer or issuerRegExp, not both');
  if (p.subjectAlternativeName !== undefined) {
    const want = String(p.subjectAlternativeName);
    m.san = (s) => s === want;
    m.sanText = `"${want}"`;
  } else if (p.subjectAlternativeNameRegExp !== undefined) {
    m.san = anchored(String(p.subjectAlternativeNameRegExp), 'subjectAlternativeNameRegExp');
    m.sanText = `/^(?:${p.subjectAlternativeNameRegExp})$/`;
  }
  if (p.issuer !== undefined) {
    const want = String(p.issuer);
    m.issuer = (s) => s === want;
    m.issuerText = `"${want}"`;
  } else if (p.issuerRegExp !== undefined) {
    m.issuer = anchored(String(p.issuerRegExp), 'issuerRegExp');
    m.issuerText = `/^(?:${p.issuerRegExp})$/`;
  }
  for (const [k, v] of Object.entries(p.claims ?? {})) {
    if (v === undefined) continue;
    if (k !== 'issuer' && !(k in CLAIM_ARCS)) throw new SignetError('INVALID_ARGUMENT', `unknown Fulcio claim "${k}"`);
    m.claims.push([k as keyof FulcioClaims, String(v)]);
  }
  return m;
}

function threshold(v: number | undefined, name: string): number {
  if (v === undefined) return 1;
  if (!Number.isSafeInteger(v) || v < 0) throw new SignetError('INVALID_ARGUMENT', `${name} must be a non-negative integer`);
  return v;
}

function checkArtifact(a: Artifact): void {
  const ok =
    a && typeof a === 'object' && (('bytes' in a && a.bytes instanceof Uint8Array) || ('digest' in a && a.digest && a.digest.value instanceof Uint8Array && typeof a.digest.algorithm === 'string'));
  if (!ok) throw new SignetError('INVALID_ARGUMENT', 'artifact must be { bytes } or { digest: { algorithm, value } }');
}

function isParsedBundle(v: unknown): v is ParsedBundle {
  const o = v as Record<string, unknown> | null;
  return !!o && typeof o === 'object' && 'keyMaterial' in o && 'content' in o && 'version' in o && 'json' in o;
}

/** A bundle given as parsed JSON, JSON text or UTF-8 bytes, or already parsed. */
function toParsed(bundle: unknown): ParsedBundle {
  if (isParsedBundle(bundle)) return bundle;
  let json = bundle;
  if (typeof bundle === 'string' || bundle instanceof Uint8Array) {
    try {
      json = JSON.parse(typeof bundle === 'string' ? bundle : fromUtf8(bundle));
    } catch {
      throw new SignetError('MALFORMED_INPUT', 'the bundle is not valid JSON');
    }
  }
  return parseBundle(json);
}

interface Subject {
  parsed: ParsedBundle;
  entries: TlogEntry[];
  /** The signature bytes: the message signature, or the one DSSE signature. */
  signature: Uint8Array;
  /** Keyless: the leaf certificate (DER) and its key. */
  leaf?: { der: Uint8Array; spki: Uint8Array; key: KeyObject };
}

/** Reads the bundle and applies the structural rules of protobuf-specs / sigstore clients (§4.3 item 1). */
function readBundle(bundle: unknown): Subject {
  const parsed = toParsed(bundle);
  const entries = parsed.tlogEntries.map((e, i) => parseTlogEntry(e, i));
  entries.forEach((e) => {
    if (parsed.version === '0.1' && !e.signedEntryTimestamp) {
      throw new SignetError('MALFORMED_INPUT', `bundle v0.1 needs an inclusion promise (SET) on every tlog entry; entry ${e.position} has none`);
    }
    if (parsed.version !== '0.1' && e.inclusionProof?.checkpoint === undefined) {
      throw new SignetError(
        'MALFORMED_INPUT',
        `bundle v${parsed.version} needs an inclusion proof with a checkpoint on every tlog entry; entry ${e.position} has ${e.inclusionProof ? 'a proof without checkpoint' : 'no inclusion proof'}`,
      );
    }
  });
  let signature: Uint8Array;
  const c = parsed.content;
  if (c.kind === 'dsseEnvelope') {
    if (c.envelope.signatures.length !== 1) throw new SignetError('MALFORMED_INPUT', `a DSSE envelope in a bundle must carry exactly one signature (found ${c.envelope.signatures.length})`);
    signature = fromBase64(c.envelope.signatures[0]!.sig, 'DSSE signature');
  } else {
    signature = c.signature;
  }
  const out: Subject = { parsed, entries, signature };
  if (parsed.keyMaterial.kind === 'certificate') {
    const der = parsed.keyMaterial.certificates[0]!;
    const cert = parseCertificate(der);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
    } catch {
      throw new SignetError('MALFORMED_INPUT', 'the signing certificate holds a public key that cannot be loaded');
    }
    out.leaf = { der, spki: cert.spki, key };
  }
  return out;
}

interface EntryResult {
  entry: TlogEntry;
  log?: TransparencyLogInstance;
  problems: string[];
  setVerified: boolean;
}

const entryLabel = (r: EntryResult): string =>
  `tlog entry ${r.entry.position} (${r.log?.baseUrl || `log ${toBase64(r.entry.logId)}`}, index ${r.entry.logIndex})`;

interface TimePoint {
  at: Date;
  source: string;
}

/**
 * Verifies a Sigstore bundle (v0.1–v0.3; JSON, JSON text, bytes or a ParsedBundle) for an artifact against a
 * trusted root. See the module comment for the checks, in verdict order: format, tlog, timestamp,
 * certificate, sct, key/signature, artifact/subject, identity.
 */
export async function verifySigstoreBundle(bundle: unknown, artifact: Artifact, opts: SigstoreVerifyOptions): Promise<Verdict> {
  if (!opts || typeof opts !== 'object') throw new SignetError('INVALID_ARGUMENT', 'verifySigstoreBundle needs options with a trustedRoot');
  const root = opts.trustedRoot;
  if (!root || !Array.isArray(root.tlogs) || !Array.isArray(root.certificateAuthorities) || !Array.isArray(root.ctlogs) || !Array.isArray(root.timestampAuthorities)) {
    throw new SignetError('INVALID_ARGUMENT', 'verifySigstoreBundle needs a trustedRoot (from parseTrustedRoot)');
  }
  checkArtifact(artifact);
  const tlogThreshold = threshold(opts.tlogThreshold, 'tlogThreshold');
  const ctlogThreshold = threshold(opts.ctlogThreshold, 'ctlogThreshold');
  const timestampThreshold = threshold(opts.timestampThreshold, 'timestampThreshold');
  const ids = matchers(opts.identity);
  const now = opts.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new SignetError('INVALID_ARGUMENT', 'now must be a valid Date');
  const policy: VerifyPolicy = { now, ...(opts.predicateType ? { predicateType: opts.predicateType } : {}) };

  const b = new VerdictBuilder('sigstore-bundle');

  // --- format
  let s: Subject;
  try {
    s = readBundle(bundle);
  } catch (e) {
    return b.failWith('format', e instanceof SignetError ? e.message : `the bundle cannot be read: ${message(e)}`);
  }
  const { parsed, entries, signature, leaf } = s;
  const content = parsed.content;
  const nTs = parsed.rfc3161Timestamps.length;
  b.pass(
    'format',
    `Sigstore bundle v${parsed.version} (${content.kind === 'messageSignature' ? 'message signature' : 'DSSE envelope'}, ${leaf ? 'certificate' : 'public key'}), ` +
      `${entries.length} tlog entr${entries.length === 1 ? 'y' : 'ies'}, ${nTs} RFC 3161 timestamp${nTs === 1 ? '' : 's'}`,
  );

  const keys = leaf ? [] : pkixKeys(opts.keys ?? { keys: [] });
  const trustedSpkis = keys.map((k) => spkiDer(k.key));
  const logged = loggedContent(parsed, signature, artifact, (v) => {
    if (leaf) return 'certificate' in v ? bytesEqual(v.certificate, leaf.der) : bytesEqual(v.spki, leaf.spki);
    let spki: Uint8Array;
    if ('certificate' in v) {
      try {
        spki = parseCertificate(v.certificate).spki;
      } catch {
        return false;
      }
    } else spki = v.spki;
    return trustedSpkis.some((t) => bytesEqual(t, spki));
  });

  // --- tlog: inclusion and body of every entry
  const results: EntryResult[] = [];
  for (const entry of entries) results.push(await checkEntry(entry, root.tlogs, logged, now));
  results.forEach((r, i) => {
    const dup = results.slice(0, i).find((o) => bytesEqual(o.entry.logId, r.entry.logId) && o.entry.logIndex === r.entry.logIndex);
    if (dup) r.problems.push(`duplicates tlog entry ${dup.entry.position}`);
  });

  // --- timestamps: SET-backed integrated times and RFC 3161 tokens over the signature
  const times: TimePoint[] = [];
  const tsProblems: string[] = [];
  for (const r of results) {
    if (r.setVerified && r.entry.integratedTime > 0) times.push({ at: new Date(r.entry.integratedTime * 1000), source: `integrated time of ${entryLabel(r)}` });
  }
  const tokens = parsed.rfc3161Timestamps;
  tokens.forEach((t, i) => {
    const j = tokens.findIndex((o) => bytesEqual(o, t));
    if (j < i) tsProblems.push(`RFC 3161 timestamp ${i} is a duplicate of timestamp ${j}`);
  });
  const tsaTimes: Date[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const r = await checkToken(tokens[i]!, signature, root, now);
    if (typeof r === 'string') tsProblems.push(`RFC 3161 timestamp ${i} ${r}`);
    else {
      times.push({ at: r.at, source: `RFC 3161 timestamp ${i} by ${r.tsa}` });
      tsaTimes.push(r.at);
    }
  }

  // Entries without an integrated time (Rekor v2): the log must be trusted at the verified TSA times.
  for (const r of results) {
    if (!r.log || r.log.unusable || r.entry.integratedTime > 0) continue;
    const at = tsaTimes.length ? tsaTimes : [now];
    const outside = at.find((t) => !validAt(r.log!.validFor, t));
    if (outside) r.problems.push(`is from log ${r.log.baseUrl}, which is trusted ${describeValidity(r.log.validFor)}, not at ${iso(outside)}`);
  }

  const tlogProblems = results.flatMap((r) => r.problems.map((p) => `${entryLabel(r)} ${p}`));
  const verifiedEntries = results.filter((r) => r.problems.length === 0);
  if (tlogProblems.length) b.fail('tlog', tlogProblems.join('; '));
  else if (verifiedEntries.length < tlogThreshold) {
    b.fail('tlog', `${tlogThreshold} verified transparency log entr${tlogThreshold === 1 ? 'y is' : 'ies are'} required, the bundle has ${verifiedEntries.length}`);
  } else {
    b.pass('tlog', verifiedEntries.length ? `${verifiedEntries.map(entryLabel).join(', ')} verified (body matches the bundle, inclusion proven)` : 'no transparency log entry required');
  }

  if (tsProblems.length) b.fail('timestamp', tsProblems.join('; '));
  else if (times.length < timestampThreshold) {
    b.fail(
      'timestamp',
      `${timestampThreshold} verified timestamp${timestampThreshold === 1 ? ' is' : 's are'} required, the bundle has ${times.length}` +
        (times.length === 0 ? ' (no signed entry timestamp with an integrated time and no RFC 3161 timestamp)' : ''),
    );
  } else {
    b.pass('timestamp', times.length ? times.map((t) => `${iso(t.at)} (${t.source})`).join('; ') : 'no timestamp required');
  }

  // --- certificate chain at every verified timestamp, then SCTs
  let identity: FulcioIdentity | undefined;
  if (leaf) {
    const chain = checkCertificate(b, leaf.der, root, times);
    if (chain) await checkScts(b, leaf.der, chain, root, ctlogThreshold);
  }

  // --- signature over the artifact (and the artifact's digest / DSSE subject)
  let signer: PkixKey | undefined;
  let trust: TrustMaterial;
  let hint: string | undefined;
  if (leaf) {
    signer = { kind: 'pkix', key: leaf.key, fingerprint: spkiFingerprint(leaf.key), name: 'the signing certificate' };
    trust = { keys: [signer] };
  } else {
    hint = parsed.keyMaterial.kind === 'publicKey' ? parsed.keyMaterial.hint || undefined : undefined;
    trust = { keys };
  }
  if (!leaf && keys.length === 0) {
    b.fail('key', `the bundle is signed with a public key${hint ? ` (hint ${hint})` : ''}, and no trusted public key was given to check it with`);
  } else if (content.kind === 'dsseEnvelope') {
    await verifyEnvelope(b, content.envelope, artifact, trust, policy, hint);
  } else {
    const alg = content.digest?.algorithm ?? 'sha256';
    let artifactOk = true;
    if (content.digest) {
      const d = artifactDigest(artifact, alg);
      if (!d) {
        artifactOk = false;
        b.fail('artifact', `the bundle records a ${alg} digest; the artifact was given as a ${'digest' in artifact ? artifact.digest.algorithm : '?'} digest`);
      } else if (!bytesEqual(d, content.digest.value)) {
        artifactOk = false;
        b.fail('artifact', `the artifact's ${alg} digest ${toHex(d)} differs from the digest the bundle signs (${toHex(content.digest.value)})`);
      } else b.pass('artifact', `artifact ${alg} digest matches the bundle`);
    }
    if (artifactOk) {
      const data: SignedData | undefined =
        'bytes' in artifact ? { bytes: artifact.bytes } : artifact.digest.algorithm === alg ? { digest: { algorithm: alg, value: artifact.digest.value } } : undefined;
      if (!data) b.fail('artifact', `the artifact must be given as bytes or as a ${alg} digest`);
      else await verifyWithTrustedKeys(b, trust, data, content.signature, policy, hint, alg);
    }
  }

  // --- identity
  if (leaf) identity = checkIdentity(b, leaf.der, ids);
  else if (ids) b.fail('identity', 'an identity was required, but the bundle is signed with a public key and carries no certificate identity');

  if (leaf && identity && signer) {
    const earliest = times.length ? new Date(Math.min(...times.map((t) => t.at.getTime()))) : undefined;
    const who: Omit<SigstoreSigner, 'kind'> = {
      identity: identity.san.value,
      keyId: `sha256:${signer.fingerprint}`,
      ...(identity.issuer !== undefined ? { issuer: identity.issuer } : {}),
      ...(earliest ? { timestamp: iso(earliest) } : {}),
    };
    b.signer(who);
  }
  return b.done();
}

/** The bundle content as the log bodies are compared with it. */
function loggedContent(parsed: ParsedBundle, signature: Uint8Array, artifact: Artifact, verifierMatches: (v: LoggedVerifier) => boolean): LoggedContent {
  const c = parsed.content;
  if (c.kind === 'messageSignature') {
    return {
      kind: 'messageSignature',
      signature,
      digest: (alg) => {
        const d = artifactDigest(artifact, alg);
        return d ? [d] : undefined;
      },
      verifierMatches,
    };
  }
  const payload = envelopePayload(c.envelope);
  const signed = pae(c.envelope.payloadType, payload);
  return {
    kind: 'dsseEnvelope',
    signature,
    // Rekor v2 logs a DSSE envelope as a hashedrekord over its PAE (rekor-v2 spec §6.1.4); older clients logged
    // the payload's digest instead (reference §4.4). Either binds the envelope.
    digest: (alg) => [hashBytes(alg, signed), hashBytes(alg, payload)],
    payloadDigest: (alg) => hashBytes(alg, payload),
    verifierMatches,
  };
}

async function checkEntry(entry: TlogEntry, tlogs: TransparencyLogInstance[], content: LoggedContent, now: Date): Promise<EntryResult> {
  const r: EntryResult = { entry, problems: [], setVerified: false };
  const log = findLog(tlogs, entry.logId);
  if (!log) {
    r.problems.push('names a log that is not in the trusted root');
    return r;
  }
  r.log = log;
  if (log.unusable) {
    r.problems.push(`is from log ${log.baseUrl}, which cannot be trusted: ${log.unusable}`);
    return r;
  }
  const body = checkBody(entry, content);
  if (body) r.problems.push(body);
  if (!entry.signedEntryTimestamp && !entry.inclusionProof) r.problems.push('has neither an inclusion promise nor an inclusion proof');
  if (entry.signedEntryTimestamp) {
    const p = await verifySet(entry, log);
    if (p) r.problems.push(p);
    else r.setVerified = true;
  }
  if (entry.inclusionProof) {
    const p = await verifyInclusionProof(entry, log);
    if (p) r.problems.push(p);
  }
  if (entry.integratedTime > 0) {
    const t = new Date(entry.integratedTime * 1000);
    if (!validAt(log.validFor, t)) r.problems.push(`was integrated at ${iso(t)}, outside the period log ${log.baseUrl} is trusted for (${describeValidity(log.validFor)})`);
    if (t.getTime() > now.getTime() + CLOCK_SKEW_MS) r.problems.push(`was integrated at ${iso(t)}, which is in the future (now is ${iso(now)})`);
  }
  return r;
}

/**
 * An RFC 3161 token over the signature bytes must verify with a TSA of the trusted root that is trusted at
 * the token's genTime (closed range). Returns the time and TSA, or the problem.
 */
async function checkToken(token: Uint8Array, signature: Uint8Array, root: TrustedRoot, now: Date): Promise<{ at: Date; tsa: string } | string> {
  const usable = root.timestampAuthorities.filter((t) => !t.unusable);
  if (usable.length === 0) {
    const why = root.timestampAuthorities.map((t) => t.unusable).filter(Boolean);
    return `cannot be verified: the trusted root has no usable timestamp authority${why.length ? ` (${why.join('; ')})` : ''}`;
  }
  const reasons: string[] = [];
  for (const tsa of usable) {
    const name = tsa.uri || tsa.subject?.commonName || 'TSA';
    try {
      const v = await verifyTimeStampToken(token, { data: signature, tsaCertificates: tsa.certChain, now });
      if (!v.ok || !v.genTime) {
        reasons.push(`${name}: ${v.checks.filter((c) => !c.ok).map((c) => c.detail).join('; ') || 'does not verify'}`);
        continue;
      }
      if (!validAt(tsa.validFor, v.genTime)) {
        reasons.push(`${name}: genTime ${iso(v.genTime)} is outside the period the TSA is trusted for (${describeValidity(tsa.validFor)})`);
        continue;
      }
      return { at: v.genTime, tsa: name };
    } catch (e) {
      reasons.push(`${name}: ${message(e)}`);
    }
  }
  return `does not verify with any trusted timestamp authority: ${reasons.join(' / ')}`;
}

/**
 * The leaf must chain to a CA of the trusted root that is trusted at each verified timestamp, with every
 * certificate of the path valid at that instant (RFC 5280 §6.1 via verifyCertificateChain, which also
 * requires the leaf's codeSigning EKU). Returns the path found at the first timestamp.
 */
function checkCertificate(b: VerdictBuilder, leaf: Uint8Array, root: TrustedRoot, times: TimePoint[]): Uint8Array[] | undefined {
  if (times.length === 0) {
    b.fail('certificate', 'there is no verified timestamp to check the certificate at (certificates are checked at verified times, never at now)');
    return undefined;
  }
  const problems: string[] = [];
  let first: Uint8Array[] | undefined;
  for (const t of times) {
    const cas = root.certificateAuthorities.filter((ca) => !ca.unusable && validAt(ca.validFor, t.at));
    if (cas.length === 0) {
      problems.push(`no certificate authority of the trusted root is trusted at ${iso(t.at)} (${t.source})`);
      continue;
    }
    const why: string[] = [];
    let path: Uint8Array[] | undefined;
    for (const ca of cas) {
      try {
        const r = verifyCertificateChain(leaf, ca.certChain, t.at);
        if (r.ok) {
          path = r.chain;
          break;
        }
        why.push(...r.checks.filter((c) => !c.ok).map((c) => c.detail));
      } catch (e) {
        why.push(message(e));
      }
    }
    if (!path) problems.push(`at ${iso(t.at)} (${t.source}): ${[...new Set(why)].join('; ')}`);
    else first ??= path;
  }
  if (problems.length || !first) {
    b.fail('certificate', problems.join('; ') || 'the certificate does not chain to the trusted root');
    return undefined;
  }
  b.pass('certificate', `the certificate chains to the trusted root (${first.length} certificates) and is valid at ${times.map((t) => iso(t.at)).join(', ')}`);
  return first;
}

async function checkScts(b: VerdictBuilder, leaf: Uint8Array, chain: Uint8Array[], root: TrustedRoot, needed: number): Promise<void> {
  if (needed === 0) {
    b.pass('sct', 'SCTs not required (ctlogThreshold 0)');
    return;
  }
  const issuer = chain[1];
  if (!issuer) {
    b.fail('sct', 'the certificate has no issuer in its path, so its SCTs cannot be checked');
    return;
  }
  const ctlogs: CtLog[] = root.ctlogs
    .filter((l) => !l.unusable && l.publicKey)
    .map((l) => ({ logId: l.logId, publicKey: l.publicKey!, validFor: l.validFor }));
  let results;
  try {
    results = await verifyEmbeddedScts(leaf, issuer, ctlogs);
  } catch (e) {
    b.fail('sct', `the SCTs cannot be checked: ${message(e)}`);
    return;
  }
  const good = new Set(results.filter((r) => r.ok).map((r) => r.logId));
  if (good.size >= needed) {
    b.pass('sct', `${good.size} embedded SCT${good.size === 1 ? '' : 's'} from trusted CT logs verif${good.size === 1 ? 'ies' : 'y'}`);
    return;
  }
  const why = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => c.detail));
  b.fail(
    'sct',
    results.length === 0
      ? 'the certificate carries no embedded SCT'
      : `${needed} verified SCT${needed === 1 ? ' is' : 's are'} required, ${good.size} verif${good.size === 1 ? 'ies' : 'y'}: ${why.join('; ')}`,
  );
}

function claimValue(id: FulcioIdentity, claim: keyof FulcioClaims): string | undefined {
  if (claim === 'issuer') return id.issuer;
  return id.extensions[`${OID.fulcio}.${CLAIM_ARCS[claim]}`];
}

/** SAN (any email/URI/username SAN), issuer (.8, else .1) and claims, as the policy asks. */
function checkIdentity(b: VerdictBuilder, leaf: Uint8Array, m: Matchers | undefined): FulcioIdentity | undefined {
  if (!m || !m.san || !m.issuer) {
    b.fail(
      'identity',
      'keyless verification needs an identity constraint: the expected certificate identity (subjectAlternativeName or subjectAlternativeNameRegExp) and OIDC issuer (issuer or issuerRegExp)',
    );
    return undefined;
  }
  let id: FulcioIdentity;
  try {
    id = fulcioIdentity(leaf);
  } catch (e) {
    b.fail('identity', message(e));
    return undefined;
  }
  const sans = id.subjectAltNames.filter((g) => g.type === 'email' || g.type === 'uri' || (g.type === 'othername' && g.oid === OID.fulcioOtherNameSan)).map((g) => g.value);
  const problems: string[] = [];
  const san = sans.find((v) => m.san!(v));
  if (!san) problems.push(`the certificate identity ${sans.map((v) => `"${v}"`).join(', ')} does not match ${m.sanText}`);
  if (id.issuer === undefined) problems.push('the certificate names no OIDC issuer (Fulcio extension .8 or .1)');
  else if (!m.issuer(id.issuer)) problems.push(`the OIDC issuer "${id.issuer}" does not match ${m.issuerText}`);
  for (const [k, want] of m.claims) {
    const got = claimValue(id, k);
    if (got !== want) problems.push(got === undefined ? `the certificate has no ${k} claim (expected "${want}")` : `the ${k} claim is "${got}", expected "${want}"`);
  }
  if (problems.length) {
    b.fail('identity', problems.join('; '));
    return undefined;
  }
  b.pass('identity', `certificate identity "${san}" issued by "${id.issuer}"${m.claims.length ? `, ${m.claims.length} claim(s) match` : ''}`);
  return { ...id, san: { ...id.san, value: san! } };
}
