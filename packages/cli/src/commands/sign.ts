import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Command } from 'commander';
import {
  INTOTO_PAYLOAD_TYPE,
  buildPredicate,
  dsseBundle,
  fromHex,
  hashForKey,
  makeStatement,
  messageSignatureBundle,
  predicateTypeFor,
  sha256,
  signData,
  signEnvelope,
  signMinisign,
  signSignify,
  signSshSig,
  spkiFingerprint,
  toBase64,
  toPem,
  utf8,
} from '@signet/core';
import { CliError } from '../errors.js';
import { readInput, readText, writeOutput } from '../io.js';
import { loadSigningKey, type SigningKey } from '../signing-key.js';
import { identityTokenFor, keylessEndpoints, signBlobKeyless, signEnvelopeKeyless, type EndpointOpts } from '../keyless.js';

/** The bundle's public key hint: base64 of the SHA-256 of the public key's SPKI DER. */
function keyHint(k: Extract<SigningKey, { kind: 'pkix' }>): string {
  return toBase64(fromHex(spkiFingerprint(k.publicKey)));
}

async function emit(path: string | undefined, data: string, what: string): Promise<void> {
  if (path) {
    await writeOutput(path, data, { force: true, what });
    process.stderr.write(`Wrote ${what} to ${path}\n`);
  } else {
    process.stdout.write(data.endsWith('\n') ? data : `${data}\n`);
  }
}

interface KeylessOpts extends EndpointOpts {
  identityToken?: string;
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecret?: string;
  tlogUpload: boolean;
  outputCertificate?: string;
}

/** Options shared by sign-blob and attest-blob for keyless signing (cosign's names). */
function keylessOptions(c: Command): Command {
  return c
    .option('--identity-token <token>', 'keyless: OIDC identity token, or a file holding it (env SIGSTORE_ID_TOKEN; GitHub Actions tokens are found by themselves)')
    .option('--oidc-issuer <url>', 'keyless: sign in interactively with this OIDC issuer (at a terminal, the CA\'s email issuer is used by default)')
    .option('--oidc-client-id <id>', 'keyless: OAuth client ID for the interactive sign-in', 'sigstore')
    .option('--oidc-client-secret <secret>', 'keyless: OAuth client secret, if the issuer needs one')
    .option('--server <url>', 'keyless: the Signet server for the CA, log and timestamps (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--fulcio-url <url>', 'keyless: Fulcio v2 CA URL (overrides --server)')
    .option('--rekor-url <url>', 'keyless: Rekor v1 log URL (overrides --server)')
    .option('--timestamp-server-url <url>', 'keyless: RFC 3161 TSA URL (overrides --server; a bare origin gets /api/v1/timestamp)')
    .option('--no-timestamp', 'keyless: do not ask a TSA for a timestamp (the log entry then is the only time evidence)')
    .option('--no-tlog-upload', 'keyless: do not log the signature (a verifier then needs a timestamp and --tlog-threshold 0)')
    .option('--output-certificate <path>', 'keyless: also write the signing certificate (PEM)')
    .option('-y, --yes', 'accepted for cosign compatibility (there is no prompt to skip)');
}

async function writeCertificate(path: string | undefined, der: Uint8Array): Promise<void> {
  if (!path) return;
  await writeOutput(path, toPem('CERTIFICATE', der), { force: true, what: 'certificate' });
  process.stderr.write(`Wrote certificate to ${path}\n`);
}

interface SignOpts extends KeylessOpts {
  key?: string;
  bundle?: string;
  outputSignature?: string;
  namespace: string;
  trustedComment?: string;
  clearsign?: boolean;
}

