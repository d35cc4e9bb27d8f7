/**
 * Image supply-chain utilities, as cosign has them: `tree` (referrers grouped by artifactType or predicateType,
 * and the legacy .sig/.att/.sbom tags), `triangulate` (the legacy tag of an image), `attach sbom|signature`
 * (legacy layouts) and `copy` (an image with its signatures, attestations and SBOMs, manifests byte-exact).
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
import { clientFor, copyManifest, listReferrers, readLegacy, resolveImage, updateReferrersTag, writeLegacyLayer } from '../oci/image.js';
import { formatRef, parseImageRef } from '../oci/reference.js';


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

  program
    .command('copy')
    .description('copy an image (indexes recursively, manifests byte-exact, blobs mounted within a registry) with its signatures, attestations and SBOMs')
    .argument('<source>', 'host[:port]/repository[:tag|@digest]')
    .argument('<destination>', 'host[:port]/repository[:tag]; without a tag the source tag is used')
    .option('--only <kinds>', 'copy only these attachments, not the image: comma-separated sig, att, sbom')
    .action(
      userErrors(async (source: string, destination: string, opts: { only?: string }) => {
        const s = parseImageRef(source);
        const d = parseImageRef(destination);
        if (d.digest) throw new CliError('the destination takes a tag, not a digest: the copy keeps the source digest');
        const only = opts.only?.split(',').map((x) => x.trim()).filter(Boolean);
        for (const k of only ?? []) if (!['sig', 'att', 'sbom'].includes(k)) throw new CliError(`--only takes sig, att and sbom (got "${k}")`);
        const kinds = new Set(only ?? ['sig', 'att', 'sbom']);
        const img = await resolveImage(s);
        const src = { client: img.client, repo: s.repository };
        const dst = { client: await clientFor(d), repo: d.repository };
        const tag = d.tag ?? s.tag;
        if (!only) {
          await copyManifest(src, dst, img.digest, tag ? [tag] : []);
          process.stderr.write(`Copied ${formatRef(s, { digest: img.digest })} to ${formatRef(d, tag ? { tag } : { digest: img.digest })}\n`);
        }
        let copied = 0;
        const { descriptors } = await listReferrers(src.client, src.repo, img.digest);
        let dstHasApi: boolean | undefined;
        for (const r of descriptors) {
          const k = referrerKind(r);
          if (k === 'other' ? only !== undefined : !kinds.has(k)) continue;
          const data = await copyManifest(src, dst, r.digest);
          dstHasApi ??= (await dst.client.referrers(dst.repo, img.digest)) !== undefined;
          if (!dstHasApi && data.manifest.subject) await updateReferrersTag(dst.client, dst.repo, data.manifest.subject.digest, { descriptor: { mediaType: data.mediaType, digest: data.digest, size: data.bytes.length }, manifest: data.manifest });
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
        process.stdout.write(`${formatRef(d, { digest: img.digest })}\n`);
      }),
    );
}
