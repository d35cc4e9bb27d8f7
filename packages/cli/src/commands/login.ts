import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { removeCredential, saveCredential, type Credential } from '../oci/auth.js';
import { parseRegistryHost, registryBase } from '../oci/reference.js';
import { RegistryClient } from '../oci/registry.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function register(program: Command): void {
  program
    .command('login')
    .description('store credentials for a registry in $SIGNET_CONFIG_DIR/auth.json (default ~/.config/signet/auth.json, mode 0600), after checking them')
    .argument('<host>', 'registry host[:port]')
    .option('--token <token>', 'an API token (a Signet server token, or any registry token used as a password)')
    .option('-u, --username <user>', 'user name for password login')
    .option('--password-stdin', 'read the password (or, without --username, the token) from standard input')
    .action(async (hostArg: string, opts: { token?: string; username?: string; passwordStdin?: boolean }) => {
      const host = parseRegistryHost(hostArg);
      if (opts.token !== undefined && opts.username !== undefined) throw new CliError('give --token or --username with --password-stdin, not both');
      if (opts.token !== undefined && opts.passwordStdin) throw new CliError('give the token with --token or on standard input with --password-stdin, not both');
      let entry: { token: string } | { username: string; password: string };
      if (opts.username !== undefined) {
        if (!opts.passwordStdin) throw new CliError('--username needs --password-stdin (passwords are not taken on the command line)');
        const password = await readStdin();
        if (!password) throw new CliError('no password on standard input');
        entry = { username: opts.username, password };
      } else {
        const token = opts.token ?? (opts.passwordStdin ? await readStdin() : undefined);
        if (!token) throw new CliError('give --token TOKEN, --password-stdin with the token on standard input, or --username USER --password-stdin');
        entry = { token: token.trim() };
      }
      const credential: Credential = 'token' in entry ? { kind: 'token', token: entry.token, source: 'the login' } : { kind: 'basic', ...entry, source: 'the login' };
      await new RegistryClient(host, registryBase(host), credential).ping();
      const file = await saveCredential(host, entry);
      process.stderr.write(`Login Succeeded: credentials for ${host} stored in ${file}\n`);
    });

  program
    .command('logout')
    .description('remove the stored credentials for a registry')
    .argument('<host>', 'registry host[:port]')
    .action(async (hostArg: string) => {
      const host = parseRegistryHost(hostArg);
      if (await removeCredential(host)) process.stderr.write(`Removed the credentials for ${host}\n`);
      else process.stderr.write(`No credentials stored for ${host}\n`);
    });
}
