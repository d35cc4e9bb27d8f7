/**
 * Image supply-chain utilities, as cosign has them: `tree` (referrers grouped by artifactType or predicateType,
 * and the legacy .sig/.att/.sbom tags), `triangulate` (the legacy tag of an image), `attach sbom|signature`
 * (legacy layouts) and `copy` (an image with its signatures, attestations and SBOMs, manifests byte-exact; with
 * --sign: push by digest, sign the destination digest, then tag — the order a signing policy in enforce mode accepts).
 */
import type { Command } from 'commander';
import {
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  COSIGN_SIG_ARTIFACT_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  SBOM_MEDIA_TYPES,
  SIMPLE_SIGNING_MEDIA_TYPE,
  fromBase64,
  isBase64,
  legacyTag,
  parsePemBlocks,
  parseSimpleSigningPayload,
  toBase64,
  writeCosignAnnotations,
  type Descriptor,
  type LegacySuffix,
} from '@signet/core';
import { CliError, userErrors } from '../errors.js';
import { readInput, readText } from '../io.js';
import { clientFor, copyManifest, listReferrers, readLegacy, resolveImage, updateReferrersTag, writeLegacyLayer, type CopyEnd } from '../oci/image.js';
import type { ManifestData } from '../oci/registry.js';
import { formatRef, parseImageRef, type ImageRef } from '../oci/reference.js';
import { imageSignOptions, parseAnnotations, signImage, signerFor, tlogUpload, type SignOpts } from './image-sign.js';


const SUFFIX_TITLES: Record<LegacySuffix, string> = { sig: 'Signatures', att: 'Attestations', sbom: 'SBOMs' };

/** The group a referrer is listed under: its predicateType annotation, else its artifactType (cosign tree). */
const groupOf = (d: Descriptor): string | undefined => d.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE] ?? d.artifactType;

/** What --only calls a referrer: sig (image signatures), att (other bundles, in-toto), sbom, or other. */
function referrerKind(d: Descriptor): 'sig' | 'att' | 'sbom' | 'other' {
  const pt = d.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE];
  if (d.artifactType === COSIGN_SIG_ARTIFACT_TYPE || pt === COSIGN_SIGN_PREDICATE_TYPE) return 'sig';
  if (d.artifactType?.startsWith('application/vnd.dev.sigstore.bundle') || d.artifactType === 'application/vnd.in-toto+json') return 'att';
  if (d.artifactType && (Object.values(SBOM_MEDIA_TYPES) as string[]).includes(d.artifactType)) return 'sbom';
  return 'other';
}

function sbomMediaType(type: string, format: string | undefined, text: string): string {
  const t = text.trimStart();
  const fmt = format ?? (t.startsWith('{') ? 'json' : t.startsWith('<') ? 'xml' : 'text');
  if (!['json', 'xml', 'text'].includes(fmt)) throw new CliError(`--input-format must be json, xml or text (got "${fmt}")`);
  switch (type) {
    case 'spdx':
      if (fmt === 'xml') throw new CliError('an SPDX SBOM is JSON or tag-value text, not XML');
      return fmt === 'json' ? SBOM_MEDIA_TYPES.spdxJson : SBOM_MEDIA_TYPES.spdx;
    case 'cyclonedx':
      if (fmt === 'text') throw new CliError('a CycloneDX SBOM is JSON or XML');
      return fmt === 'json' ? SBOM_MEDIA_TYPES.cyclonedxJson : SBOM_MEDIA_TYPES.cyclonedxXml;
    case 'syft':
      if (fmt !== 'json') throw new CliError('a syft SBOM is JSON');
      return SBOM_MEDIA_TYPES.syft;
    default:
      throw new CliError(`--type must be spdx, cyclonedx or syft (got "${type}")`);
  }
}

