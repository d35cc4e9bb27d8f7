import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { api, type ServerOpts } from '../client.js';

/**
 * `signet repo create|list|show|delete|grant|revoke`: the server's repositories API (/api/v1/repositories) and its
 * per-repository role grants. In `grant` and `revoke`, `--token` names the token that gets (or loses) the role, so the
 * caller's own API token comes from `--api-token` or SIGNET_TOKEN there; the other subcommands also take `--token`
 * for the caller's token, as every other server command does.
 */

const ROLES = ['admin', 'signer', 'publisher', 'reader'] as const;

interface RoleInfo {
  token_id: string;
  token_name: string;
  role: string;
  created_at: string;
  created_by: string;
  active: boolean;
}

interface RepoInfo {
  name: string;
  kind: string;
  visibility: string;
  description: string | null;
  created_at: string;
  contents?: { files: number; file_bytes: number; manifests: number; tags: number; blobs: number };
  roles?: RoleInfo[];
}

interface GrantAnswer {
  repository: string;
  token_id: string;
  token_name: string;
  role: string;
  previous?: string | null;
}

type Opts = ServerOpts & { apiToken?: string; output: string };

const serverOptions = (c: Command, callerToken: boolean): Command => {
  c.option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)').option('--api-token <token>', 'your API token (env SIGNET_TOKEN)');
  if (callerToken) c.option('--token <token>', 'your API token (same as --api-token)');
  return c.option('--output <format>', 'text or json', 'text');
};

/** The options api() takes: --api-token (or, where it is the caller's, --token), else SIGNET_TOKEN. */
function conn(o: Opts, tokenIsCaller: boolean): ServerOpts {
  const token = o.apiToken ?? (tokenIsCaller ? o.token : undefined);
  return { ...(o.server !== undefined ? { server: o.server } : {}), ...(token !== undefined ? { token } : {}) };
}

function checkOutput(o: Opts): void {
  if (o.output !== 'text' && o.output !== 'json') throw new CliError(`--output must be text or json (got "${o.output}")`);
}

/** Repository names are lowercase path components (OCI distribution-spec `<name>`); they go into the URL as they are. */
function repoPath(name: string): string {
  if (!/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/.test(name) || name.length > 255) {
    throw new CliError(`"${name}" is not a repository name: lowercase path components of [a-z0-9] separated by ".", "_", "__" or "-", joined by "/"`);
  }
  return name;
}

function checkRole(role: string): string {
  if (!(ROLES as readonly string[]).includes(role)) throw new CliError(`--role must be one of ${ROLES.join(', ')} (got "${role}")`);
  return role;
}

