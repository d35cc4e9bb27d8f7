import { readStream } from '../registry/index.js';
/**
 * Checks every signature and attestation the registry receives, in either cosign layout (reference
 * oci-and-cosign §1.2–1.4), and records per subject digest which are valid for which keys or identities:
 * - a Sigstore bundle pushed as a referrer (manifest `subject` + a `application/vnd.dev.sigstore.bundle…` layer);
 * - a legacy `sha256-<hex>.sig` image (simple-signing layers) or `.att` image (DSSE layers).
 * Keyless signatures are verified against this server's own trusted root (CA, CT log, transparency log, TSA) with
 * any identity, and the certificate's identity is recorded. Key signatures name no key in the signature itself: the
 * key is taken from the transparency-log entry that carries it (this server's log, entry compared byte for byte),
 * the signature is verified with it, and its fingerprint is recorded; with no log entry the signature is recorded as
 * unverified until a trusted key for it is known. Policies decide later which keys and identities they trust.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  bundleStatement,
  bytesEqual,
  fromBase64,
  fromUtf8,
  parseBundle,
  parseManifest,
  parseTrustMaterial,
  parseTrustedRoot,
  readCosignAnnotations,
  spkiDer,
  utf8,
  verifyImageBundle,
  verifyLegacyAttestation,
  verifyLegacySignature,
  parseSimpleSigningPayload,
  type ImageTrust,
  type TrustedKey,
  type TrustedRoot,
  type Verdict,
  type Manifest,
} from '@signet/core';
import type { ManifestEvent, Registry } from '../registry/index.js';
import type { TransparencyLog } from '../tlog/index.js';
import type { TrustService } from '../trust/index.js';
import type { KeyService } from '../keys/index.js';
import type { NewSignatureRecord, SignatureStore } from './store.js';

const MAX_SIGNATURE_LAYER_BYTES = 1 << 20;
const MAX_LAYERS = 64;
const BUNDLE_MEDIA_PREFIX = 'application/vnd.dev.sigstore.bundle';
const LEGACY_TAG = /^(sha256|sha512)-([0-9a-f]{64}|[0-9a-f]{128})\.(sig|att)$/;
/** Keyless signatures are recorded with whatever identity they carry; policies constrain identities later. */
const ANY_IDENTITY = { subjectAlternativeNameRegExp: '.*', issuerRegExp: '.*' };

interface Logger {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface IndexerOptions {
  registry: Registry;
  store: SignatureStore;
  trust: TrustService;
  tlog: TransparencyLog;
  /** Registered keys: key signatures are also tried against the keys registered for the repository. */
  keys?: KeyService;
  log: Logger;
}

/** A key to try, and the registered key it is (when it is one). */
interface Candidate {
  key: TrustedKey;
  keyId?: string;
}

/** `SHA256:` ‖ unpadded base64 of SHA-256(SPKI DER), the notation the keys API uses for PKIX keys. */
function pkixFingerprint(k: TrustedKey): string | null {
  if (k.kind !== 'pkix') return null;
  return `SHA256:${createHash('sha256').update(spkiDer(k.key)).digest('base64').replace(/=+$/, '')}`;
}


/** The public keys a Rekor entry body names (hashedrekord, dsse, intoto), as PEM text. */
function keysInLogBody(body: unknown): string[] {
  const out: string[] = [];
  const b64pem = (v: unknown): void => {
    if (typeof v !== 'string') return;
    try {
      const text = fromUtf8(fromBase64(v));
      if (text.includes('-----BEGIN PUBLIC KEY-----')) out.push(text);
    } catch {
      /* not base64 PEM: ignore */
    }
  };
  if (typeof body !== 'object' || body === null) return out;
  const o = body as { kind?: unknown; spec?: Record<string, unknown> };
  const spec = o.spec ?? {};
  if (o.kind === 'hashedrekord') b64pem((spec['signature'] as { publicKey?: { content?: unknown } } | undefined)?.publicKey?.content);
  if (o.kind === 'dsse') for (const s of (spec['signatures'] as { verifier?: unknown }[] | undefined) ?? []) b64pem(s?.verifier);
  if (o.kind === 'intoto') {
    const env = (spec['content'] as { envelope?: { signatures?: { publicKey?: unknown }[] } } | undefined)?.envelope;
    for (const s of env?.signatures ?? []) b64pem(s?.publicKey);
  }
  return out;
}

export class SignatureIndexer {
  private root?: { json: string; parsed: TrustedRoot };

