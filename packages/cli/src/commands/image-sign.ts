/**
 * `signet sign` and `signet attest` for container images, as cosign v3 writes them (reference §1.4): a Sigstore
 * bundle v0.3 (DSSE over an in-toto v1 statement about the image digest) pushed by digest as a referrer; with
 * --legacy, cosign's `sha256-<hex>.sig` / `.att` tag layout (§1.2, §1.3). A tag is always resolved to its digest
 * first and the digest is signed.
 */
import type { Command } from 'commander';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  INTOTO_PAYLOAD_TYPE,
  SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildPredicate,
  buildSimpleSigningPayload,
  bundleReferrerManifest,
  descriptorFor,
  dsseBundle,
  fromBase64,
  fromHex,
  parseDigest,
  predicateTypeFor,
  rekorBundleFromTlogEntry,
  signData,
  signEnvelope,
  spkiFingerprint,
  toBase64,
  toPem,
  utf8,
  writeCosignAnnotations,
  type BundleJson,
  type CosignLayerAnnotations,
  type DsseEnvelope,
  type Statement,
} from '@signet/core';
import { CliError, userErrors } from '../errors.js';
import { readText, writeOutput } from '../io.js';
import { identityTokenFor, keylessEndpoints, signBlobKeyless, signEnvelopeKeyless, type EndpointOpts } from '../keyless.js';
import { loadSigningKey, type SigningKey } from '../signing-key.js';
import { EMPTY_BLOB, pushReferrer, resolveImage, writeLegacyLayer, type ResolvedImage } from '../oci/image.js';
import { formatRef, parseImageRef } from '../oci/reference.js';
import { collect } from './verify.js';

export interface ImageKeylessOpts extends EndpointOpts {
  identityToken?: string;
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecret?: string;
  tlogUpload: boolean | string;
  outputCertificate?: string;
}

function parseBool(v: string): boolean | string {
  return v;
}

/** cosign's keyless flags, as sign-blob has them; `--tlog-upload=false` as cosign spells it, or --no-tlog-upload. */
export function imageKeylessOptions(c: Command): Command {
  return c
    .option('--identity-token <token>', 'keyless: OIDC identity token, or a file holding it (env SIGSTORE_ID_TOKEN; GitHub Actions tokens are found by themselves)')
    .option('--oidc-issuer <url>', 'keyless: sign in interactively with this OIDC issuer')
    .option('--oidc-client-id <id>', 'keyless: OAuth client ID for the interactive sign-in', 'sigstore')
    .option('--oidc-client-secret <secret>', 'keyless: OAuth client secret, if the issuer needs one')
    .option('--server <url>', 'keyless: the Signet server for the CA, log and timestamps (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--fulcio-url <url>', 'keyless: Fulcio v2 CA URL (overrides --server)')
    .option('--rekor-url <url>', 'keyless: Rekor v1 log URL (overrides --server)')
    .option('--timestamp-server-url <url>', 'keyless: RFC 3161 TSA URL (overrides --server)')
    .option('--no-timestamp', 'keyless: do not ask a TSA for a timestamp')
    .option('--tlog-upload [bool]', 'keyless: log the signature in the transparency log (--tlog-upload=false to skip)', parseBool, true)
    .option('--no-tlog-upload', 'keyless: do not log the signature')
    .option('--output-certificate <path>', 'keyless: also write the signing certificate (PEM)')
    .option('-y, --yes', 'accepted for cosign compatibility (there is no prompt to skip)');
}

export function tlogUpload(v: boolean | string): boolean {
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new CliError(`--tlog-upload takes true or false (got "${v}")`);
}