function checkTokenRef(ref: string): string {
  if (ref.length === 0 || ref.length > 128) throw new CliError('--token names a token by its id or name (1 to 128 characters)');
  return encodeURIComponent(ref);
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function roleLine(r: RoleInfo): string {
  return `${r.role.padEnd(10)} ${r.token_name} (${r.token_id})${r.active ? '' : ' [token expired: grant inactive]'}`;
}

function printRepo(r: RepoInfo, o: Opts): void {
  if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  const lines: [string, string][] = [
    ['name', r.name],
    ['kind', r.kind],
    ['visibility', r.visibility],
    ['created', r.created_at],
  ];
  if (r.description) lines.push(['description', r.description]);
  const c = r.contents;
  if (c) lines.push(['contents', r.kind === 'generic' ? `${c.files} files (${c.file_bytes} bytes)` : `${c.manifests} manifests, ${c.tags} tags, ${c.blobs} blobs`]);
  if (r.roles) {
    if (r.roles.length === 0) lines.push(['roles', '(no per-repository grants: token roles and repository globs decide)']);
    for (const [i, g] of r.roles.entries()) lines.push([i === 0 ? 'roles' : '', roleLine(g)]);
  }
  process.stdout.write(lines.map(([a, b]) => `${(a ? `${a}:` : '').padEnd(13)}${b}\n`).join(''));
}

export function register(program: Command): void {
  const repo = program.command('repo').description('manage repositories on a Signet server and who may use them (create, list, show, delete, grant, revoke)');

  serverOptions(
    repo
      .command('create')
      .description('create a repository (admin token)')
      .argument('<name>', 'repository name, e.g. team/app')
      .requiredOption('--kind <kind>', 'oci (images) or generic (files)')
      .option('--visibility <v>', 'private or public (anyone may read)', 'private')
      .option('--description <text>', 'free text')
      .option('--grant <token=role>', 'give a token (id or name) a role on the repository; repeatable', collect),
    true,
  ).action(async (name: string, o: Opts & { kind: string; visibility: string; description?: string; grant?: string[] }) => {
    checkOutput(o);
    if (o.kind !== 'oci' && o.kind !== 'generic') throw new CliError(`--kind must be oci or generic (got "${o.kind}")`);
    if (o.visibility !== 'private' && o.visibility !== 'public') throw new CliError(`--visibility must be private or public (got "${o.visibility}")`);
    const body: Record<string, unknown> = { name: repoPath(name), kind: o.kind, visibility: o.visibility };
    if (o.description !== undefined) body['description'] = o.description;
    if (o.grant) {
      body['roles'] = o.grant.map((g) => {
        const i = g.lastIndexOf('=');
        if (i <= 0) throw new CliError(`--grant takes token=role (got "${g}")`);
        return { token: g.slice(0, i), role: checkRole(g.slice(i + 1)) };
      });
    }
    const r = await api<RepoInfo>(conn(o, true), 'POST', '/api/v1/repositories', body);
    if (o.output === 'json') printRepo(r, o);
    else process.stderr.write(`Created ${r.kind} repository ${r.name}${r.roles?.length ? ` with ${r.roles.length} grant(s)` : ''}\n`);
  });

  serverOptions(repo.command('list').description('list the repositories your token may read (and public ones)').option('--kind <kind>', 'oci or generic'), true).action(
    async (o: Opts & { kind?: string }) => {
      checkOutput(o);
      if (o.kind !== undefined && o.kind !== 'oci' && o.kind !== 'generic') throw new CliError(`--kind must be oci or generic (got "${o.kind}")`);
      const out: RepoInfo[] = [];
      let last: string | undefined;
      // The API pages by name (?n=&last=); read every page.
      for (;;) {
        const qs = new URLSearchParams({ n: '1000', ...(o.kind ? { kind: o.kind } : {}), ...(last ? { last } : {}) });
        const page = await api<{ repositories: RepoInfo[] }>(conn(o, true), 'GET', `/api/v1/repositories?${qs}`);
        out.push(...page.repositories);
        if (page.repositories.length < 1000) break;
        last = page.repositories[page.repositories.length - 1]?.name;
      }
      if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      for (const r of out) process.stdout.write(`${r.name.padEnd(40)} ${r.kind.padEnd(8)} ${r.visibility}\n`);
    },
  );

  serverOptions(repo.command('show').description('show a repository, what it holds and its per-repository grants').argument('<name>', 'repository name'), true).action(
    async (name: string, o: Opts) => {
      checkOutput(o);
      printRepo(await api<RepoInfo>(conn(o, true), 'GET', `/api/v1/repositories/${repoPath(name)}`), o);
    },
  );

  serverOptions(
    repo
      .command('delete')
      .description('delete a repository and its grants (admin token)')
      .argument('<name>', 'repository name')
      .option('--force', 'also when it holds images or files (they are deleted)'),
    true,
  ).action(async (name: string, o: Opts & { force?: boolean }) => {
    checkOutput(o);
    await api(conn(o, true), 'DELETE', `/api/v1/repositories/${repoPath(name)}${o.force ? '?force=true' : ''}`);
    process.stderr.write(`Deleted repository ${name}\n`);
  });

  serverOptions(
    repo
      .command('grant')
      .description("give a token a role on one repository (admin token): it replaces the token's own role and repository globs there")
      .argument('<name>', 'repository name')
      .requiredOption('--token <id-or-name>', 'the token that gets the role: its id, or a name only one live token has')
      .requiredOption('--role <role>', ROLES.join(', ')),
    false,
  ).action(async (name: string, o: Opts & { token: string; role: string }) => {
    checkOutput(o);
    const path = `/api/v1/repositories/${repoPath(name)}/roles/${checkTokenRef(o.token)}`;
    const r = await api<GrantAnswer>(conn(o, false), 'PUT', path, { role: checkRole(o.role) });
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    process.stderr.write(`Granted ${r.role} on ${r.repository} to token ${r.token_name} (${r.token_id})${r.previous ? `; it was ${r.previous}` : ''}\n`);
  });

  serverOptions(
    repo
      .command('revoke')
      .description('remove a token\'s grant on one repository (admin token): its own role and globs decide again')
      .argument('<name>', 'repository name')
      .requiredOption('--token <id-or-name>', 'the token whose grant goes: its id or name'),
    false,
  ).action(async (name: string, o: Opts & { token: string }) => {
    checkOutput(o);
    const r = await api<GrantAnswer>(conn(o, false), 'DELETE', `/api/v1/repositories/${repoPath(name)}/roles/${checkTokenRef(o.token)}`);
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    process.stderr.write(`Revoked the ${r.role} grant of token ${r.token_name} (${r.token_id}) on ${r.repository}\n`);
  });
}
