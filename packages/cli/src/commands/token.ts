import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { api, type ServerOpts } from '../client.js';

const serverOptions = (c: Command): Command =>
  c
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--token <token>', 'admin API token (env SIGNET_TOKEN)');

interface TokenInfo {
  id: string;
  name: string;
  role: string;
  repositories: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export function register(program: Command): void {
  const token = program.command('token').description('manage API tokens on a Signet server (admin)');
  serverOptions(
    token
      .command('create')
      .description('create a token; it is printed once and cannot be shown again')
      .requiredOption('--name <name>', 'what the token is for')
      .requiredOption('--role <role>', 'admin, signer, publisher or reader')
      .option('--repositories <globs>', 'comma-separated repository globs the token is limited to')
      .option('--expires-at <time>', 'ISO 8601 expiry, e.g. 2027-01-01T00:00:00Z')
      .option('--output <format>', 'text (the token only) or json', 'text'),
  ).action(async (o: ServerOpts & { name: string; role: string; repositories?: string; expiresAt?: string; output: string }) => {
    const body: Record<string, unknown> = { name: o.name, role: o.role };
    if (o.repositories) body['repositories'] = o.repositories.split(',').map((s) => s.trim()).filter(Boolean);
    if (o.expiresAt) body['expires_at'] = o.expiresAt;
    const r = await api<{ id: string; token: string }>(o, 'POST', '/api/v1/tokens', body);
    if (o.output === 'json') process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      process.stdout.write(`${r.token}\n`);
      process.stderr.write(`Created token ${r.id} (${o.role}). Store it now: it is not shown again.\n`);
    }
  });
  serverOptions(token.command('list').description('list tokens (never their values)').option('--output <format>', 'text or json', 'text')).action(
    async (o: ServerOpts & { output: string }) => {
      const r = await api<{ tokens: TokenInfo[] }>(o, 'GET', '/api/v1/tokens');
      if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r.tokens, null, 2)}\n`);
      for (const t of r.tokens) {
        const state = t.revoked_at ? 'revoked' : t.expires_at && Date.parse(t.expires_at) < Date.now() ? 'expired' : 'active';
        process.stdout.write(`${t.id}  ${t.role.padEnd(9)} ${state.padEnd(7)} ${t.name}${t.repositories ? `  [${t.repositories.join(', ')}]` : ''}\n`);
      }
    },
  );
  serverOptions(token.command('revoke').description('revoke a token by id').argument('<id>', 'the token id (from token list)')).action(async (id: string, o: ServerOpts) => {
    if (!/^[0-9a-f-]{8,64}$/i.test(id)) throw new CliError(`"${id}" is not a token id`);
    await api(o, 'DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
    process.stderr.write(`Revoked token ${id}\n`);
  });
}
