/**
 * The repositories API: POST/GET/PATCH/DELETE /api/v1/repositories (names contain '/', so single repositories are
 * addressed by a wildcard route: /api/v1/repositories/<name>).
 *
 * - kind `oci` repositories are also created by the registry on first push (distribution-spec §Pushing); kind
 *   `generic` repositories must be created here before files are PUT to them: /files/<repo>/<path> is split into
 *   repository and path by the longest generic repository name that prefixes it, which needs the repository to exist.
 * - Who may read or write is decided as everywhere else (access.ts `roleOn`): the token's role (reader reads;
 *   publisher, signer and admin write) and the token's repository globs, unless the token holds a per-repository
 *   grant on the repository (identity/grants.ts): that grant is then its role there, widening or narrowing it (admin
 *   tokens are never narrowed: a grant to an admin token whose globs reach the repository is refused as meaningless).
 *   `visibility: public` lets anyone, without a token, read the repository (pull images, download files, read
 *   signature status).
 * - Grants: `roles: [{token, role}]` on POST (set) and PATCH (replace all), PUT|DELETE
 *   /api/v1/repositories/<name>/roles/<token> for one (token: id, or a name only one live token has; percent-encoded).
 *   GET /api/v1/repositories/<name> shows `roles: [{token_id, token_name, role, …}]`: all of them to an admin of the
 *   repository, only the caller's own grant (or none) to any other token, no `roles` field to anonymous callers.
 * - Mutations need an admin token whose role on the repository is admin (its globs cover it, or a grant of admin);
 *   each one is an audit event (`repository.grant` / `repository.revoke_grant` for each grant change, including the
 *   grants a repository deletion removes), as is a denied attempt by a known token.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requireRole } from '../http/auth.js';
import { IdentityError, MAX_GRANTS_PER_REPOSITORY, MAX_TOKEN_REF, ROLES, isRole, type GrantChanges, type Grantee, type Principal, type RepositoryGrant, type Role, type TokenService } from '../identity/index.js';
import type { AuditLog } from '../audit/index.js';
import type { Db } from '../storage/db.js';
import { globMatch, principalAllows, roleOn } from './access.js';
import { isValidName } from './oci.js';
import { RepositoryError } from './repository-errors.js';
import type { Registry } from './service.js';
import type { GenericFiles } from './generic.js';

export type RepositoryKind = 'oci' | 'generic';
export type Visibility = 'private' | 'public';

export interface RepositoryInfo {
  name: string;
  kind: RepositoryKind;
  visibility: Visibility;
  description: string | null;
  created_at: string;
}

export interface RepositoryContents {
  files: number;
  file_bytes: number;
  manifests: number;
  tags: number;
  blobs: number;
}

export const MAX_REPOSITORY_NAME = 255;
export const MAX_DESCRIPTION = 1024;

/** Repository names follow the OCI grammar for both kinds (distribution-spec §Pulling manifests, `<name>`). */
export function checkRepositoryName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_REPOSITORY_NAME || !isValidName(name)) {
    throw new RepositoryError(
      'REPOSITORY_INVALID',
      `invalid repository name ${JSON.stringify(String(name).slice(0, 300))}: lowercase path components of [a-z0-9] separated by ".", "_", "__" or "-", joined by "/", at most ${MAX_REPOSITORY_NAME} characters`,
    );
  }
  return name;
}

const now = (): string => new Date().toISOString();

/** The repositories table (created by migration 0004, description added by 0008) and what a repository holds. */
export class Repositories {
  constructor(private readonly db: Db) {}

  async get(name: string): Promise<RepositoryInfo | undefined> {
    const r = await this.db.selectFrom('repositories').select(['name', 'kind', 'visibility', 'description', 'created_at']).where('name', '=', name).executeTakeFirst();
    return r ? { ...r, description: r.description ?? null } : undefined;
  }

  async list(opts: { kind?: RepositoryKind; after?: string; limit: number }): Promise<RepositoryInfo[]> {
    let q = this.db.selectFrom('repositories').select(['name', 'kind', 'visibility', 'description', 'created_at']);
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    if (opts.after !== undefined) q = q.where('name', '>', opts.after);
    const rows = await q.orderBy('name').limit(opts.limit).execute();
    return rows.map((r) => ({ ...r, description: r.description ?? null }));
  }