export function register(program: Command): void {
  program
  const signBlob = program
    .command('sign-blob')
    .description(
      'sign a file with a key (cosign/Sigstore bundle v0.3, OpenPGP, SSH, minisign or signify, by the key kind), ' +
        'or keyless without --key: a certificate for your OIDC identity, a log entry and a timestamp, all in the --bundle',
    )
    .argument('<file>', 'the file to sign (- for standard input)')
    .option('--key <path>', 'private key: cosign .key, PKCS#8 PEM, OpenPGP secret key, OpenSSH private key, minisign or signify secret key; omit to sign keyless')
    .option('--bundle <path>', 'write a Sigstore bundle v0.3 (cosign/PEM keys)')
    .option('--output-signature <path>', 'write the signature to this file instead of standard output')
    .option('--namespace <ns>', 'SSH signature namespace', 'file')
    .option('--trusted-comment <text>', 'minisign trusted comment')
    .option('--clearsign', 'OpenPGP: make a cleartext signature that contains the text');
  keylessOptions(signBlob).action(async (file: string, opts: SignOpts) => {
      if (!opts.key) {
        if (!opts.bundle) throw new CliError('keyless signing writes a Sigstore bundle: give --bundle <path> (or sign with --key)');
        const ep = keylessEndpoints(opts);
        const token = await identityTokenFor(opts, ep.fulcio);
        const data = await readInput(file, 'file to sign');
        const r = await signBlobKeyless(data, ep, token, { tlogUpload: opts.tlogUpload });
        await writeOutput(opts.bundle, `${JSON.stringify(r.bundle)}\n`, { force: true, what: 'bundle' });
        process.stderr.write(`Wrote bundle to ${opts.bundle}\n`);
        await writeCertificate(opts.outputCertificate, r.certificate);
        if (opts.outputSignature) await emit(opts.outputSignature, toBase64(r.signature), 'signature');
        return;
      }
      const key = await loadSigningKey(opts.key);
      const data = await readInput(file, 'file to sign');
      if (opts.bundle && key.kind !== 'pkix') {
        throw new CliError(`--bundle holds cosign/Sigstore signatures; a ${key.kind} key signs with --output-signature`);
      }
      if (opts.clearsign && key.kind !== 'pgp') throw new CliError('--clearsign needs an OpenPGP secret key');
      switch (key.kind) {
        case 'pkix': {
          const sig = await signData(key.privateKey, data);
          if (opts.bundle) {
            // The digest names the hash the signature was made with (SHA-384 for P-384 keys), as verifiers read it.
            const algorithm = hashForKey(key.privateKey) ?? 'sha256';
            const value = new Uint8Array(createHash(algorithm).update(data).digest());
            const bundle = messageSignatureBundle({ key: { hint: keyHint(key) }, digest: { algorithm, value }, signature: sig });
            await writeOutput(opts.bundle, `${JSON.stringify(bundle)}\n`, { force: true, what: 'bundle' });
            process.stderr.write(`Wrote bundle to ${opts.bundle}\n`);
          }
          if (opts.outputSignature || !opts.bundle) await emit(opts.outputSignature, toBase64(sig), 'signature');
          return;
        }
        case 'pgp': {
          const opt = key.passphrase !== undefined ? { passphrase: key.passphrase } : {};
          const { clearsignPgp, signPgpDetached } = await import('@signet/core/pgp');
          const out = opts.clearsign
            ? await clearsignPgp(data, key.armored, opt)
            : Buffer.from(await signPgpDetached(data, key.armored, { armor: true, ...opt })).toString('utf8');
          return emit(opts.outputSignature, out, 'signature');
        }
        case 'ssh':
          return emit(opts.outputSignature, await signSshSig(data, key.privateKey, { namespace: opts.namespace }), 'signature');
        case 'minisign': {
          const o = { ...(opts.trustedComment ? { trustedComment: opts.trustedComment } : {}), ...(file !== '-' ? { fileName: basename(file) } : {}) };
          return emit(opts.outputSignature, await signMinisign(data, key.secretKey, o), 'signature');
        }
        case 'signify':
          return emit(opts.outputSignature, await signSignify(data, key.secretKey), 'signature');
      }
    });

  const attestBlob = program
    .command('attest-blob')
    .description('sign an in-toto attestation about a file (DSSE), as cosign attest-blob; keyless without --key')
    .argument('<file>', 'the file the attestation is about (its sha256 becomes the subject)')
    .option('--key <path>', 'private key (cosign .key or PKCS#8 PEM); omit to sign keyless')
    .requiredOption('--predicate <path>', 'the predicate file (JSON; raw text for --type custom)')
    .option('--type <type>', 'predicate type: slsaprovenance, slsaprovenance1, spdx, spdxjson, cyclonedx, vuln, openvex, link, custom, or a URI', 'custom')
    .option('--bundle <path>', 'write a Sigstore bundle v0.3 holding the DSSE envelope')
    .option('--output-signature <path>', 'write the DSSE envelope JSON to this file')
    .option('--statement-version <v>', 'in-toto Statement version: v1 or v0.1 (cosign writes v0.1)', 'v1');
  keylessOptions(attestBlob).action(
    async (file: string, opts: KeylessOpts & { key?: string; predicate: string; type: string; bundle?: string; outputSignature?: string; statementVersion: string }) => {
      if (opts.statementVersion !== 'v1' && opts.statementVersion !== 'v0.1') throw new CliError('--statement-version must be v1 or v0.1');
      if (!opts.key && !opts.bundle) throw new CliError('keyless attestations are written as a Sigstore bundle: give --bundle <path> (or sign with --key)');
      const predicateType = predicateTypeFor(opts.type);
      const predicate = buildPredicate(opts.type, await readText(opts.predicate, 'predicate file'));
      const ep = opts.key ? undefined : keylessEndpoints(opts);
      const key = opts.key ? await loadSigningKey(opts.key) : undefined;
      if (key && key.kind !== 'pkix') throw new CliError(`attestations are signed with a cosign or PEM key, not a ${key.kind} key`);
      const token = ep ? await identityTokenFor(opts, ep.fulcio) : undefined;
      const data = await readInput(file, 'file');
      const statement = makeStatement({
        subjects: [{ name: file === '-' ? 'stdin' : basename(file), digest: { sha256: sha256(data) } }],
        predicateType,
        predicate,
        version: opts.statementVersion,
      });
      if (ep && token !== undefined) {
        const r = await signEnvelopeKeyless(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(statement)), ep, token, { tlogUpload: opts.tlogUpload });
        await writeOutput(opts.bundle!, `${JSON.stringify(r.bundle)}\n`, { force: true, what: 'bundle' });
        process.stderr.write(`Wrote bundle to ${opts.bundle}\n`);
        await writeCertificate(opts.outputCertificate, r.certificate);
        if (opts.outputSignature) await emit(opts.outputSignature, JSON.stringify(r.envelope), 'attestation');
        return;
      }
      if (key?.kind !== 'pkix') throw new CliError('attest-blob needs --key or keyless signing');
      const envelope = await signEnvelope(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(statement)), key.privateKey);
      if (opts.bundle) {
        await writeOutput(opts.bundle, `${JSON.stringify(dsseBundle({ key: { hint: keyHint(key) }, envelope }))}\n`, { force: true, what: 'bundle' });
        process.stderr.write(`Wrote bundle to ${opts.bundle}\n`);
      }
      if (opts.outputSignature || !opts.bundle) await emit(opts.outputSignature, JSON.stringify(envelope), 'attestation');
    },
  );
}