export function register(program: Command): void {
  program
    .command('tree')
    .description("show an image's supply-chain artifacts: referrers grouped by predicate or artifact type, and the legacy .sig/.att/.sbom tags")
    .argument('<image>', 'host[:port]/repository[:tag|@digest]')
    .option('--output <format>', 'text or json', 'text')
    .action(
      userErrors(async (image: string, opts: { output: string }) => {
        if (opts.output !== 'text' && opts.output !== 'json') throw new CliError('--output must be text or json');
        const img = await resolveImage(parseImageRef(image));
        const { client, ref } = img;
        const { descriptors, via } = await listReferrers(client, ref.repository, img.digest);
        const groups = new Map<string, string[]>();
        for (const d of descriptors) {
          const g = groupOf(d);
          if (!g) continue; // cosign tree skips referrers without an artifactType
          groups.set(g, [...(groups.get(g) ?? []), d.digest]);
        }
        const legacy: Partial<Record<LegacySuffix, { tag: string; layers: string[] }>> = {};
        for (const s of ['sig', 'att', 'sbom'] as const) {
          const l = await readLegacy(client, ref.repository, img.digest, s);
          if (l) legacy[s] = { tag: formatRef(ref, { tag: legacyTag(img.digest, s) }), layers: l.layers.map((x) => x.digest) };
        }
        const shown = formatRef(ref, { digest: img.digest });
        if (opts.output === 'json') {
          process.stdout.write(`${JSON.stringify({ image: shown, referrers: Object.fromEntries(groups), referrersVia: via, ...legacy }, null, 2)}\n`);
          return;
        }
        const sections: [string, string[]][] = [];
        if (groups.size) {
          for (const [g, ds] of groups) sections.push([`Referrers of type ${g}${via === 'tag' ? ' (referrers tag)' : ''}`, ds.map((d) => formatRef(ref, { digest: d }))]);
        }
        for (const s of ['sig', 'att', 'sbom'] as const) {
          const l = legacy[s];
          if (l) sections.push([`${SUFFIX_TITLES[s]} for an image tag: ${l.tag}`, l.layers]);
        }
        if (sections.length === 0) {
          process.stdout.write(`No supply chain artifacts found for ${shown}\n`);
          return;
        }
        let out = `Supply chain artifacts for ${shown}\n`;
        sections.forEach(([title, items], i) => {
          const last = i === sections.length - 1;
          out += `${last ? '└── ' : '├── '}${title}\n`;
          items.forEach((it, j) => (out += `${last ? '    ' : '│   '}${j === items.length - 1 ? '└── ' : '├── '}${it}\n`));
        });
        process.stdout.write(out);
      }),
    );

  program
    .command('triangulate')
    .description("print the legacy tag where cosign keeps an image's signatures, attestations or SBOM")
    .argument('<image>', 'host[:port]/repository[:tag|@digest]')
    .option('--type <type>', 'signature, attestation or sbom', 'signature')
    .action(
      userErrors(async (image: string, opts: { type: string }) => {
        const suffix = ({ signature: 'sig', attestation: 'att', sbom: 'sbom' } as const)[opts.type as 'signature'];
        if (!suffix) throw new CliError(`--type must be signature, attestation or sbom (got "${opts.type}")`);
        const img = await resolveImage(parseImageRef(image));
        process.stdout.write(`${formatRef(img.ref, { tag: legacyTag(img.digest, suffix) })}\n`);
      }),
    );

  const attach = program.command('attach').description('attach an SBOM or a signature to an image in cosign\'s legacy tag layout');
  attach
    .command('sbom')
    .description('attach an SBOM as the sha256-<hex>.sbom image (replacing an earlier one)')
    .argument('<image>', 'host[:port]/repository[:tag|@digest]')
    .requiredOption('--sbom <path>', 'the SBOM file')
    .option('--type <type>', 'spdx, cyclonedx or syft', 'spdx')
    .option('--input-format <format>', 'json, xml or text (default: from the content)')
    .action(
      userErrors(async (image: string, opts: { sbom: string; type: string; inputFormat?: string }) => {
        const ref = parseImageRef(image);
        const data = await readInput(opts.sbom, 'SBOM file');
        const mediaType = sbomMediaType(opts.type, opts.inputFormat, Buffer.from(data.subarray(0, 64)).toString('utf8'));
        const img = await resolveImage(ref);
        const w = await writeLegacyLayer(img.client, ref.repository, img.digest, 'sbom', data, mediaType, undefined, 'replace');
        process.stderr.write(`Attached the SBOM (${mediaType}) to ${formatRef(ref, { digest: img.digest })}\n`);
        process.stdout.write(`${formatRef(ref, { tag: w.tag })}\n`);
      }),
    );
  attach
    .command('signature')
    .description('attach a signature made elsewhere (over a simple-signing payload) to the sha256-<hex>.sig image')
    .argument('<image>', 'host[:port]/repository[:tag|@digest]')
    .requiredOption('--payload <path>', 'the simple-signing payload that was signed')
    .requiredOption('--signature <path>', 'the signature: a file holding it in base64 (or raw DER)')
    .option('--certificate <path>', 'the signing certificate (PEM), for keyless signatures')
    .option('--certificate-chain <path>', 'its intermediates and root (PEM)')
    .action(
      userErrors(async (image: string, opts: { payload: string; signature: string; certificate?: string; certificateChain?: string }) => {
        const ref = parseImageRef(image);
        const payload = await readInput(opts.payload, 'payload file');
        const p = parseSimpleSigningPayload(payload);
        const raw = await readInput(opts.signature, 'signature file');
        const text = Buffer.from(raw).toString('utf8').trim();
        const signature = isBase64(text) && /^[\x20-\x7e\s]*$/.test(text) ? toBase64(fromBase64(text, 'signature')) : toBase64(raw);
        const pem = async (path: string | undefined, what: string): Promise<string | undefined> => {
          if (!path) return undefined;
          const t = await readText(path, what);
          if (!parsePemBlocks(t).some((b) => b.label === 'CERTIFICATE')) throw new CliError(`${what} ${path} holds no PEM certificate`);
          return t;
        };
        const certificate = await pem(opts.certificate, 'certificate');
        const chain = await pem(opts.certificateChain, 'certificate chain');
        const img = await resolveImage(ref);
        if (p.manifestDigest !== img.digest) throw new CliError(`the payload signs ${p.manifestDigest}, not ${formatRef(ref, { digest: img.digest })}`);
        const annotations = writeCosignAnnotations({ signature, ...(certificate ? { certificate } : {}), ...(chain !== undefined ? { chain } : {}) });
        const w = await writeLegacyLayer(img.client, ref.repository, img.digest, 'sig', payload, SIMPLE_SIGNING_MEDIA_TYPE, annotations);
        process.stderr.write(w.added ? `Attached the signature (${w.layers} in ${w.tag})\n` : `The signature is already in ${w.tag}\n`);
        process.stdout.write(`${formatRef(ref, { tag: w.tag })}\n`);
      }),
    );

  const copy = program
    .command('copy')
    .description(
      'copy an image (indexes recursively, manifests byte-exact, blobs mounted within a registry) with its signatures, attestations and SBOMs. ' +
        'With --sign: push the copy by digest only, copy its signatures, sign it as the destination image (as `signet sign`, with the same key, keyless and --legacy options), ' +
        'and only then tag it — the order a repository whose policy requires signatures accepts',
    )
    .argument('<source>', 'host[:port]/repository[:tag|@digest]')
    .argument('<destination>', 'host[:port]/repository[:tag]; without a tag the source tag is used; with --sign also @digest (stored and signed by digest, no tag pushed)')
    .option('--only <kinds>', 'copy only these attachments, not the image: comma-separated sig, att, sbom')
    .option('--sign', 'sign the copy at the destination (by digest) before its tag is pushed: with --key, else keyless');
  const before = copy.options.length;
  imageSignOptions(copy, 'with --sign: ');
  /** The signer options, which mean something only with --sign (-y is accepted anywhere, as in cosign). */
  const signerOptions = copy.options.slice(before).filter((o) => o.attributeName() !== 'yes');
  copy.action(
    userErrors(async (source: string, destination: string, opts: CopyOpts) => {
      const s = parseImageRef(source);
      const d = parseImageRef(destination);
      const sign = opts.sign === true;
      if (!sign) {
        const given = signerOptions.filter((o) => copy.getOptionValueSource(o.attributeName()) === 'cli');
        const stray = [...new Map(given.map((o) => [o.attributeName(), o.long ?? o.flags])).values()];
        if (stray.length) throw new CliError(`${stray.join(', ')} ${stray.length === 1 ? 'is a signing option' : 'are signing options'}: add --sign to sign the copy`);
        if (d.digest) throw new CliError('the destination takes a tag, not a digest: the copy keeps the source digest');
      }
      const only = opts.only?.split(',').map((x) => x.trim()).filter(Boolean);
      for (const k of only ?? []) if (!['sig', 'att', 'sbom'].includes(k)) throw new CliError(`--only takes sig, att and sbom (got "${k}")`);
      if (sign && only) throw new CliError('--sign signs the copied image and --only copies attachments without the image: use one or the other');
      const annotations = sign ? parseAnnotations(opts.annotations) : {};
      if (sign) tlogUpload(opts.tlogUpload);
      const kinds = new Set(only ?? ['sig', 'att', 'sbom']);
      const img = await resolveImage(s);
      if (d.digest && d.digest !== img.digest) {
        throw new CliError(`the destination names ${d.digest}, but ${formatRef(s, s.digest ? { digest: s.digest } : { tag: s.tag ?? 'latest' })} is ${img.digest}: a copy keeps the source digest`);
      }
      // The key (and its password) or the identity token before anything is written: a mistake there copies nothing.
      const signer = sign ? await signerFor(opts) : undefined;
      const src = { client: img.client, repo: s.repository };
      const dst = { client: await clientFor(d), repo: d.repository };
      // A digest destination names no tag on purpose: the source tag is not used then.
      const tag = d.tag ?? (d.digest ? undefined : s.tag);
      const atDigest = formatRef(d, { digest: img.digest });
      let data: ManifestData | undefined;
      if (!only) {
        // By digest first (OCI distribution-spec §Pushing manifests: an index's children before the index); the tag
        // last, once the signatures are there (copied, or made with --sign), so that a registry whose signing policy
        // checks the tag finds the content already signed.
        data = await copyManifest(src, dst, img.digest);
        process.stderr.write(`Copied ${formatRef(s, { digest: img.digest })} to ${sign ? `${atDigest} (by digest${tag ? `; tag ${tag} once signed` : ''})` : formatRef(d, tag ? { tag } : { digest: img.digest })}\n`);
      }
      let copied = 0;
      const { descriptors } = await listReferrers(src.client, src.repo, img.digest);
      let dstHasApi: boolean | undefined;
      for (const r of descriptors) {
        const k = referrerKind(r);
        if (k === 'other' ? only !== undefined : !kinds.has(k)) continue;
        const rd = await copyManifest(src, dst, r.digest);
        dstHasApi ??= (await dst.client.referrers(dst.repo, img.digest)) !== undefined;
        if (!dstHasApi && rd.manifest.subject) await updateReferrersTag(dst.client, dst.repo, rd.manifest.subject.digest, { descriptor: { mediaType: rd.mediaType, digest: rd.digest, size: rd.bytes.length }, manifest: rd.manifest });
        copied++;
      }
      for (const suffix of ['sig', 'att', 'sbom'] as const) {
        if (!kinds.has(suffix)) continue;
        const t = legacyTag(img.digest, suffix);
        if (!(await src.client.headManifest(src.repo, t))) continue;
        await copyManifest(src, dst, t, [t]);
        copied++;
      }
      process.stderr.write(`Copied ${copied} signature/attestation/SBOM artifact${copied === 1 ? '' : 's'}\n`);
      if (!sign && tag && data) await putTag(d, dst, tag, data, img.digest, undefined);
      if (signer && data) {
        // Signed as the destination image: a legacy payload's docker-reference names the destination repository.
        const signature = await signImage({ ref: d, client: dst.client, digest: img.digest, descriptor: img.descriptor }, signer, { annotations, legacy: opts.legacy === true });
        if (tag) {
          await putTag(d, dst, tag, data, img.digest, signature);
          process.stderr.write(`Tagged ${formatRef(d, { tag })} (${img.digest}), signed by ${signature}\n`);
        } else {
          const why = d.digest ? `the destination ${destination} is a digest reference` : 'neither the destination nor the source names a tag';
          process.stderr.write(
            `No tag pushed: ${why}, so the copy is stored and signed by digest only, as ${atDigest} (signature ${signature}); ` +
              `nothing is released under a tag. To tag it: signet copy ${atDigest} ${formatRef(d)}:<tag>\n`,
          );
        }
      }
      process.stdout.write(`${atDigest}\n`);
    }),
  );
}

