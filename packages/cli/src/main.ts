import { Command, CommanderError } from 'commander';
import { SignetError } from '@signet/core';
import { CliError } from './errors.js';
import { register as registerGenerate } from './commands/generate-key-pair.js';
import { register as registerSign } from './commands/sign.js';
import { register as registerVerify } from './commands/verify.js';
import { register as registerChecksums } from './commands/checksums.js';
import { register as registerToken } from './commands/token.js';
import { register as registerLog } from './commands/log.js';
import { register as registerDev } from './commands/dev.js';
import { register as registerTrustedRoot } from './commands/trusted-root.js';
import { register as registerConformance } from './commands/conformance.js';
import { register as registerKey } from './commands/key.js';
import { register as registerPolicy } from './commands/policy.js';
import { register as registerAudit } from './commands/audit.js';
import { register as registerLogin } from './commands/login.js';
import { register as registerImageSign } from './commands/image-sign.js';
import { register as registerImageVerify } from './commands/image-verify.js';
import { register as registerImageTools } from './commands/image-tools.js';
import { register as registerFiles } from './commands/files.js';
import { register as registerRepo } from './commands/repo.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('signet')
    .description('Sign and verify blobs, attestations and checksum files: Sigstore/cosign, OpenPGP, SSH, minisign and signify')
    .version(VERSION)
    .option('--verbose', 'print stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerGenerate(program);
  registerSign(program);
  registerVerify(program);
  registerChecksums(program);
  registerToken(program);
  registerLog(program);
  registerTrustedRoot(program);
  registerDev(program);
  registerConformance(program);
  registerKey(program);
  registerPolicy(program);
  registerAudit(program);
  registerLogin(program);
  registerImageSign(program);
  registerImageVerify(program);
  registerImageTools(program);
  registerFiles(program);
  registerRepo(program);
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI; returns the exit code. Errors print as one line; stacks only with --verbose. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof CliError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof SignetError) {
      process.stderr.write(`Error: ${e.message}\n`);
      if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
      return 1;
    }
    process.stderr.write(`Error: ${(e as Error).message ?? String(e)}\n`);
    if (verbose) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    else process.stderr.write('(run with --verbose for details)\n');
    return 1;
  }
}
