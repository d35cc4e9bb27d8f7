import { dirname, isAbsolute, join } from 'node:path';
import type { Command } from 'commander';
import { SignetError, formatChecksums, parseChecksums, toHex, verify, type ChecksumEntry, type Verdict } from '@signet/core';
import { CliError } from '../errors.js';
import { hashFile, readInput } from '../io.js';
import { failure, summary } from '../output.js';
import { collect, loadTrust } from './verify.js';

export function register(program: Command): void {
  const cmd = program.command('checksums').description('create and verify sha256sum-compatible checksum lists (SHA256SUMS)');

  cmd
    .command('create')
    .description('print a checksum list for the files, in the format sha256sum writes and `sha256sum -c` reads')
    .argument('<files...>', 'files to list, by the names given')
    .option('--algorithm <alg>', 'sha256 or sha512', 'sha256')
    .action(async (files: string[], opts: { algorithm: string }) => {
      if (opts.algorithm !== 'sha256' && opts.algorithm !== 'sha512') throw new CliError('--algorithm must be sha256 or sha512');
      const entries = [];
      for (const f of files) entries.push({ name: f, digest: toHex(await hashFile(f, opts.algorithm)) });
      process.stdout.write(formatChecksums(entries));
    });

  cmd
    .command('verify')
    .description('check every file a checksum list names, after verifying the list\'s signature when one is given')
    .argument('<list>', 'the checksum list (plain, or OpenPGP clearsigned)')
    .option('--signature <path>', 'detached signature over the list: OpenPGP, minisign, signify, SSH, cosign or a Sigstore bundle')
    .option('--key <path>', 'key to verify the signature with (repeatable)', collect)
    .option('--base-dir <dir>', 'directory the listed names are relative to (default: the list\'s directory)')
    .option('--ignore-missing', 'do not fail for listed files that are absent')
    .option('--namespace <ns>', 'SSH signature namespace', 'file')
    .action(async (listPath: string, opts: { signature?: string; key?: string[]; baseDir?: string; ignoreMissing?: boolean; namespace: string }) => {
      const listBytes = await readInput(listPath, 'checksum list');
      const clearsigned = Buffer.from(listBytes).includes('-----BEGIN PGP SIGNED MESSAGE-----');
      let text = Buffer.from(listBytes).toString('utf8');
      let verdict: Verdict | undefined;
      if (clearsigned || opts.signature) {
        if (!opts.key?.length) throw new CliError(`the list is signed${opts.signature ? '' : ' (clearsigned)'}: pass --key to verify the signature`);
        const keys = await loadTrust(opts.key);
        const sig = opts.signature ? await readInput(opts.signature, 'signature') : listBytes;
        try {
          verdict = await verify(
            { artifact: { bytes: listBytes }, signature: sig, trust: { keys }, policy: { sshNamespace: opts.namespace } },
            { pgp: (await import('@signet/core/pgp')).pgpVerifier },
          );
        } catch (e) {
          if (e instanceof SignetError) throw new CliError(e.message);
          throw e;
        }
        if (!verdict.ok) throw new CliError(`the checksum list's signature does not verify: ${failure(verdict)}`);
        if (clearsigned && !opts.signature) text = verdict.text ?? '';
        process.stderr.write(`${summary(verdict, 'Checksum list signature verified')}\n`);
      } else if (opts.key?.length) {
        throw new CliError('--key was given but the list carries no signature: pass --signature');
      } else {
        process.stderr.write('warning: the checksum list is not signed; only the file digests are checked\n');
      }
      let entries: ChecksumEntry[];
      try {
        entries = parseChecksums(text);
      } catch (e) {
        if (e instanceof SignetError) throw new CliError(`${listPath}: ${e.message}`);
        throw e;
      }
      if (entries.length === 0) throw new CliError(`${listPath} lists no files`);
      const base = opts.baseDir ?? dirname(listPath);
      let failed = 0;
      let missing = 0;
      for (const e of entries) {
        const path = isAbsolute(e.name) ? e.name : join(base, e.name);
        let got: string;
        try {
          got = toHex(await hashFile(path, e.algorithm));
        } catch {
          if (!opts.ignoreMissing) {
            process.stdout.write(`${e.name}: MISSING\n`);
            missing++;
          }
          continue;
        }
        const ok = got === e.digest;
        if (!ok) failed++;
        process.stdout.write(`${e.name}: ${ok ? 'OK' : 'FAILED'}\n`);
      }
      if (failed || missing) {
        throw new CliError(
          [failed ? `${failed} of ${entries.length} files did not match` : '', missing ? `${missing} listed files are missing` : ''].filter(Boolean).join('; '),
        );
      }
    });
}