  /** Creates a repository; false when the name is taken. */
  async create(r: { name: string; kind: RepositoryKind; visibility: Visibility; description: string | null }): Promise<boolean> {
    const res = await this.db
      .insertInto('repositories')
      .values({ name: r.name, kind: r.kind, visibility: r.visibility, description: r.description, created_at: now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async update(name: string, fields: { visibility?: Visibility; description?: string | null }): Promise<boolean> {
    if (fields.visibility === undefined && fields.description === undefined) return (await this.get(name)) !== undefined;
    const res = await this.db
      .updateTable('repositories')
      .set({ ...(fields.visibility !== undefined ? { visibility: fields.visibility } : {}), ...(fields.description !== undefined ? { description: fields.description } : {}) })
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async contents(name: string): Promise<RepositoryContents> {
    const count = async (table: 'generic_files' | 'registry_manifests' | 'registry_tags' | 'registry_repository_blobs'): Promise<number> => {
      const r = await this.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('repo', '=', name)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    };
    const bytes = await this.db
      .selectFrom('generic_files')
      .select((eb) => eb.fn.sum<number>('size').as('s'))
      .where('repo', '=', name)
      .executeTakeFirst();
    return {
      files: await count('generic_files'),
      file_bytes: Number(bytes?.s ?? 0),
      manifests: await count('registry_manifests'),
      tags: await count('registry_tags'),
      blobs: await count('registry_repository_blobs'),
    };
  }

  /**
   * Deletes a repository and everything it lists: tags, manifests, blob links, upload sessions, generic files and
   * their signature records. The bytes stay in the blob store until garbage collection finds them unreferenced.
   */
  async delete(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('repositories').where('name', '=', name).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await trx.deleteFrom('registry_tags').where('repo', '=', name).execute();
      await trx.deleteFrom('registry_manifests').where('repo', '=', name).execute();
      await trx.deleteFrom('registry_manifest_refs').where('repo', '=', name).execute();
      await trx.deleteFrom('registry_repository_blobs').where('repo', '=', name).execute();
      await trx.deleteFrom('registry_uploads').where('repo', '=', name).execute();
      await trx.deleteFrom('generic_files').where('repo', '=', name).execute();
      await trx.deleteFrom('generic_signatures').where('repo', '=', name).execute();
      return true;
    });
  }
}

/** Whether a caller (or nobody) may read `repo`: public repositories (or anonymous pull) for anyone, else role + globs. */
export function mayRead(p: Principal | null, repo: string, publicRepo: boolean): boolean {
  if (publicRepo) return true;
  return p !== null && principalAllows(p, repo, 'pull');
}

/** 401 without a token, 403 with one, for a read of `repo`. */
export function readDenied(p: Principal | null, repo: string): IdentityError {
  if (!p) return new IdentityError('UNAUTHENTICATED', `repository "${repo}" is private: this request needs a token (Authorization: Bearer <token>)`, { headers: { 'WWW-Authenticate': 'Bearer' } });
  return new IdentityError('FORBIDDEN', `token "${p.name}" may not read repository "${repo}"`);
}

const VIEW_MAX_PAGE = 1000;

type RoleView = Pick<RepositoryGrant, 'token_id' | 'token_name' | 'role' | 'created_at' | 'created_by' | 'active'>;

function view(r: RepositoryInfo, contents?: RepositoryContents, roles?: RoleView[]): Record<string, unknown> {
  return { name: r.name, kind: r.kind, visibility: r.visibility, description: r.description, created_at: r.created_at, ...(contents ? { contents } : {}), ...(roles ? { roles } : {}) };
}

/** Whether `p` is an admin of `repo`: an admin token whose role there is admin (its globs, or a grant of admin). */
const adminOf = (p: Principal, repo: string): boolean => p.role === 'admin' && roleOn(p, repo) === 'admin';

/** A `roles` list as the request gives it, checked for shape (not yet resolved). */
interface RoleRequest {
  token: string;
  role: string;
}

/** The shape of `roles` in POST and PATCH bodies: [{token: "<id or name>", role}] (REPOSITORY_INVALID otherwise). */
function checkRolesShape(v: unknown): RoleRequest[] {
  const bad = (why: string): never => {
    throw new RepositoryError('REPOSITORY_INVALID', `roles${why.startsWith('[') ? '' : ' '}${why}: it is a list of {"token": "<token id or name>", "role": "${ROLES.join('|')}"}`);
  };
  if (!Array.isArray(v)) return bad('is not a list');
  if (v.length > MAX_GRANTS_PER_REPOSITORY) bad(`has ${v.length} entries (at most ${MAX_GRANTS_PER_REPOSITORY})`);
  return v.map((e: unknown, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) return bad(`[${i}] is not an object`);
    const extra = Object.keys(e).filter((k) => k !== 'token' && k !== 'role');
    if (extra.length > 0) bad(`[${i}] has unknown field ${JSON.stringify(extra[0]!.slice(0, 64))}`);
    const { token, role } = e as { token?: unknown; role?: unknown };
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_REF) bad(`[${i}].token must be a token id or name (1 to ${MAX_TOKEN_REF} characters)`);
    if (typeof role !== 'string') bad(`[${i}].role must be a string`);
    return { token: token as string, role: role as string };
  });
}