  constructor(private readonly o: IndexerOptions) {}

  /** Subscribes to the registry; returns the unsubscribe function. */
  attach(): () => void {
    return this.o.registry.onManifest((e) => this.onManifest(e));
  }

  private trustedRoot(): TrustedRoot {
    const json = this.o.trust.trustedRootJson();
    if (this.root?.json !== json) this.root = { json, parsed: parseTrustedRoot(json) };
    return this.root.parsed;
  }

  async onManifest(e: ManifestEvent): Promise<void> {
    let manifest: Manifest;
    try {
      manifest = parseManifest(e.bytes);
    } catch {
      return; // the registry already validated it; an index or foreign shape carries no cosign signature
    }
    const layers = manifest.layers ?? [];
    if (e.subject && (e.artifactType?.startsWith(BUNDLE_MEDIA_PREFIX) || layers.some((l) => l.mediaType.startsWith(BUNDLE_MEDIA_PREFIX)))) {
      await this.indexBundleReferrer(e, e.subject, manifest);
    }
    for (const tag of e.tags) {
      const m = LEGACY_TAG.exec(tag);
      if (m) await this.indexLegacy(e, `${m[1]}:${m[2]}`, m[3] as 'sig' | 'att', manifest);
    }
  }

  private async blob(repo: string, digest: string): Promise<Buffer> {
    const b = await this.o.registry.openBlob(repo, digest);
    if (!b) throw new Error(`blob ${digest} is not in ${repo}`);
    if (b.size > MAX_SIGNATURE_LAYER_BYTES) {
      b.stream.destroy();
      throw new Error(`blob ${digest} is ${b.size} bytes, more than a signature layer may be (${MAX_SIGNATURE_LAYER_BYTES})`);
    }
    return readStream(b.stream, MAX_SIGNATURE_LAYER_BYTES);
  }

  /**
   * Keys for a key-signed entry: those the log entry names, after checking that this server's log holds exactly
   * that entry at that index (so the key is the one the signer logged, not one planted in the bundle).
   */
  private async keysFromLog(entry: { logIndex: number; body: Uint8Array } | undefined): Promise<{ keys: TrustedKey[]; logIndex: number | null; integratedTime: string | null; reason?: string }> {
    if (!entry) return { keys: [], logIndex: null, integratedTime: null, reason: 'signed with a key, with no transparency-log entry naming the key' };
    const logged = await this.o.tlog.getByIndex(entry.logIndex).catch(() => undefined);
    if (!logged || !bytesEqual(fromBase64(logged.entry.body), entry.body)) {
      return { keys: [], logIndex: null, integratedTime: null, reason: `the signature's log entry ${entry.logIndex} is not in this server's transparency log` };
    }
    let body: unknown;
    try {
      body = JSON.parse(fromUtf8(entry.body));
    } catch {
      return { keys: [], logIndex: null, integratedTime: null, reason: 'the log entry body is not JSON' };
    }
    const keys = keysInLogBody(body).flatMap((pem) => {
      try {
        return parseTrustMaterial(utf8(pem), 'key from the transparency-log entry');
      } catch {
        return [];
      }
    });
    const integratedTime = new Date(Number(logged.entry.integratedTime) * 1000).toISOString();
    return keys.length
      ? { keys, logIndex: entry.logIndex, integratedTime }
      : { keys, logIndex: null, integratedTime: null, reason: `log entry ${entry.logIndex} names no public key` };
  }

