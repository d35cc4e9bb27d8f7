/**
 * `signet verify` and `signet verify-attestation` for container images: the Sigstore bundles among the image's
 * referrers (cosign v3; referrers API or the `sha256-<hex>` tag) and cosign's legacy `.sig` / `.att` images, each
 * verified with a key or keyless against a trusted root and an identity, always checking that what was signed is
 * this image's digest (and, for simple signing, its repository). Prints cosign-like JSON for what verified.
 */
import type { Command } from 'commander';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  COSIGN_SIGNATURE_TYPE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  MAX_SIGNATURE_BYTES,
  SIMPLE_SIGNING_MEDIA_TYPE,
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  legacyTag,
  parseSimpleSigningPayload,
  predicateTypeFor,
  verifyImageBundle,
  verifyLegacyAttestation,
  verifyLegacySignature,
  type Descriptor,
  type ImageTrust,
  type Statement,
  type Verdict,
} from '@signet/core';
import { CliError, userErrors } from '../errors.js';
import { failure, summary } from '../output.js';
import { listReferrers, resolveImage, readLegacy, type ResolvedImage } from '../oci/image.js';
import { formatRef, parseImageRef } from '../oci/reference.js';
import { collect, identityPolicy, loadTrust, loadTrustedRoot, type KeylessVerifyOpts } from './verify.js';

export interface ImageVerifyOpts extends KeylessVerifyOpts {
  key?: string[];
  signedRepository?: string[];
  type?: string;
}

const MAX_PAYLOAD = 1 << 20;
const isBundleType = (t: string | undefined): boolean => !!t && t.startsWith('application/vnd.dev.sigstore.bundle');

/** --key, or keyless: a trusted root and both halves of the identity (as verify-blob insists). */
export async function imageTrust(opts: ImageVerifyOpts): Promise<ImageTrust> {
  const identity = identityPolicy(opts);
  if (opts.key?.length) {
    if (identity) throw new CliError('give --key, or the keyless --certificate-identity/--certificate-oidc-issuer flags, not both');
    return { keys: await loadTrust(opts.key) };
  }
  if (!identity) {
    throw new CliError(
      'give --key PUB, or for keyless signatures --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp): ' +
        'without an identity constraint any identity the CA certified would pass',
    );
  }
  if (!identity.subjectAlternativeName && !identity.subjectAlternativeNameRegExp) {
    throw new CliError('give --certificate-identity or --certificate-identity-regexp as well: the issuer alone does not name the signer');
  }
  if (!identity.issuer && !identity.issuerRegExp) {
    throw new CliError('give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp as well: the same identity can be claimed at another issuer');
  }
  const trustedRoot = await loadTrustedRoot(opts);
  return {
    trustedRoot,
    identity,
    ...(opts.insecureIgnoreTlog ? { tlogThreshold: 0 } : {}),
    ...(opts.insecureIgnoreSct ? { ctlogThreshold: 0 } : {}),
  };
}

interface Attempt {
  where: string;
  verdict: Verdict;
  /** What to print when it verified. */
  output?: unknown;
}

function keylessOptional(v: Verdict): Record<string, string> {
  return v.signer?.issuer ? { Issuer: v.signer.issuer, Subject: v.signer.identity ?? '' } : {};
}

/** The referrer manifests holding Sigstore bundles, with the bundle bytes of each (cosign GetBundles). */
async function bundleReferrers(img: ResolvedImage, keep: (d: Descriptor) => boolean): Promise<{ where: string; bytes?: Uint8Array; problem?: string }[]> {
  const { client, ref } = img;
  const { descriptors, via } = await listReferrers(client, ref.repository, img.digest);
  const out: { where: string; bytes?: Uint8Array; problem?: string }[] = [];
  for (const d of descriptors.filter(keep)) {
    const where = `referrer ${d.digest}${via === 'tag' ? ' (referrers tag)' : ''}`;
    const m = await client.getManifest(ref.repository, d.digest);
    if (!m) {
      out.push({ where, problem: 'listed, but the manifest is not in the repository' });
      continue;
    }
    if (m.manifest.subject?.digest !== img.digest) {
      out.push({ where, problem: `its subject is ${m.manifest.subject?.digest ?? 'missing'}, not ${img.digest}` });
      continue;
    }
    for (const layer of (m.manifest.layers ?? []).filter((l) => isBundleType(l.mediaType))) {
      try {
        out.push({ where, bytes: await client.readBlob(ref.repository, layer.digest, MAX_SIGNATURE_BYTES, layer.size) });
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        out.push({ where, problem: e.message });
      }
    }
  }
  return out;
}