/** A grant's role (GRANT_INVALID naming the allowed ones otherwise). */
function checkGrantRole(role: unknown, where: string): Role {
  if (isRole(role)) return role;
  throw new IdentityError('GRANT_INVALID', `${where}role ${JSON.stringify(String(role).slice(0, 64))} is not a role: use one of ${ROLES.join(', ')}`);
}

/**
 * Admin tokens are never narrowed: one whose own globs reach `repo` is admin there whatever a grant says, so such a
 * grant would only mislead whoever reads the repository's roles. It is refused.
 */
function checkNotAdminWithin(t: Grantee, repo: string, role: Role, where: string): void {
  if (t.role !== 'admin') return;
  if (t.repositories !== null && !t.repositories.some((g) => globMatch(g, repo))) return;
  throw new IdentityError(
    'GRANT_INVALID',
    `${where}token "${t.name}" (id ${t.id}) is an admin token ${t.repositories ? `whose repositories (${t.repositories.join(', ')}) include` : 'for all repositories, including'} "${repo}": admin tokens are never narrowed, so a "${role}" grant would change nothing`,
  );
}

interface CreateBody {
  name: string;
  kind: RepositoryKind;
  visibility?: Visibility;
  description?: string;
  roles?: unknown;
}

export interface RepositoryRouteOptions {
  repositories: Repositories;
  registry: Registry;
  files: GenericFiles;
  audit: AuditLog;
  /** The identity domain's token service (per-repository grants). */
  tokens: TokenService;
}

const createSchema = {
  type: 'object',
  required: ['name', 'kind'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: MAX_REPOSITORY_NAME },
    kind: { type: 'string', enum: ['oci', 'generic'] },
    visibility: { type: 'string', enum: ['private', 'public'] },
    description: { type: 'string', maxLength: MAX_DESCRIPTION },
    roles: {},
  },
} as const;

const patchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    visibility: { type: 'string', enum: ['private', 'public'] },
    description: { type: ['string', 'null'], maxLength: MAX_DESCRIPTION },
    roles: {},
  },
} as const;

/** `/api/v1/repositories/<name>/roles/<token>` from the raw URL (the token segment percent-decoded), or undefined. */
function grantPath(url: string): { repo: string; token: string; whole: string } | undefined {
  const path = (url.split('?')[0] ?? '').slice('/api/v1/repositories/'.length);
  const m = /^(.+)\/roles\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  try {
    return { repo: decodeURIComponent(m[1] as string), token: decodeURIComponent(m[2] as string), whole: decodeURIComponent(path) };
  } catch {
    throw new IdentityError('GRANT_INVALID', 'the token in /roles/<token> is not valid percent-encoding');
  }
}

