import type { Db } from '../storage/db.js';
import { IdentityError } from './errors.js';
import type { Role } from './tokens.js';

/**
 * Per-repository role grants (table `repository_grants`, migration 0009). A grant gives one API token a role on one
 * repository (an exact name): that role is the token's role there, whatever the token's own role and repository
 * globs say (it may widen or narrow them; the registry's access check decides, registry/access.ts `roleOn`, and admin
 * tokens are never narrowed there). Grants are loaded with the token on authentication (TokenService.authenticate);
 * every change here invalidates the cached principals it affects, so it takes effect on the next request.
 * Deleting a repository deletes its grants (foreign key, ON DELETE CASCADE); revoking a token deletes its grants.
 */

/** A live token a grant may be given to, as the registry needs to judge the grant. */
export interface Grantee {
  id: string;
  name: string;
  role: Role;
  /** The token's repository globs; null = all repositories. */
  repositories: string[] | null;
}

/** One grant on a repository, as the repositories API shows it. */
export interface RepositoryGrant {
  token_id: string;
  token_name: string;
  role: Role;
  created_at: string;
  /** Token id of the admin who made the grant. */
  created_by: string;
  /** False when the token has expired since: its grant does nothing (the token no longer authenticates). */
  active: boolean;
}

/** What a replacement of a repository's grants changed (for the audit log). */
export interface GrantChanges {
  granted: { token_id: string; token_name: string; role: Role; previous: Role | null }[];
  revoked: { token_id: string; token_name: string; role: Role }[];
}

/** The most grants one repository may carry (a request's `roles` list is bounded the same way). */
export const MAX_GRANTS_PER_REPOSITORY = 1000;
export const MAX_TOKEN_REF = 128;

const expired = (expiresAt: string | null, nowMs: number): boolean => expiresAt !== null && Date.parse(expiresAt) <= nowMs;
const shown = (s: string): string => JSON.stringify(s.length > MAX_TOKEN_REF ? `${s.slice(0, MAX_TOKEN_REF)}…` : s);

export class RepositoryGrants {
  /**
   * @param changed called after every committed change with the token ids whose grants changed, so that their cached
   *   principals are dropped (and with the repository, for changes that may touch tokens not named).
   */
  constructor(
    private readonly db: Db,
    private readonly changed: (tokenIds: readonly string[], repo?: string) => void,
  ) {}

