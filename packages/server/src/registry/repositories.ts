/**
 * The repositories API: POST/GET/PATCH/DELETE /api/v1/repositories (names contain '/', so single repositories are
 * addressed by a wildcard route: /api/v1/repositories/<name>).
 *
 * - kind `oci` repositories are also created by the registry on first push (distribution-spec §Pushing); kind
 *   `generic` repositories must be created here before files are PUT to them: /files/<repo>/<path> is split into
 *   repository and path by the longest generic repository name that prefixes it, which needs the repository to exist.
 * - Who may read or write is decided as everywhere else: the token's role (reader reads; publisher, signer and admin
 *   write) and the token's repository globs. There are no per-repository role lists. `visibility: public` lets
 *   anyone, without a token, read the repository (pull images, download files, read signature status).
 * - Mutations need an admin token whose globs (if any) cover the repository; each one is an audit event, as is a
 *   denied attempt by a known token.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requireRole } from '../http/auth.js';
import { IdentityError, type Principal } from '../identity/index.js';
import type { AuditLog } from '../audit/index.js';
import type { Db } from '../storage/db.js';
import { principalAllows } from './access.js';
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

function view(r: RepositoryInfo, contents?: RepositoryContents): Record<string, unknown> {
  return { name: r.name, kind: r.kind, visibility: r.visibility, description: r.description, created_at: r.created_at, ...(contents ? { contents } : {}) };
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

const ROLES_REFUSED =
  'per-repository roles are not supported: who may read or write is decided by the token role (reader reads; publisher, signer, admin write) and the token\'s repository globs; set visibility "public" for anonymous reads';

export const repositoryRoutes: FastifyPluginAsync<RepositoryRouteOptions> = async (app, { repositories, registry, files, audit }) => {
  /** An admin whose globs cover `name`; a refused known token is an audit event. */
  const admin = async (req: FastifyRequest, action: string, name: string): Promise<Principal> => {
    try {
      const p = requireRole(req, ['admin']);
      if (!principalAllows(p, name, 'push')) throw new IdentityError('FORBIDDEN', `token "${p.name}" is limited to repositories ${p.repositories?.join(', ')}; "${name}" is not among them`);
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
      if (body.roles !== undefined) throw new RepositoryError('REPOSITORY_INVALID', ROLES_REFUSED);
      const p = await admin(req, 'repository.create', name);
      const info = { name, kind: body.kind, visibility: body.visibility ?? 'private', description: body.description ?? null } as const;
      if (!(await repositories.create(info))) {
        const existing = await repositories.get(name);
        throw new RepositoryError('REPOSITORY_EXISTS', `repository "${name}" already exists (kind ${existing?.kind ?? 'unknown'})`, { headers: { Location: `/api/v1/repositories/${name}` } });
      }
      await audit.record({ actor: p, action: 'repository.create', target: `repo:${name}`, outcome: 'allowed', details: { kind: info.kind, visibility: info.visibility } });
      const created = await repositories.get(name);
      return reply.status(201).header('Location', `/api/v1/repositories/${name}`).send(view(created as RepositoryInfo));
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
      return view(r, await repositories.contents(name));
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
      if (body.roles !== undefined) throw new RepositoryError('REPOSITORY_INVALID', ROLES_REFUSED);
      const p = await admin(req, 'repository.update', name);
      const before = await repositories.get(name);
      if (!before) throw new RepositoryError('REPOSITORY_NOT_FOUND', `no repository "${name}"`);
      await repositories.update(name, { ...(body.visibility !== undefined ? { visibility: body.visibility } : {}), ...(body.description !== undefined ? { description: body.description } : {}) });
      await audit.record({
        actor: p,
        action: 'repository.update',
        target: `repo:${name}`,
        outcome: 'allowed',
        details: { ...(body.visibility !== undefined ? { visibility: { from: before.visibility, to: body.visibility } } : {}), ...(body.description !== undefined ? { description: true } : {}) },
      });
      return view((await repositories.get(name)) as RepositoryInfo);
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
      await repositories.delete(name);
      await audit.record({ actor: p, action: 'repository.delete', target: `repo:${name}`, outcome: 'allowed', details: { kind: r.kind, force, contents } });
      return reply.status(204).send();
    },
  );
};