export const repositoryRoutes: FastifyPluginAsync<RepositoryRouteOptions> = async (app, opts) => {
  const { repositories, registry, files, audit, tokens } = opts;
  const grants = tokens.grants;

  /** An admin of `name` (admin token, admin there); a refused known token is an audit event. */
  const admin = async (req: FastifyRequest, action: string, name: string): Promise<Principal> => {
    try {
      const p = requireRole(req, ['admin']);
      const role = roleOn(p, name);
      if (role === undefined) throw new IdentityError('FORBIDDEN', `token "${p.name}" is limited to repositories ${p.repositories?.join(', ')}; "${name}" is not among them`);
      if (role !== 'admin') throw new IdentityError('FORBIDDEN', `token "${p.name}" has role "${role}" on repository "${name}" (a per-repository grant); managing the repository needs admin there`);
      return p;
    } catch (e) {
      if (e instanceof IdentityError && e.code === 'FORBIDDEN' && req.principal) {
        await audit.record({ actor: req.principal, action, target: `repo:${name}`, outcome: 'denied', details: { reason: e.message } });
      }
      throw e;
    }
  };
  const isPublic = (r: RepositoryInfo): boolean => registry.anonymousPull || r.visibility === 'public';
  const nameParam = (req: FastifyRequest): string => (req.params as { '*': string })['*'];

  app.post(
    '/api/v1/repositories',
    { config: { summary: 'Create a repository (admin): {name, kind: oci|generic, visibility?: private|public, description?}' }, schema: { body: createSchema } },
    async (req, reply) => {
      const body = req.body as CreateBody;
      const name = checkRepositoryName(body.name);
      const roles = body.roles !== undefined ? checkRolesShape(body.roles) : undefined;
      const p = await admin(req, 'repository.create', name);
      // Every grant is checked before anything is created.
      const resolved = roles ? await resolveGrants(name, roles) : undefined;
      const info = { name, kind: body.kind, visibility: body.visibility ?? 'private', description: body.description ?? null } as const;
      if (!(await repositories.create(info))) {
        const existing = await repositories.get(name);
        throw new RepositoryError('REPOSITORY_EXISTS', `repository "${name}" already exists (kind ${existing?.kind ?? 'unknown'})`, { headers: { Location: `/api/v1/repositories/${name}` } });
      }
      let changes: GrantChanges | undefined;
      if (resolved) {
        try {
          changes = await grants.replace(name, resolved, p.tokenId);
        } catch (e) {
          // No repository without the grants it was asked with (its grants go with it: ON DELETE CASCADE).
          await repositories.delete(name).catch(() => undefined);
          grants.repositoryDeleted(name);
          throw e;
        }
      }
      await audit.record({ actor: p, action: 'repository.create', target: `repo:${name}`, outcome: 'allowed', details: { kind: info.kind, visibility: info.visibility } });
      if (changes) await auditGrants(p, name, changes);
      const created = await repositories.get(name);
      return reply
        .status(201)
        .header('Location', `/api/v1/repositories/${name}`)
        .send(view(created as RepositoryInfo, undefined, resolved ? await grants.list(name) : undefined));
    },
  );

  app.get(
    '/api/v1/repositories',
    {
      config: { summary: 'Repositories the token may read (and public ones), by name: ?kind=oci|generic, ?n=, ?last=' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: ['oci', 'generic'] }, n: { type: 'integer', minimum: 1, maximum: VIEW_MAX_PAGE }, last: { type: 'string', maxLength: MAX_REPOSITORY_NAME } },
        },
      },
    },
    async (req) => {
      const q = req.query as { kind?: RepositoryKind; n?: number; last?: string };
      const p = req.principal;
      const limit = q.n ?? 100;
      const out: RepositoryInfo[] = [];
      let after = q.last;
      // Filtered by what the caller may read, so a page is filled from further rows when some are hidden.
      for (let round = 0; round < 20 && out.length < limit; round++) {
        const rows = await repositories.list({ ...(q.kind ? { kind: q.kind } : {}), ...(after !== undefined ? { after } : {}), limit: 500 });
        for (const r of rows) {
          if (out.length >= limit) break;
          if (mayRead(p, r.name, isPublic(r))) out.push(r);
        }
        if (rows.length < 500) break;
        after = rows[rows.length - 1]?.name;
      }
      return { repositories: out.map((r) => view(r)) };
    },
  );

  app.get(
    '/api/v1/repositories/*',
    {
      config: { summary: 'One repository with what it holds; /api/v1/repositories/<repo>/files?prefix= lists a generic repository\'s files' },
      schema: {
        params: { type: 'object', properties: { '*': { type: 'string', maxLength: 2048 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { prefix: { type: 'string', maxLength: 1024 }, n: { type: 'integer', minimum: 1, maximum: VIEW_MAX_PAGE }, last: { type: 'string', maxLength: 1024 } } },
      },
    },
    async (req) => {
      let name = nameParam(req);
      const q = req.query as { prefix?: string; n?: number; last?: string };
      let listing = false;
      if (name.endsWith('/files') && !(await repositories.get(name))) {
        name = name.slice(0, -'/files'.length);
        listing = true;
      }
      checkRepositoryName(name);
      const r = await repositories.get(name);
      if (!r || !mayRead(req.principal, name, isPublic(r))) {
        // A private repository the caller may not read is not confirmed to exist to callers without a token.
        if (r && req.principal) throw readDenied(req.principal, name);
        throw new RepositoryError('REPOSITORY_NOT_FOUND', `no repository "${name}"${r ? ' that this request may read' : ''}`);
      }
      if (listing) {
        if (r.kind !== 'generic') throw new RepositoryError('REPOSITORY_KIND_MISMATCH', `repository "${name}" is an OCI repository; it has no files (use /v2/${name}/tags/list)`);
        return { repository: name, ...(await files.list(name, { ...(q.prefix !== undefined ? { prefix: q.prefix } : {}), ...(q.last !== undefined ? { after: q.last } : {}), limit: q.n ?? VIEW_MAX_PAGE })) };
      }
      return view(r, await repositories.contents(name), await rolesFor(req.principal, name));
    },
  );

  app.patch(
    '/api/v1/repositories/*',
    {
      config: { summary: 'Change a repository\'s visibility or description (admin)' },
      schema: { params: { type: 'object', properties: { '*': { type: 'string', maxLength: 512 } } }, body: patchSchema },
    },
    async (req) => {
      const name = checkRepositoryName(nameParam(req));
      const body = req.body as { visibility?: Visibility; description?: string | null; roles?: unknown };
      const roles = body.roles !== undefined ? checkRolesShape(body.roles) : undefined;
      const p = await admin(req, 'repository.update', name);
      const before = await repositories.get(name);
      if (!before) throw new RepositoryError('REPOSITORY_NOT_FOUND', `no repository "${name}"`);
      const resolved = roles ? await resolveGrants(name, roles) : undefined;
      await repositories.update(name, { ...(body.visibility !== undefined ? { visibility: body.visibility } : {}), ...(body.description !== undefined ? { description: body.description } : {}) });
      if (!roles || body.visibility !== undefined || body.description !== undefined) {
        await audit.record({
          actor: p,
          action: 'repository.update',
          target: `repo:${name}`,
          outcome: 'allowed',
          details: { ...(body.visibility !== undefined ? { visibility: { from: before.visibility, to: body.visibility } } : {}), ...(body.description !== undefined ? { description: true } : {}) },
        });
      }
      // roles replaces every grant on the repository ([] removes them all).
      if (resolved) await auditGrants(p, name, await grants.replace(name, resolved, p.tokenId));
      return view((await repositories.get(name)) as RepositoryInfo, undefined, await grants.list(name));
    },
  );

  app.delete(
    '/api/v1/repositories/*',
    {
      config: { summary: 'Delete a repository (admin); one that holds anything needs ?force=true' },
      schema: {
        params: { type: 'object', properties: { '*': { type: 'string', maxLength: 512 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { force: { type: 'boolean' } } },
      },
    },
    async (req, reply) => {
      // DELETE /api/v1/repositories/<repo>/roles/<token> removes one grant, unless a repository has that whole name
      // (as for /files listings above: an existing repository's name wins).
      const gp = grantPath(req.url);
      if (gp && isValidName(gp.repo) && !(await repositories.get(gp.whole))) return revokeGrant(req, gp.repo, gp.token);
      const name = checkRepositoryName(nameParam(req));
      const force = (req.query as { force?: boolean }).force === true;
      const p = await admin(req, 'repository.delete', name);
      const r = await repositories.get(name);
      if (!r) throw new RepositoryError('REPOSITORY_NOT_FOUND', `no repository "${name}"`);
      const contents = await repositories.contents(name);
      const held = contents.files + contents.manifests + contents.tags + contents.blobs;
      if (held > 0 && !force) {
        throw new RepositoryError(
          'REPOSITORY_NOT_EMPTY',
          `repository "${name}" holds ${contents.files} files, ${contents.manifests} manifests, ${contents.tags} tags and ${contents.blobs} blobs: delete with ?force=true to remove them all`,
        );
      }
      const granted = await grants.list(name);
      await repositories.delete(name);
      // Its grants went with it (ON DELETE CASCADE); cached principals must not keep them.
      grants.repositoryDeleted(name);
      await audit.record({ actor: p, action: 'repository.delete', target: `repo:${name}`, outcome: 'allowed', details: { kind: r.kind, force, contents } });
      await auditGrants(p, name, { granted: [], revoked: granted }, 'repository deleted');
      return reply.status(204).send();
    },
  );

  app.put(
    '/api/v1/repositories/*',
    {
      config: { summary: 'Give one token a role on a repository (admin): PUT /api/v1/repositories/<name>/roles/<token id or name> {role}' },
      schema: {
        params: { type: 'object', properties: { '*': { type: 'string', maxLength: 2048 } } },
        body: { type: 'object', required: ['role'], additionalProperties: false, properties: { role: { type: 'string', maxLength: 64 } } },
      },
    },
    async (req, reply) => {
      const gp = grantPath(req.url);
      if (!gp) throw new RepositoryError('REPOSITORY_INVALID', 'PUT is for /api/v1/repositories/<name>/roles/<token id or name> with {"role": ...}; change a repository with PATCH');
      const name = checkRepositoryName(gp.repo);
      const role = checkGrantRole((req.body as { role: unknown }).role, '');
      const p = await admin(req, 'repository.grant', name);
      await requireRepository(name);
      const token = await grants.resolveToken(gp.token);
      checkNotAdminWithin(token, name, role, '');
      const previous = await grants.set(name, token, role, p.tokenId);
      await auditGrants(p, name, { granted: [{ token_id: token.id, token_name: token.name, role, previous }], revoked: [] });
      return reply.status(previous === null ? 201 : 200).send({ repository: name, token_id: token.id, token_name: token.name, role, previous });
    },
  );

  // ---- grants

  /** Unknown repositories are a 400 for grant changes: the grant request names something that does not exist. */
  async function requireRepository(name: string): Promise<void> {
    if (!(await repositories.get(name))) throw new IdentityError('GRANT_INVALID', `no repository "${name}": create it first (POST /api/v1/repositories; OCI repositories are also created by a first push)`);
  }

  /** Checks every requested grant (role, token, admin not narrowed) before anything changes. */
  async function resolveGrants(name: string, roles: RoleRequest[]): Promise<{ token: Grantee; role: Role }[]> {
    const out: { token: Grantee; role: Role }[] = [];
    for (const [i, r] of roles.entries()) {
      const where = `roles[${i}]: `;
      const role = checkGrantRole(r.role, where);
      let token: Grantee;
      try {
        token = await grants.resolveToken(r.token);
      } catch (e) {
        if (e instanceof IdentityError) throw new IdentityError(e.code, `${where}${e.message}`);
        throw e;
      }
      checkNotAdminWithin(token, name, role, where);
      const dup = out.find((x) => x.token.id === token.id);
      if (dup) throw new IdentityError('GRANT_INVALID', `${where}token "${token.name}" (id ${token.id}) is listed twice: one role per token and repository`);
      out.push({ token, role });
    }
    return out;
  }

  /** One audit event per grant change: repository.grant (new or changed role), repository.revoke_grant. */
  async function auditGrants(p: Principal, name: string, changes: GrantChanges, reason?: string): Promise<void> {
    for (const g of changes.granted) {
      await audit.record({ actor: p, action: 'repository.grant', target: `repo:${name}`, outcome: 'allowed', details: { token_id: g.token_id, token_name: g.token_name, role: g.role, previous: g.previous } });
    }
    for (const g of changes.revoked) {
      await audit.record({ actor: p, action: 'repository.revoke_grant', target: `repo:${name}`, outcome: 'allowed', details: { token_id: g.token_id, token_name: g.token_name, role: g.role, ...(reason ? { reason } : {}) } });
    }
  }

  async function revokeGrant(req: FastifyRequest, repo: string, ref: string): Promise<Record<string, unknown>> {
    const name = checkRepositoryName(repo);
    const p = await admin(req, 'repository.revoke_grant', name);
    await requireRepository(name);
    const removed = await grants.remove(name, ref);
    await auditGrants(p, name, { granted: [], revoked: [removed] });
    return { repository: name, ...removed };
  }

  /** The roles a caller sees on a repository: all to its admins, the caller's own grant to other tokens, none anonymous. */
  async function rolesFor(p: Principal | null, name: string): Promise<RoleView[] | undefined> {
    if (!p) return undefined;
    const all = await grants.list(name);
    return adminOf(p, name) ? all : all.filter((g) => g.token_id === p.tokenId);
  }
};