/** -a key=value pairs (cosign's annotations). */
export function parseAnnotations(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list ?? []) {
    const i = a.indexOf('=');
    if (i <= 0) throw new CliError(`annotation "${a}" is not key=value`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

export type Signer =
  | { kind: 'key'; key: Extract<SigningKey, { kind: 'pkix' }> }
  | { kind: 'keyless'; ep: ReturnType<typeof keylessEndpoints>; token: string; tlogUpload: boolean; outputCertificate?: string };

/** The key (decrypted: cosign's password handling) or the keyless session (an identity token) to sign with. */
export async function signerFor(opts: ImageKeylessOpts & { key?: string }): Promise<Signer> {
  if (opts.key) {
    const key = await loadSigningKey(opts.key);
    if (key.kind !== 'pkix') throw new CliError(`images are signed with a cosign or PEM key, not a ${key.kind} key`);
    return { kind: 'key', key };
  }
  const ep = keylessEndpoints(opts);
  const token = await identityTokenFor(opts, ep.fulcio);
  return { kind: 'keyless', ep, token, tlogUpload: tlogUpload(opts.tlogUpload), ...(opts.outputCertificate ? { outputCertificate: opts.outputCertificate } : {}) };
}

const keyHint = (k: Extract<SigningKey, { kind: 'pkix' }>): string => toBase64(fromHex(spkiFingerprint(k.publicKey)));

async function writeCertificate(s: Signer, der: Uint8Array): Promise<void> {
  if (s.kind !== 'keyless' || !s.outputCertificate) return;
  await writeOutput(s.outputCertificate, toPem('CERTIFICATE', der), { force: true, what: 'certificate' });
  process.stderr.write(`Wrote certificate to ${s.outputCertificate}\n`);
}

/** A DSSE envelope over the statement and its v0.3 bundle: key (public-key hint, no log, as sign-blob --key) or keyless. */
async function signStatement(s: Signer, statement: Statement): Promise<{ envelope: DsseEnvelope; bundle: BundleJson; certificate?: Uint8Array }> {
  const payload = utf8(JSON.stringify(statement));
  if (s.kind === 'key') {
    const envelope = await signEnvelope(INTOTO_PAYLOAD_TYPE, payload, s.key.privateKey);
    return { envelope, bundle: dsseBundle({ key: { hint: keyHint(s.key) }, envelope }) };
  }
  const r = await signEnvelopeKeyless(INTOTO_PAYLOAD_TYPE, payload, s.ep, s.token, { tlogUpload: s.tlogUpload });
  await writeCertificate(s, r.certificate);
  return { envelope: r.envelope, bundle: r.bundle, certificate: r.certificate };
}

/** Keyless material of a bundle as cosign's legacy layer annotations (certificate, Rekor bundle, timestamp). */
function keylessAnnotations(bundle: BundleJson, certificate: Uint8Array, signature: string): CosignLayerAnnotations {
  const entry = bundle.verificationMaterial.tlogEntries[0];
  const rb = entry !== undefined ? rekorBundleFromTlogEntry(entry) : undefined;
  const ts = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps[0]?.signedTimestamp;
  return {
    signature,
    certificate: toPem('CERTIFICATE', certificate),
    chain: '',
    ...(rb ? { rekorBundle: rb } : {}),
    ...(ts ? { rfc3161Timestamp: fromBase64(ts, 'timestamp') } : {}),
  };
}

/** The statement cosign v3 signs for an image: subject = the image digest (with -a annotations), empty predicate. */
function signatureStatement(img: ResolvedImage, annotations: Record<string, string>): Statement {
  const d = parseDigest(img.digest);
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ digest: { [d.algorithm]: d.hex }, ...(Object.keys(annotations).length ? { annotations } : {}) }],
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    predicate: {},
  };
}

async function pushBundle(img: ResolvedImage, bundle: BundleJson, predicateType: string): Promise<string> {
  const bytes = utf8(JSON.stringify(bundle));
  const layer = descriptorFor(bytes, SIGSTORE_BUNDLE_V03_MEDIA_TYPE);
  const built = bundleReferrerManifest({ bundle: layer, subject: img.descriptor, predicateType });
  const r = await pushReferrer(img.client, img.ref.repository, built, [EMPTY_BLOB, { bytes, descriptor: layer }]);
  process.stderr.write(
    `Pushed the bundle as referrer ${r.digest} of ${formatRef(img.ref, { digest: img.digest })}` +
      (r.indexedBy === 'tag' ? ` (the registry has no referrers API: listed in tag ${img.digest.replace(':', '-')})\n` : '\n'),
  );
  return formatRef(img.ref, { digest: r.digest });
}

export interface SignOpts extends ImageKeylessOpts {
  key?: string;
  annotations?: string[];
  legacy?: boolean;
}

/** The signer options of `signet sign` (and `signet copy --sign`): --key, -a, --legacy and the keyless flags. */
export function imageSignOptions(c: Command, prefix = ''): Command {
  return imageKeylessOptions(
    c
      .option('--key <path>', `${prefix}private key (cosign .key or PKCS#8 PEM); omit to sign keyless`)
      .option('-a, --annotations <key=value>', `${prefix}annotation to sign along (repeatable)`, collect)
      .option('--legacy', `${prefix}write cosign's legacy .sig tag (simple-signing payload) instead of a bundle referrer`),
  );
}

/**
 * Signs an image by its digest as `signet sign` does: a v0.3 bundle referrer (cosign v3, reference §1.4), or with
 * `legacy` a layer in the `sha256-<hex>.sig` image (§1.2) whose docker-reference is `img.ref.name`. Returns the
 * reference of what was pushed (the referrer by digest, or the .sig tag).
 */
