import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  SignetError,
  detectSignatureKind,
  fromHex,
  parseTrustMaterial,
  parseTrustedRoot,
  predicateTypeFor,
  verify,
  verifySigstoreBundle,
  type FulcioClaims,
  type IdentityPolicy,
  type TrustedRoot,
  type Artifact,
  type TrustedKey,
  type Verdict,
  type VerifyPolicy,
} from '@signet/core';
import { CliError } from '../errors.js';
import { readInput } from '../io.js';
import { failure, printVerdict, summary } from '../output.js';
import { fetchTrustedRoot } from './trusted-root.js';

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Reads every --key file as trust material. */
export async function loadTrust(paths: string[] | undefined): Promise<TrustedKey[]> {
  if (!paths?.length) throw new CliError('--key is required: the public key, certificate, keyring or allowed_signers file to verify with');
  const keys: TrustedKey[] = [];
  for (const p of paths) {
    const data = await readInput(p, 'key file');
    try {
      keys.push(...parseTrustMaterial(data, undefined));
    } catch (e) {
      if (e instanceof SignetError) throw new CliError(`${p}: ${e.message}`);
      throw e;
    }
  }
  return keys;
}

/** A path, or "sha256:<hex>" for an artifact known only by its digest. */
export async function loadArtifact(file: string): Promise<Artifact> {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(file);
  if (m && !existsSync(file)) {
    const alg = m[1] as 'sha256' | 'sha512';
    if (m[2]!.length !== (alg === 'sha256' ? 64 : 128)) throw new CliError(`"${file}" is not a valid ${alg} digest`);
    return { digest: { algorithm: alg, value: fromHex(m[2]!) } };
  }
  return { bytes: await readInput(file, 'file') };
}

export interface KeylessVerifyOpts {
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  certificateGithubWorkflowTrigger?: string;
  certificateGithubWorkflowSha?: string;
  certificateGithubWorkflowName?: string;
  certificateGithubWorkflowRepository?: string;
  certificateGithubWorkflowRef?: string;
  trustedRoot?: string;
  server?: string;
  insecureIgnoreTlog?: boolean;
  insecureIgnoreSct?: boolean;
}

