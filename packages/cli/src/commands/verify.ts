import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  SignetError,
  detectSignatureKind,
  fromHex,
  parseTrustMaterial,
  predicateTypeFor,
  verify,
  type Artifact,
  type TrustedKey,
  type Verdict,
  type VerifyPolicy,
} from '@signet/core';
import { pgpVerifier } from '@signet/core/pgp';
import { CliError } from '../errors.js';
import { readInput } from '../io.js';
import { failure, printVerdict, summary } from '../output.js';

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

interface VerifyOpts {
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
  const keys = await loadTrust(opts.key);
  const kind = detectSignatureKind(sig);
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
    verdict = await verify({ artifact, signature: sig, trust: { keys }, policy, kind }, { pgp: pgpVerifier });
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
      .option('--allow-dsa', 'accept OpenPGP DSA keys (refused by default)');
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