  /** One verdict per candidate key, keeping the first that verifies (else the last failure). */
  private async withKeys(keys: Candidate[], run: (trust: ImageTrust) => Promise<Verdict>): Promise<{ verdict: Verdict; key?: TrustedKey; keyId?: string } | undefined> {
    let last: { verdict: Verdict; key?: TrustedKey; keyId?: string } | undefined;
    for (const c of keys) {
      // Cryptographic validity only: whether the key is revoked or expired is judged when a policy reads the record.
      const verdict = await run({ keys: [{ ...c.key, validity: undefined } as TrustedKey] });
      const hit = { verdict, key: c.key, ...(c.keyId ? { keyId: c.keyId } : {}) };
      if (verdict.ok) return hit;
      last = hit;
    }
    return last;
  }

  /** Keys registered for `repo` that can verify cosign signatures (PKIX: ECDSA, Ed25519, RSA). */
  private async registeredKeys(repo: string): Promise<Candidate[]> {
    if (!this.o.keys) return [];
    const recs = await this.o.keys.trustedKeysFor(repo, new Date(), { includeInvalid: true });
    return recs.filter((r) => r.trust.kind === 'pkix').map((r) => ({ key: r.trust, keyId: r.id }));
  }

  /** Keys from the log entry first (what the signer logged), then the repository's registered keys. */
  private async candidates(repo: string, entry: { logIndex: number; body: Uint8Array } | undefined): Promise<{ keys: Candidate[]; logIndex: number | null; integratedTime: string | null; reason?: string }> {
    const src = await this.keysFromLog(entry);
    const keys: Candidate[] = [...src.keys.map((key) => ({ key })), ...(await this.registeredKeys(repo))];
    const reason = keys.length ? undefined : `${src.reason ?? 'no key to verify with'}; no key registered for repository ${repo} verifies it either`;
    return { keys, logIndex: src.logIndex, integratedTime: src.integratedTime, ...(reason ? { reason } : {}) };
  }

  /**
   * Key signatures recorded as unverified (no log entry, no registered key at the time) are tried again with the
   * keys registered now; returns how many became valid. Run when records are read.
   */
  async reverify(repo: string, subject: string): Promise<number> {
    const pending = await this.o.store.unverifiedKeySignatures(repo, subject);
    if (pending.length === 0) return 0;
    const keys = await this.registeredKeys(repo);
    if (keys.length === 0) return 0;
    let n = 0;
    for (const r of pending) {
      const m = await this.o.registry.readManifest(repo, r.source_digest).catch(() => undefined);
      if (!m) continue;
      const before = await this.o.store.count(repo, r.source_digest);
      await this.o.store.remove(r.id);
      await this.onManifest({ repo, digest: r.source_digest, mediaType: m.mediaType, artifactType: null, subject: r.format === 'bundle' ? subject : null, tags: r.format === 'legacy' ? [legacyTagFor(subject, r.kind)] : [], bytes: m.bytes });
      if ((await this.o.store.count(repo, r.source_digest)) > before) n++;
    }
    return n;
  }

  private record(base: Omit<NewSignatureRecord, 'status' | 'signer_type' | 'key_fingerprint' | 'key_id' | 'identity' | 'issuer' | 'checks' | 'reason' | 'log_index' | 'signed_at'>, r: {
    verdict?: Verdict;
    key?: TrustedKey;
    keyId?: string;
    keyless?: boolean;
    logIndex?: number | null;
    signedAt?: string | null;
    reason?: string;
  }): NewSignatureRecord {
    const v = r.verdict;
    const failed = v?.checks.find((c) => !c.ok);
    const status: NewSignatureRecord['status'] = v ? (v.ok ? 'valid' : 'invalid') : 'unverified';
    return {
      ...base,
      status,
      signer_type: r.keyless ? 'certificate' : r.key || v ? 'key' : null,
      key_fingerprint: r.key && v?.ok ? pkixFingerprint(r.key) : null,
      key_id: r.keyId && v?.ok ? r.keyId : null,
      identity: r.keyless && v?.ok ? (v.signer?.identity ?? null) : null,
      issuer: r.keyless && v?.ok ? (v.signer?.issuer ?? null) : null,
      log_index: r.logIndex ?? null,
      signed_at: r.signedAt ?? (v?.ok ? (v.signer?.timestamp ?? null) : null),
      checks: v?.checks ?? [],
      reason: v ? (v.ok ? null : (failed ? `${failed.name}: ${failed.detail}` : 'verification failed')) : (r.reason ?? null),
    };
  }