  /**
   * The live (not revoked, not expired) token named by `ref`: its id, or its name when exactly one live token has
   * that name. Unknown, ambiguous, revoked and expired tokens are a 400 GRANT_INVALID naming the problem.
   */
  async resolveToken(ref: string): Promise<Grantee> {
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > MAX_TOKEN_REF) {
      throw new IdentityError('GRANT_INVALID', `a grant names its token by id or name (1 to ${MAX_TOKEN_REF} characters)`);
    }
    const rows = await this.db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'role', 'repositories', 'expires_at', 'revoked_at'])
      .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
      .orderBy('created_at')
      .limit(100)
      .execute();
    const now = Date.now();
    const byId = rows.find((r) => r.id === ref);
    const candidates = byId ? [byId] : rows;
    const live = candidates.filter((r) => !r.revoked_at && !expired(r.expires_at, now));
    if (live.length === 1) {
      const t = live[0]!;
      return { id: t.id, name: t.name, role: t.role as Role, repositories: t.repositories ? (JSON.parse(t.repositories) as string[]) : null };
    }
    if (live.length > 1) {
      throw new IdentityError(
        'GRANT_INVALID',
        `token name ${shown(ref)} is ambiguous: ${live.length} live tokens have it (ids ${live.map((r) => r.id).join(', ')}); name the token by its id`,
      );
    }
    if (candidates.length === 0) throw new IdentityError('GRANT_INVALID', `no API token with id or name ${shown(ref)} (see GET /api/v1/tokens)`);
    const dead = candidates[0]!;
    const state = dead.revoked_at ? 'revoked' : 'expired';
    throw new IdentityError('GRANT_INVALID', `token ${shown(ref)} (id ${dead.id}) is ${state}: a grant to it would do nothing`);
  }

  /** The grants on `repo`, by token name (revoked tokens have none: revocation deletes them). */
  async list(repo: string): Promise<RepositoryGrant[]> {
    const rows = await this.db
      .selectFrom('repository_grants as g')
      .innerJoin('api_tokens as t', 't.id', 'g.token_id')
      .select(['g.token_id', 't.name as token_name', 'g.role', 'g.created_at', 'g.created_by', 't.expires_at'])
      .where('g.repo', '=', repo)
      .where('t.revoked_at', 'is', null)
      .orderBy('t.name')
      .orderBy('g.token_id')
      .execute();
    const now = Date.now();
    return rows.map((r) => ({ token_id: r.token_id, token_name: r.token_name, role: r.role as Role, created_at: r.created_at, created_by: r.created_by, active: !expired(r.expires_at, now) }));
  }

  /** Gives the token `role` on `repo` (replacing a grant it had there); returns the role it had before, if any. */
  async set(repo: string, token: Grantee, role: Role, by: string): Promise<Role | null> {
    const previous = await this.db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('repository_grants').select('role').where('repo', '=', repo).where('token_id', '=', token.id).executeTakeFirst();
      const at = new Date().toISOString();
      await trx
        .insertInto('repository_grants')
        .values({ repo, token_id: token.id, role, created_at: at, created_by: by })
        .onConflict((oc) => oc.columns(['repo', 'token_id']).doUpdateSet({ role, created_at: at, created_by: by }))
        .execute();
      return (before?.role as Role | undefined) ?? null;
    });
    this.changed([token.id]);
    return previous;
  }

  /**
   * Removes the grant of the token named by `ref` (id, or a name unique among the repository's grant holders) on
   * `repo`. An unknown token is a 400 GRANT_INVALID; a token without a grant there is a 404 GRANT_NOT_FOUND.
   */
  async remove(repo: string, ref: string): Promise<{ token_id: string; token_name: string; role: Role }> {
    const holders = await this.list(repo);
    const byId = holders.filter((g) => g.token_id === ref);
    const match = byId.length > 0 ? byId : holders.filter((g) => g.token_name === ref);
    if (match.length > 1) {
      throw new IdentityError('GRANT_INVALID', `token name ${shown(ref)} is ambiguous: ${match.length} tokens with grants on "${repo}" have it (ids ${match.map((g) => g.token_id).join(', ')}); name the token by its id`);
    }
    const g = match[0];
    if (!g) {
      const known = await this.db
        .selectFrom('api_tokens')
        .select('id')
        .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
        .executeTakeFirst();
      if (!known) throw new IdentityError('GRANT_INVALID', `no API token with id or name ${shown(ref)} (see GET /api/v1/tokens)`);
      throw new IdentityError('GRANT_NOT_FOUND', `token ${shown(ref)} has no grant on repository "${repo}"`);
    }
    await this.db.deleteFrom('repository_grants').where('repo', '=', repo).where('token_id', '=', g.token_id).execute();
    this.changed([g.token_id]);
    return { token_id: g.token_id, token_name: g.token_name, role: g.role };
  }

  /** Replaces every grant on `repo` with `grants` (tokens resolved by resolveToken; one grant per token), atomically. */
  async replace(repo: string, grants: readonly { token: Grantee; role: Role }[], by: string): Promise<GrantChanges> {
    const ids = new Set<string>();
    for (const g of grants) {
      if (ids.has(g.token.id)) throw new IdentityError('GRANT_INVALID', `token "${g.token.name}" (id ${g.token.id}) appears more than once in roles: one role per token and repository`);
      ids.add(g.token.id);
    }
    if (grants.length > MAX_GRANTS_PER_REPOSITORY) throw new IdentityError('GRANT_INVALID', `at most ${MAX_GRANTS_PER_REPOSITORY} grants per repository`);
    const changes: GrantChanges = { granted: [], revoked: [] };
    const before = await this.list(repo);
    await this.db.transaction().execute(async (trx) => {
      const at = new Date().toISOString();
      await trx.deleteFrom('repository_grants').where('repo', '=', repo).execute();
      for (const g of grants) {
        await trx.insertInto('repository_grants').values({ repo, token_id: g.token.id, role: g.role, created_at: at, created_by: by }).execute();
      }
    });
    const old = new Map(before.map((g) => [g.token_id, g]));
    for (const g of grants) {
      const prev = old.get(g.token.id);
      if (prev?.role !== g.role) changes.granted.push({ token_id: g.token.id, token_name: g.token.name, role: g.role, previous: prev?.role ?? null });
    }
    for (const g of before) if (!ids.has(g.token_id)) changes.revoked.push({ token_id: g.token_id, token_name: g.token_name, role: g.role });
    this.changed([...before.map((g) => g.token_id), ...ids], repo);
    return changes;
  }

  /**
   * Forgets cached grants on a repository that was just deleted (its rows went with it: ON DELETE CASCADE), so a
   * repository created again under the name starts without them on the very next request.
   */
  repositoryDeleted(repo: string): void {
    this.changed([], repo);
  }
}