/** cosign's --certificate-* flags as an identity policy; undefined when none is given. */
export function identityPolicy(o: KeylessVerifyOpts): IdentityPolicy | undefined {
  if (o.certificateIdentity && o.certificateIdentityRegexp) throw new CliError('give --certificate-identity or --certificate-identity-regexp, not both');
  if (o.certificateOidcIssuer && o.certificateOidcIssuerRegexp) throw new CliError('give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both');
  for (const [flag, re] of [
    ['--certificate-identity-regexp', o.certificateIdentityRegexp],
    ['--certificate-oidc-issuer-regexp', o.certificateOidcIssuerRegexp],
  ] as const) {
    if (re === undefined) continue;
    try {
      new RegExp(re);
    } catch (e) {
      throw new CliError(`${flag} is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const claims: Partial<Record<keyof FulcioClaims, string>> = {};
  if (o.certificateGithubWorkflowTrigger) claims.githubWorkflowTrigger = o.certificateGithubWorkflowTrigger;
  if (o.certificateGithubWorkflowSha) claims.githubWorkflowSha = o.certificateGithubWorkflowSha;
  if (o.certificateGithubWorkflowName) claims.githubWorkflowName = o.certificateGithubWorkflowName;
  if (o.certificateGithubWorkflowRepository) claims.githubWorkflowRepository = o.certificateGithubWorkflowRepository;
  if (o.certificateGithubWorkflowRef) claims.githubWorkflowRef = o.certificateGithubWorkflowRef;
  const p: IdentityPolicy = {
    ...(o.certificateIdentity ? { subjectAlternativeName: o.certificateIdentity } : {}),
    ...(o.certificateIdentityRegexp ? { subjectAlternativeNameRegExp: o.certificateIdentityRegexp } : {}),
    ...(o.certificateOidcIssuer ? { issuer: o.certificateOidcIssuer } : {}),
    ...(o.certificateOidcIssuerRegexp ? { issuerRegExp: o.certificateOidcIssuerRegexp } : {}),
    ...(Object.keys(claims).length ? { claims } : {}),
  };
  return Object.keys(p).length ? p : undefined;
}

/** --trusted-root FILE (no network), else the trusted root of --server / SIGNET_SERVER. */
export async function loadTrustedRoot(o: KeylessVerifyOpts): Promise<TrustedRoot> {
  let text: string;
  let where: string;
  if (o.trustedRoot) {
    text = Buffer.from(await readInput(o.trustedRoot, 'trusted root')).toString('utf8');
    where = o.trustedRoot;
  } else {
    text = await fetchTrustedRoot(o.server !== undefined ? { server: o.server } : {});
    where = 'the server';
    process.stderr.write('Using the trusted root fetched from the server (pass --trusted-root to verify offline)\n');
  }
  try {
    return parseTrustedRoot(text);
  } catch (e) {
    if (e instanceof SignetError) throw new CliError(`trusted root from ${where}: ${e.message}`);
    throw e;
  }
}

/** Whether a Sigstore bundle carries a certificate (keyless) rather than a public-key hint. */
function bundleHasCertificate(sig: Uint8Array): boolean {
  try {
    const vm = (JSON.parse(Buffer.from(sig).toString('utf8')) as { verificationMaterial?: Record<string, unknown> }).verificationMaterial;
    return !!vm && (vm['certificate'] !== undefined || vm['x509CertificateChain'] !== undefined);
  } catch {
    return false;
  }
}

const KEYLESS_NEEDS_IDENTITY =
  'keyless verification needs an identity constraint: give --certificate-identity (or --certificate-identity-regexp) and ' +
  '--certificate-oidc-issuer (or --certificate-oidc-issuer-regexp). Without them any identity the CA certified would pass, ' +
  'which proves only that someone signed, not who';

interface VerifyOpts extends KeylessVerifyOpts {
  key?: string[];
  bundle?: string;
  signature?: string;
  output: string;
  namespace: string;
  identity?: string;
  allowSha1?: boolean;
  allowDsa?: boolean;
  type?: string;
}

async function run(file: string | undefined, opts: VerifyOpts, attestation: boolean): Promise<void> {
  if (opts.output !== 'text' && opts.output !== 'json') throw new CliError('--output must be text or json');
  if (!opts.bundle && !opts.signature) throw new CliError('give the signature with --bundle or --signature');
  if (opts.bundle && opts.signature) throw new CliError('give either --bundle or --signature, not both');
  const sigPath = (opts.bundle ?? opts.signature) as string;
  const sig = await readInput(sigPath, opts.bundle ? 'bundle' : 'signature');
  const kind = detectSignatureKind(sig);
  const identity = identityPolicy(opts);
  // Sigstore bundles go through the full Sigstore verifier (transparency log, timestamps, CA, CT, identity)
  // when they are keyless, or when a trusted root is given for a key-based bundle.
  if (kind === 'sigstore-bundle' && ((!opts.key?.length && bundleHasCertificate(sig)) || (opts.trustedRoot && (identity || opts.key?.length)))) {
    if (!opts.key?.length && !identity) throw new CliError(KEYLESS_NEEDS_IDENTITY);
    if (identity && (!identity.subjectAlternativeName && !identity.subjectAlternativeNameRegExp)) {
      throw new CliError('give --certificate-identity or --certificate-identity-regexp as well: the issuer alone does not name the signer');
    }
    if (identity && !identity.issuer && !identity.issuerRegExp) {
      throw new CliError('give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp as well: the same identity can be claimed at another issuer');
    }
    if (file === undefined) throw new CliError('the file to verify is missing');
    const artifact = await loadArtifact(file);
    const trustedRoot = await loadTrustedRoot(opts);
    const keys = opts.key?.length ? await loadTrust(opts.key) : undefined;
    let verdict: Verdict;
    try {
      verdict = await verifySigstoreBundle(sig, artifact, {
        trustedRoot,
        ...(identity ? { identity } : {}),
        ...(keys ? { keys: { keys } } : {}),
        ...(opts.insecureIgnoreTlog ? { tlogThreshold: 0 } : {}),
        ...(opts.insecureIgnoreSct ? { ctlogThreshold: 0 } : {}),
        ...(attestation && opts.type ? { predicateType: predicateTypeFor(opts.type) } : {}),
      });
    } catch (e) {
      if (e instanceof SignetError) throw new CliError(e.message);
      throw e;
    }
    finish(verdict, opts, attestation);
    return;
  }
  const keys = await loadTrust(opts.key);
  if (!kind) {
    throw new CliError(`${sigPath}: unrecognised signature (expected a Sigstore bundle, DSSE envelope, cosign, OpenPGP, SSH, minisign or signify signature)`);
  }
  let artifact: Artifact;
  if (file !== undefined) artifact = await loadArtifact(file);
  else if (kind === 'pgp' && Buffer.from(sig).includes('-----BEGIN PGP SIGNED MESSAGE-----')) artifact = { bytes: new Uint8Array() };
  else throw new CliError('the file to verify is missing');
  const policy: VerifyPolicy = { sshNamespace: opts.namespace };
  if (opts.identity) policy.identity = opts.identity;
  if (opts.allowSha1) policy.allowSha1 = true;
  if (opts.allowDsa) policy.allowDsa = true;
  if (attestation && opts.type) policy.predicateType = predicateTypeFor(opts.type);
  let verdict: Verdict;
  try {
    // openpgp.js is large: loaded only when an OpenPGP signature or key is involved.
    const needsPgp = kind === 'pgp' || keys.some((k) => k.kind === 'pgp');
    const pgp = needsPgp ? (await import('@signet/core/pgp')).pgpVerifier : undefined;
    verdict = await verify({ artifact, signature: sig, trust: { keys }, policy, kind }, pgp ? { pgp } : {});
  } catch (e) {
    if (e instanceof SignetError) throw new CliError(e.message);
    throw e;
  }
  if (verdict.ok && file !== undefined && verdict.text !== undefined && 'bytes' in artifact) {
    // A cleartext signature verified; the file given must be the text it signs (RFC 4880 §7.1: trailing
    // whitespace and line endings are not significant).
    const norm = (s: string): string => s.replace(/[ \t\r]+$/gm, '').replace(/\n+$/, '');
    if (norm(Buffer.from(artifact.bytes).toString('utf8')) !== norm(verdict.text)) {
      verdict = { ok: false, kind: verdict.kind, checks: [...verdict.checks, { name: 'artifact', ok: false, detail: 'the file differs from the text the cleartext signature covers' }] };
    }
  }
  finish(verdict, opts, attestation);
}

function finish(verdict: Verdict, opts: VerifyOpts, attestation: boolean): void {
  if (attestation && verdict.ok && !verdict.statement) {
    verdict = { ok: false, kind: verdict.kind, checks: [...verdict.checks, { name: 'payload-type', ok: false, detail: 'this is a signature, not an in-toto attestation' }] };
  }
  const st = verdict.statement as { predicateType?: string } | undefined;
  printVerdict(verdict, opts.output, attestation ? `${summary(verdict)}; predicate type ${st?.predicateType ?? 'unknown'}` : summary(verdict));
  if (!verdict.ok) throw new CliError(`verification failed: ${failure(verdict)}`);
}

export function register(program: Command): void {
  const common = (c: Command): Command =>
    c
      .option('--key <path>', 'public key, certificate, OpenPGP key/keyring, SSH key or allowed_signers, minisign/signify key (repeatable)', collect)
      .option('--bundle <path>', 'Sigstore bundle (or any signature file)')
      .option('--signature <path>', 'detached signature: cosign base64, OpenPGP, SSH, minisign, signify, DSSE envelope')
      .option('--output <format>', 'text or json (json prints the whole verdict)', 'text')
      .option('--namespace <ns>', 'SSH signature namespace the signature must carry', 'file')
      .option('--identity <id>', 'require this signer identity: SSH principal or OpenPGP user ID/email')
      .option('--allow-sha1', 'accept OpenPGP signatures made with SHA-1 (refused by default)')
      .option('--allow-dsa', 'accept OpenPGP DSA keys (refused by default)')
      .option('--certificate-identity <id>', 'keyless: the signer identity the certificate must name (email or URI SAN), exactly')
      .option('--certificate-identity-regexp <re>', 'keyless: a regular expression the whole identity must match')
      .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer the certificate must name, exactly')
      .option('--certificate-oidc-issuer-regexp <re>', 'keyless: a regular expression the whole issuer must match')
      .option('--certificate-github-workflow-trigger <event>', 'keyless: GitHub event that triggered the workflow (OID .2)')
      .option('--certificate-github-workflow-sha <sha>', 'keyless: commit SHA the workflow ran on (OID .3)')
      .option('--certificate-github-workflow-name <name>', 'keyless: workflow name (OID .4)')
      .option('--certificate-github-workflow-repository <repo>', 'keyless: owner/repository (OID .5)')
      .option('--certificate-github-workflow-ref <ref>', 'keyless: git ref (OID .6)')
      .option('--trusted-root <path>', 'Sigstore trusted_root.json (from `signet trusted-root fetch`): verify with no network')
      .option('--server <url>', 'where to fetch the trusted root when --trusted-root is not given (env SIGNET_SERVER)')
      .option('--insecure-ignore-tlog', 'keyless: accept a bundle without a transparency log entry')
      .option('--insecure-ignore-sct', 'keyless: accept a certificate without an embedded SCT');
  common(
    program
      .command('verify-blob')
      .description('verify a signature over a file; the signature and key kinds are detected from their content')
      .argument('[file]', 'the signed file, or sha256:<hex> (optional for OpenPGP cleartext signatures)'),
  ).action((file: string | undefined, opts: VerifyOpts) => run(file, opts, false));
  common(
    program
      .command('verify-blob-attestation')
      .description('verify an in-toto attestation (DSSE, bare or in a bundle) about a file')
      .argument('<file>', 'the file that must be a subject of the attestation, or sha256:<hex>')
      .option('--type <type>', 'require this predicate type (cosign --type name or URI)'),
  ).action((file: string, opts: VerifyOpts) => run(file, opts, true));
}