  private async save(rec: NewSignatureRecord): Promise<void> {
    await this.o.store.add(rec);
  }

  private async indexBundleReferrer(e: ManifestEvent, subject: string, manifest: Manifest): Promise<void> {
    const layers = (manifest.layers ?? []).slice(0, MAX_LAYERS);
    for (const [i, layer] of layers.entries()) {
      if (!layer.mediaType.startsWith(BUNDLE_MEDIA_PREFIX)) continue;
      const annotated = manifest.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE];
      const base = { repo: e.repo, subject_digest: subject, source_digest: e.digest, layer_index: i, layer_digest: layer.digest, format: 'bundle' as const };
      let json: unknown;
      let predicateType: string | null = typeof annotated === 'string' ? annotated : null;
      let kind: 'signature' | 'attestation' = predicateType === null || predicateType === COSIGN_SIGN_PREDICATE_TYPE ? 'signature' : 'attestation';
      try {
        json = JSON.parse(fromUtf8(await this.blob(e.repo, layer.digest)));
        const parsed = parseBundle(json);
        const st = bundleStatement(parsed);
        if (st) {
          predicateType = st.predicateType;
          kind = st.predicateType === COSIGN_SIGN_PREDICATE_TYPE ? 'signature' : 'attestation';
        }
        const opts = kind === 'signature' ? { purpose: 'signature' as const } : { purpose: 'attestation' as const, predicateType: st?.predicateType ?? '' };
        if (parsed.keyMaterial.kind === 'publicKey') {
          const src = await this.candidates(e.repo, bundleLogEntry(parsed.tlogEntries[0]));
          const best = src.keys.length ? await this.withKeys(src.keys, (trust) => verifyImageBundle(json, { digest: subject }, trust, opts)) : undefined;
          await this.save(this.record({ ...base, kind, predicate_type: predicateType }, { ...(best ?? {}), logIndex: src.logIndex, signedAt: src.integratedTime, ...(src.reason ? { reason: src.reason } : {}) }));
        } else {
          const verdict = await verifyImageBundle(json, { digest: subject }, { trustedRoot: this.trustedRoot(), identity: ANY_IDENTITY }, opts);
          const entry = bundleLogEntry(parsed.tlogEntries[0]);
          await this.save(this.record({ ...base, kind, predicate_type: predicateType }, { verdict, keyless: true, logIndex: verdict.ok && entry ? entry.logIndex : null }));
        }
      } catch (err) {
        await this.save(this.record({ ...base, kind, predicate_type: predicateType }, { reason: `the bundle cannot be read: ${(err as Error).message}` }));
      }
    }
  }

