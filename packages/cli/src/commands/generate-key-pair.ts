import type { Command } from 'commander';
import { encryptCosignKey, generateKeyPair, pkcs8Der, publicKeyPem, spkiFingerprint, type KeyKind } from '@signet/core';
import { CliError } from '../errors.js';
import { writeOutput } from '../io.js';
import { getPassword } from '../password.js';

const KINDS: Record<string, KeyKind> = {
  'ecdsa-p256': 'ecdsa-p256',
  'ecdsa-p384': 'ecdsa-p384',
  ed25519: 'ed25519',
  'rsa-2048': 'rsa-2048',
  'rsa-3072': 'rsa-3072',
  'rsa-4096': 'rsa-4096',
};

export function register(program: Command): void {
  program
    .command('generate-key-pair')
    .description("generate a key pair: <prefix>.key (cosign's encrypted format) and <prefix>.pub (PEM)")
    .option('--output-key-prefix <prefix>', 'write <prefix>.key and <prefix>.pub', 'cosign')
    .option('--kind <kind>', `key kind: ${Object.keys(KINDS).join(', ')}`, 'ecdsa-p256')
    .option('-f, --force', 'overwrite existing key files')
    .addHelpText(
      'after',
      '\nThe password comes from SIGNET_PASSWORD, else COSIGN_PASSWORD, else a prompt on the terminal.\n' +
        'The private key is encrypted with scrypt (N=65536, r=8, p=1) and NaCl secretbox, as cosign writes it.',
    )
    .action(async (opts: { outputKeyPrefix: string; kind: string; force?: boolean }) => {
      const kind = KINDS[opts.kind];
      if (!kind) throw new CliError(`unknown --kind "${opts.kind}": use one of ${Object.keys(KINDS).join(', ')}`);
      const password = await getPassword({ confirm: true, purpose: 'encrypt the new private key' });
      const { privateKey, publicKey } = await generateKeyPair(kind);
      const keyPem = await encryptCosignKey(pkcs8Der(privateKey), password);
      const keyPath = `${opts.outputKeyPrefix}.key`;
      const pubPath = `${opts.outputKeyPrefix}.pub`;
      await writeOutput(keyPath, keyPem, { mode: 0o600, force: opts.force ?? false, what: 'private key' });
      await writeOutput(pubPath, publicKeyPem(publicKey), { force: opts.force ?? false, what: 'public key' });
      process.stderr.write(`Private key written to ${keyPath}\nPublic key written to ${pubPath}\n`);
      process.stderr.write(`Key fingerprint (sha256 of the public key): ${spkiFingerprint(publicKey)}\n`);
    });
}