async function verifySignatures(img: ResolvedImage, trust: ImageTrust, opts: ImageVerifyOpts): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const { ref, client } = img;
  const critical = { identity: { 'docker-reference': ref.name }, image: { 'docker-manifest-digest': img.digest }, type: COSIGN_SIGNATURE_TYPE };
  const referrers = await bundleReferrers(
    img,
    (d) => isBundleType(d.artifactType) && [undefined, COSIGN_SIGN_PREDICATE_TYPE].includes(d.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE]),
  );
  for (const r of referrers) {
    if (!r.bytes) {
      attempts.push({ where: r.where, verdict: { ok: false, kind: 'sigstore-bundle', checks: [{ name: 'referrer', ok: false, detail: r.problem ?? '' }] } });
      continue;
    }
    const verdict = await verifyImageBundle(r.bytes, { digest: img.digest }, trust, { purpose: 'signature' });
    const st = verdict.statement as Statement | undefined;
    const subjectAnnotations = st?.subject.find((s) => Object.values(s.digest).some((h) => img.digest.endsWith(`:${h.toLowerCase()}`)))?.annotations;
    const optional = { ...(subjectAnnotations ?? {}), ...keylessOptional(verdict) };
    attempts.push({ where: r.where, verdict, output: { critical, optional: Object.keys(optional).length ? optional : null } });
  }
  const legacy = await readLegacy(client, ref.repository, img.digest, 'sig');
  const repos = [ref.name, ...(opts.signedRepository ?? [])];
  for (const [i, layer] of (legacy?.layers ?? []).entries()) {
    const where = `${legacyTag(img.digest, 'sig')} layer ${i}`;
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    const payload = await client.readBlob(ref.repository, layer.digest, MAX_PAYLOAD, layer.size);
    const verdict = await verifyLegacySignature({ payload, annotations: layer.annotations }, { digest: img.digest, repository: repos }, trust);
    let output: unknown;
    if (verdict.ok) {
      const p = parseSimpleSigningPayload(payload);
      const optional = { ...(p.optional ?? {}), ...keylessOptional(verdict) };
      output = {
        critical: { identity: { 'docker-reference': p.dockerReference }, image: { 'docker-manifest-digest': p.manifestDigest }, type: COSIGN_SIGNATURE_TYPE },
        optional: Object.keys(optional).length ? optional : null,
      };
    }
    attempts.push({ where, verdict, ...(output ? { output } : {}) });
  }
  return attempts;
}

async function verifyAttestations(img: ResolvedImage, trust: ImageTrust, predicateType: string | undefined): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const { ref, client } = img;
  const referrers = await bundleReferrers(img, (d) => {
    const pt = d.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE];
    return isBundleType(d.artifactType) && pt !== COSIGN_SIGN_PREDICATE_TYPE && (predicateType === undefined || pt === undefined || pt === predicateType);
  });
  for (const r of referrers) {
    if (!r.bytes) {
      attempts.push({ where: r.where, verdict: { ok: false, kind: 'sigstore-bundle', checks: [{ name: 'referrer', ok: false, detail: r.problem ?? '' }] } });
      continue;
    }
    const verdict = await verifyImageBundle(r.bytes, { digest: img.digest }, trust, { purpose: 'attestation', ...(predicateType ? { predicateType } : {}) });
    const env = (JSON.parse(Buffer.from(r.bytes).toString('utf8')) as { dsseEnvelope?: unknown }).dsseEnvelope;
    attempts.push({ where: r.where, verdict, output: env });
  }
  const legacy = await readLegacy(client, ref.repository, img.digest, 'att');
  for (const [i, layer] of (legacy?.layers ?? []).entries()) {
    if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) continue;
    if (predicateType && layer.annotations?.['predicateType'] !== undefined && layer.annotations['predicateType'] !== predicateType) continue;
    const where = `${legacyTag(img.digest, 'att')} layer ${i}`;
    const envelope = await client.readBlob(ref.repository, layer.digest, MAX_SIGNATURE_BYTES, layer.size);
    const verdict = await verifyLegacyAttestation({ envelope, annotations: layer.annotations }, { digest: img.digest }, trust, predicateType ? { predicateType } : {});
    attempts.push({ where, verdict, ...(verdict.ok ? { output: JSON.parse(Buffer.from(envelope).toString('utf8')) as unknown } : {}) });
  }
  return attempts;
}