export async function signImage(img: ResolvedImage, signer: Signer, opts: { annotations: Record<string, string>; legacy: boolean }): Promise<string> {
  const { ref } = img;
  const annotations = opts.annotations;
  if (!opts.legacy) {
    const { bundle } = await signStatement(signer, signatureStatement(img, annotations));
    return pushBundle(img, bundle, COSIGN_SIGN_PREDICATE_TYPE);
  }
  const payload = buildSimpleSigningPayload({ dockerReference: ref.name, manifestDigest: img.digest, optional: Object.keys(annotations).length ? annotations : null });
  let ann: CosignLayerAnnotations;
  if (signer.kind === 'key') {
    ann = { signature: toBase64(await signData(signer.key.privateKey, payload)) };
  } else {
    const r = await signBlobKeyless(payload, signer.ep, signer.token, { tlogUpload: signer.tlogUpload });
    await writeCertificate(signer, r.certificate);
    ann = keylessAnnotations(r.bundle, r.certificate, toBase64(r.signature));
  }
  const w = await writeLegacyLayer(img.client, ref.repository, img.digest, 'sig', payload, SIMPLE_SIGNING_MEDIA_TYPE, writeCosignAnnotations(ann));
  process.stderr.write(w.added ? `Pushed the signature to ${formatRef(ref, { tag: w.tag })} (${w.layers} signature${w.layers === 1 ? '' : 's'})\n` : `The signature is already in ${formatRef(ref, { tag: w.tag })}\n`);
  return formatRef(ref, { tag: w.tag });
}

interface AttestOpts extends ImageKeylessOpts {
  key?: string;
  predicate: string;
  type: string;
  legacy?: boolean;
}


export function register(program: Command): void {
  imageSignOptions(
    program
      .command('sign')
      .description(
        'sign a container image as cosign v3 does: a Sigstore bundle (DSSE over an in-toto statement about the image digest) pushed as an OCI referrer; ' +
          '--legacy writes the sha256-<hex>.sig tag layout instead. Keyless without --key',
      )
      .argument('<image>', 'host[:port]/repository[:tag|@digest]; a tag is resolved and its digest signed'),
  ).action(
    userErrors(async (image: string, opts: SignOpts) => {
      const ref = parseImageRef(image);
      const annotations = parseAnnotations(opts.annotations);
      tlogUpload(opts.tlogUpload);
      const img = await resolveImage(ref);
      const signer = await signerFor(opts);
      process.stdout.write(`${await signImage(img, signer, { annotations, legacy: opts.legacy === true })}\n`);
    }),
  );

  imageKeylessOptions(
    program
      .command('attest')
      .description('attach a signed in-toto attestation to a container image: a Sigstore bundle referrer (cosign v3), or --legacy the sha256-<hex>.att tag')
      .argument('<image>', 'host[:port]/repository[:tag|@digest]')
      .requiredOption('--predicate <path>', 'the predicate file (JSON; raw text for --type custom)')
      .option('--type <type>', 'predicate type: slsaprovenance, slsaprovenance1, spdx, spdxjson, cyclonedx, vuln, openvex, link, custom, or a URI', 'custom')
      .option('--key <path>', 'private key (cosign .key or PKCS#8 PEM); omit to sign keyless')
      .option('--legacy', "write cosign's legacy .att tag instead of a bundle referrer"),
  ).action(
    userErrors(async (image: string, opts: AttestOpts) => {
      const ref = parseImageRef(image);
      const predicateType = predicateTypeFor(opts.type);
      const predicate = buildPredicate(opts.type, await readText(opts.predicate, 'predicate file'));
      tlogUpload(opts.tlogUpload);
      const img = await resolveImage(ref);
      const signer = await signerFor(opts);
      const d = parseDigest(img.digest);
      const statement: Statement = {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: ref.name, digest: { [d.algorithm]: d.hex } }],
        predicateType,
        predicate,
      };
      const { envelope, bundle, certificate } = await signStatement(signer, statement);
      if (!opts.legacy) {
        process.stdout.write(`${await pushBundle(img, bundle, predicateType)}\n`);
        return;
      }
      const ann: CosignLayerAnnotations = certificate ? { ...keylessAnnotations(bundle, certificate, ''), predicateType } : { signature: '', predicateType };
      const w = await writeLegacyLayer(img.client, ref.repository, img.digest, 'att', utf8(JSON.stringify(envelope)), DSSE_ENVELOPE_MEDIA_TYPE, writeCosignAnnotations(ann));
      process.stderr.write(`Pushed the attestation to ${formatRef(ref, { tag: w.tag })} (${w.layers} attestation${w.layers === 1 ? '' : 's'})\n`);
      process.stdout.write(`${formatRef(ref, { tag: w.tag })}\n`);
    }),
  );
}