/**
 * Points `tag` at the copied manifest. A refusal (a signing policy in enforce mode holds the tag back; the manifest
 * stays stored by digest, unreleased) is a clear error with the registry's own message; warnings (quarantine, warn
 * mode) are shown.
 */
async function putTag(d: ImageRef, dst: CopyEnd, tag: string, data: ManifestData, digest: string, signature: string | undefined): Promise<void> {
  const r = await dst.client.putTag(dst.repo, tag, data.bytes, data.mediaType);
  if (!r.ok) {
    const next = signature
      ? `it was signed (${signature}), but that signature does not satisfy the registry: sign ${formatRef(d, { digest })} as its policy requires, then push the tag again`
      : `sign that digest (signet sign ${formatRef(d, { digest })}, or copy with --sign), then push the tag again`;
    throw new CliError(
      `registry ${d.registry} refused the tag ${formatRef(d, { tag })}: HTTP ${r.status}${r.detail ? ` ${r.detail}` : ''} — the image is stored by digest as ${formatRef(d, { digest })}, unreleased; ${next}`,
    );
  }
  for (const w of r.warnings) process.stderr.write(`Warning from ${d.registry}: ${w}\n`);
}

interface CopyOpts extends SignOpts {
  only?: string;
  sign?: boolean;
}