function report(img: ResolvedImage, attempts: Attempt[], what: 'signature' | 'attestation', jsonLines: boolean): void {
  const shown = formatRef(img.ref, { digest: img.digest });
  const ok = attempts.filter((a) => a.verdict.ok);
  if (ok.length === 0) {
    if (attempts.length === 0) {
      throw new CliError(
        `no ${what}s found for ${shown}: no Sigstore bundle among its referrers and no ${legacyTag(img.digest, what === 'signature' ? 'sig' : 'att')} tag`,
      );
    }
    const reasons = attempts.map((a) => `${a.where}: ${failure(a.verdict)}`);
    throw new CliError(`no ${what} of ${shown} verified (${attempts.length} checked): ${reasons.join('; ')}`);
  }
  process.stderr.write(`Verification for ${shown} --\n`);
  for (const a of ok) process.stderr.write(`  ${a.where}: ${summary(a.verdict)}\n`);
  const failedCount = attempts.length - ok.length;
  if (failedCount) process.stderr.write(`  (${failedCount} other ${what}${failedCount === 1 ? '' : 's'} did not verify)\n`);
  if (jsonLines) for (const a of ok) process.stdout.write(`${JSON.stringify(a.output)}\n`);
  else process.stdout.write(`${JSON.stringify(ok.map((a) => a.output))}\n`);
}


export function register(program: Command): void {
  const common = (c: Command): Command =>
    c
      .argument('<image>', 'host[:port]/repository[:tag|@digest]')
      .option('--key <path>', 'public key (PEM or certificate) the signature must verify with (repeatable)', collect)
      .option('--certificate-identity <id>', 'keyless: the signer identity the certificate must name, exactly')
      .option('--certificate-identity-regexp <re>', 'keyless: a regular expression the whole identity must match')
      .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer the certificate must name, exactly')
      .option('--certificate-oidc-issuer-regexp <re>', 'keyless: a regular expression the whole issuer must match')
      .option('--certificate-github-workflow-trigger <event>', 'keyless: GitHub event that triggered the workflow')
      .option('--certificate-github-workflow-sha <sha>', 'keyless: commit SHA the workflow ran on')
      .option('--certificate-github-workflow-name <name>', 'keyless: workflow name')
      .option('--certificate-github-workflow-repository <repo>', 'keyless: owner/repository')
      .option('--certificate-github-workflow-ref <ref>', 'keyless: git ref')
      .option('--trusted-root <path>', 'Sigstore trusted_root.json: verify keyless signatures with no call to the server')
      .option('--server <url>', 'where to fetch the trusted root when --trusted-root is not given (env SIGNET_SERVER)')
      .option('--insecure-ignore-tlog', 'keyless: accept signatures without a transparency log entry')
      .option('--insecure-ignore-sct', 'keyless: accept a certificate without an embedded SCT');
  common(
    program
      .command('verify')
      .description("verify a container image's signatures: Sigstore bundle referrers (cosign v3) and the legacy sha256-<hex>.sig tag; prints the verified claims as JSON")
      .option('--signed-repository <repo>', 'also accept legacy signatures whose docker-reference names this repository (e.g. the one an image was copied from; repeatable)', collect),
  ).action(
    userErrors(async (image: string, opts: ImageVerifyOpts) => {
      const ref = parseImageRef(image);
      const trust = await imageTrust(opts);
      const img = await resolveImage(ref);
      report(img, await verifySignatures(img, trust, opts), 'signature', false);
    }),
  );
  common(
    program
      .command('verify-attestation')
      .description("verify a container image's in-toto attestations: Sigstore bundle referrers and the legacy sha256-<hex>.att tag; prints each verified envelope")
      .option('--type <type>', 'the predicate type required (cosign names: slsaprovenance, spdxjson, cyclonedx, vuln, custom…, or a URI); default any'),
  ).action(
    userErrors(async (image: string, opts: ImageVerifyOpts) => {
      const ref = parseImageRef(image);
      const predicateType = opts.type ? predicateTypeFor(opts.type) : undefined;
      const trust = await imageTrust(opts);
      const img = await resolveImage(ref);
      report(img, await verifyAttestations(img, trust, predicateType), 'attestation', true);
    }),
  );
}
