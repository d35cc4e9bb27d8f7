import type { Command } from 'commander';
import { INTOTO_PAYLOAD_TYPE, SignetError, parseTrustMaterial, verifySigstoreBundle, type TrustedKey, type Verdict } from '@signet/core';
import { CliError } from '../errors.js';
import { readInput, readText, writeOutput } from '../io.js';
import { keylessEndpoints, signBlobKeyless, signEnvelopeKeyless, type KeylessEndpoints } from '../keyless.js';
import { failure, summary } from '../output.js';
import { loadArtifact, loadTrustedRoot } from './verify.js';

/**
 * The sigstore-conformance CLI protocol (sigstore-conformance docs/cli_protocol.md): the test suite runs
 * `<entrypoint> sign-bundle …` and `<entrypoint> verify-bundle …` with the arguments in a fixed order and
 * judges by the exit code alone.
 */

interface SigningConfigService {
  url?: unknown;
  majorApiVersion?: unknown;
  validFor?: { start?: unknown; end?: unknown };
}

/** The newest service valid now with a supported API version (signing_config v0.2 semantics). */
function pickService(list: unknown, versions: number[], what: string): string | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new CliError(`signing config: ${what} must be a list`);
  const now = Date.now();
  const usable = (list as SigningConfigService[])
    .filter((s) => typeof s.url === 'string' && versions.includes(Number(s.majorApiVersion ?? 1)))
    .filter((s) => {
      const start = typeof s.validFor?.start === 'string' ? Date.parse(s.validFor.start) : 0;
      const end = typeof s.validFor?.end === 'string' ? Date.parse(s.validFor.end) : Infinity;
      return start <= now && now <= end;
    })
    .sort((a, b) => Date.parse(String(b.validFor?.start ?? 0)) - Date.parse(String(a.validFor?.start ?? 0)));
  return usable[0]?.url as string | undefined;
}

async function endpointsFromSigningConfig(path: string): Promise<KeylessEndpoints> {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(await readText(path, 'signing config')) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`signing config ${path} is not JSON`);
  }
  const fulcio = pickService(cfg['caUrls'], [1], 'caUrls');
  const rekor = pickService(cfg['rekorTlogUrls'], [1], 'rekorTlogUrls');
  const tsa = pickService(cfg['tsaUrls'], [1], 'tsaUrls');
  if (!fulcio) throw new CliError(`signing config ${path} names no usable CA (caUrls with majorApiVersion 1, valid now)`);
  if (!rekor) throw new CliError(`signing config ${path} names no usable Rekor v1 log (rekorTlogUrls with majorApiVersion 1, valid now)`);
  return keylessEndpoints({ server: fulcio, fulcioUrl: fulcio, rekorUrl: rekor, ...(tsa ? { timestampServerUrl: tsa } : { timestamp: false }) });
}

async function readKeys(path: string): Promise<TrustedKey[] | undefined> {
  try {
    const keys = parseTrustMaterial(await readInput(path, 'key'), undefined);
    return keys.length ? keys : undefined;
  } catch (e) {
    if (e instanceof SignetError) return undefined;
    throw e;
  }
}

export function register(program: Command): void {
  const c = program.command('conformance').description('the sigstore-conformance test-suite protocol (sign-bundle, verify-bundle)');

  c.command('sign-bundle')
    .description('sign FILE keyless into a bundle (--in-toto: FILE is an in-toto statement, signed as DSSE)')
    .argument('<file>')
    .requiredOption('--identity-token <token>', 'OIDC identity token')
    .requiredOption('--bundle <path>', 'where to write the bundle')
    .option('--staging', 'use the public-good staging instance (not available: Signet signs against --server or --signing-config)')
    .option('--in-toto', 'FILE is an in-toto statement')
    .option('--trusted-root <path>', 'accepted for the protocol; signing needs no trust root')
    .option('--signing-config <path>', 'signing_config.v0.2.json naming the CA, log and TSA')
    .option('--server <url>', 'Signet server when no --signing-config (env SIGNET_SERVER)')
    .action(async (file: string, o: { identityToken: string; bundle: string; staging?: boolean; inToto?: boolean; signingConfig?: string; server?: string }) => {
      if (o.staging) throw new CliError('--staging signs against the public-good staging instance, which signet does not reach; pass --signing-config or --server');
      const ep = o.signingConfig ? await endpointsFromSigningConfig(o.signingConfig) : keylessEndpoints(o.server !== undefined ? { server: o.server } : {});
      const data = await readInput(file, 'file to sign');
      let bundle: unknown;
      if (o.inToto) {
        try {
          JSON.parse(Buffer.from(data).toString('utf8'));
        } catch {
          throw new CliError(`${file} is not an in-toto statement (not JSON)`);
        }
        bundle = (await signEnvelopeKeyless(INTOTO_PAYLOAD_TYPE, data, ep, o.identityToken)).bundle;
      } else {
        bundle = (await signBlobKeyless(data, ep, o.identityToken)).bundle;
      }
      await writeOutput(o.bundle, `${JSON.stringify(bundle)}\n`, { force: true, what: 'bundle' });
    });

  c.command('verify-bundle')
    .description('verify a bundle over FILE (or sha256:<hex>) by identity or by --key')
    .argument('<file>')
    .requiredOption('--bundle <path>', 'the bundle')
    .option('--staging', 'not available (no network): pass --trusted-root')
    .option('--certificate-identity <id>', 'the SAN the certificate must carry')
    .option('--certificate-oidc-issuer <url>', 'the OIDC issuer the certificate must name')
    .option('--key <path>', 'PEM public key for key-based bundles')
    .option('--trusted-root <path>', 'trusted_root.json (else the trusted root of SIGNET_SERVER)')
    .action(async (file: string, o: { bundle: string; staging?: boolean; certificateIdentity?: string; certificateOidcIssuer?: string; key?: string; trustedRoot?: string }) => {
      if (o.staging && !o.trustedRoot) throw new CliError('--staging needs the staging trust root, which signet does not fetch: pass --trusted-root');
      if (!o.key && !(o.certificateIdentity && o.certificateOidcIssuer)) throw new CliError('give --certificate-identity and --certificate-oidc-issuer, or --key');
      const trustedRoot = await loadTrustedRoot(o.trustedRoot ? { trustedRoot: o.trustedRoot } : {});
      const artifact = await loadArtifact(file);
      const bundle = await readInput(o.bundle, 'bundle');
      let verdict: Verdict;
      if (o.key) {
        const keys = await readKeys(o.key);
        if (!keys) throw new CliError(`${o.key} holds no public key`);
        verdict = await verifySigstoreBundle(bundle, artifact, { trustedRoot, keys: { keys } });
      } else {
        verdict = await verifySigstoreBundle(bundle, artifact, {
          trustedRoot,
          identity: { subjectAlternativeName: o.certificateIdentity!, issuer: o.certificateOidcIssuer! },
        });
      }
      if (!verdict.ok) throw new CliError(`verification failed: ${failure(verdict)}`);
      process.stderr.write(`${summary(verdict)}\n`);
    });
}
