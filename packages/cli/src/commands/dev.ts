import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { api, type ServerOpts } from '../client.js';

export function register(program: Command): void {
  const dev = program.command('dev').description('development helpers for a server started with --dev');
  dev
    .command('token')
    .description("print an OIDC identity token from the server's built-in dev issuer")
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--email <email>', 'the identity (an email address)')
    .option('--sub <subject>', 'the subject, when not an email')
    .option('--audience <aud>', 'token audience', 'sigstore')
    .action(async (o: ServerOpts & { email?: string; sub?: string; audience: string }) => {
      if (!o.email && !o.sub) throw new CliError('give --email or --sub');
      const body: Record<string, string> = { audience: o.audience };
      if (o.email) body['email'] = o.email;
      if (o.sub) body['sub'] = o.sub;
      try {
        const r = await api<{ id_token: string }>({ ...o, token: '' }, 'POST', '/dev/oidc/token', body);
        process.stdout.write(`${r.id_token}\n`);
      } catch (e) {
        if (e instanceof CliError && /HTTP 404/.test(e.message)) throw new CliError('the server has no dev issuer: start it with signet-server --dev');
        throw e;
      }
    });
}