  private async indexLegacy(e: ManifestEvent, subject: string, suffix: 'sig' | 'att', manifest: Manifest): Promise<void> {
    const layers = (manifest.layers ?? []).slice(0, MAX_LAYERS);
    const kind = suffix === 'sig' ? 'signature' : 'attestation';
    const wantType = suffix === 'sig' ? SIMPLE_SIGNING_MEDIA_TYPE : DSSE_ENVELOPE_MEDIA_TYPE;
    for (const [i, layer] of layers.entries()) {
      if (layer.mediaType !== wantType) continue;
      const base = { repo: e.repo, subject_digest: subject, source_digest: e.digest, layer_index: i, layer_digest: layer.digest, format: 'legacy' as const, kind: kind as NewSignatureRecord['kind'] };
      let predicateType: string | null = suffix === 'att' && typeof layer.annotations?.['predicateType'] === 'string' ? layer.annotations['predicateType'] : null;
      try {
        const payload = await this.blob(e.repo, layer.digest);
        const annotations = readCosignAnnotations(layer.annotations ?? {});
        // The docker-reference must name this repository (on whatever host the signer addressed the registry).
        const expected = { digest: subject, repository: suffix === 'sig' ? this.referenceFor(payload, e.repo) : undefined };
        const run = (trust: ImageTrust): Promise<Verdict> =>
          suffix === 'sig'
            ? verifyLegacySignature({ payload, annotations: layer.annotations ?? {} }, expected.repository ? { digest: subject, repository: expected.repository } : { digest: subject }, trust)
            : verifyLegacyAttestation({ envelope: payload, annotations: layer.annotations ?? {} }, { digest: subject }, trust);
        if (annotations.certificate) {
          const verdict = await run({ trustedRoot: this.trustedRoot(), identity: ANY_IDENTITY });
          if (verdict.ok && suffix === 'att') predicateType = statementType(verdict) ?? predicateType;
          await this.save(this.record({ ...base, predicate_type: predicateType }, { verdict, keyless: true, logIndex: verdict.ok && annotations.rekorBundle ? annotations.rekorBundle.logIndex : null }));
        } else {
          const rb = annotations.rekorBundle;
          const src = await this.candidates(e.repo, rb ? { logIndex: rb.logIndex, body: rb.body } : undefined);
          const best = src.keys.length ? await this.withKeys(src.keys, run) : undefined;
          if (best?.verdict.ok && suffix === 'att') predicateType = statementType(best.verdict) ?? predicateType;
          await this.save(this.record({ ...base, predicate_type: predicateType }, { ...(best ?? {}), logIndex: src.logIndex, signedAt: src.integratedTime, ...(src.reason ? { reason: src.reason } : {}) }));
        }
      } catch (err) {
        await this.save(this.record({ ...base, predicate_type: predicateType }, { reason: `the signature layer cannot be read: ${(err as Error).message}` }));
      }
    }
  }

  /**
   * The docker-reference a legacy payload may name for repository `repo`: `<any host>/<repo>` — clients reach one
   * server under several names (localhost, 127.0.0.1, a DNS name), so the path is what identifies the repository.
   */
  private referenceFor(payload: Uint8Array, repo: string): string | undefined {
    try {
      const ref = parseSimpleSigningPayload(payload).dockerReference;
      const slash = ref.indexOf('/');
      return slash > 0 && ref.slice(slash + 1) === repo ? ref : `${this.o.registry.host}/${repo}`;
    } catch {
      return undefined;
    }
  }
}

/** logIndex and canonicalized body of a bundle's tlog entry (v0.1–v0.3 JSON), when well-formed. */
function bundleLogEntry(e: unknown): { logIndex: number; body: Uint8Array } | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { logIndex?: unknown; canonicalizedBody?: unknown };
  const idx = typeof o.logIndex === 'string' && /^\d{1,15}$/.test(o.logIndex) ? Number(o.logIndex) : typeof o.logIndex === 'number' ? o.logIndex : NaN;
  if (!Number.isSafeInteger(idx) || typeof o.canonicalizedBody !== 'string') return undefined;
  try {
    return { logIndex: idx, body: fromBase64(o.canonicalizedBody) };
  } catch {
    return undefined;
  }
}

function legacyTagFor(subject: string, kind: 'signature' | 'attestation'): string {
  return `${subject.replace(':', '-')}.${kind === 'signature' ? 'sig' : 'att'}`;
}

function statementType(v: Verdict): string | undefined {
  const st = v.statement as { predicateType?: unknown } | undefined;
  return typeof st?.predicateType === 'string' ? st.predicateType : undefined;
}
