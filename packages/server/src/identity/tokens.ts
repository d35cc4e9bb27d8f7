import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../storage/db.js';
import { IdentityError } from './errors.js';
import { RepositoryGrants } from './grants.js';

export const ROLES = ['admin', 'signer', 'publisher', 'reader'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Repository globs the token is limited to; undefined = all. */
  repositories?: string[];
  /**
   * Per-repository grants (exact repository name → role; a null-prototype object): each is the token's role on that
   * repository, widening or narrowing `role` and `repositories` there (admin tokens are never narrowed). Read them
   * with registry/access.ts `roleOn` / `principalAllows`. Undefined when the token has none.
   */
  grants?: Record<string, Role>;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  repositories: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** Tokens are "sgt_" + 32 random bytes (base64url); only their SHA-256 is stored. */
export function newTokenValue(): string {
  return `sgt_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const CACHE_MS = 5_000;

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export class TokenService {
  private readonly cache = new Map<string, { at: number; principal: Principal | undefined }>();
  /** Bumped by every grant change and revocation: a lookup that raced one is not cached. */
  private generation = 0;
  /** Per-repository role grants; each change drops the cached principals it affects. */
  readonly grants: RepositoryGrants;

  constructor(private readonly db: Db) {
    this.grants = new RepositoryGrants(db, (ids, repo) => this.forget(ids, repo));
  }

  /**
   * Drops cached principals of these tokens (and of any token holding a grant on `repo`), so that a grant change
   * takes effect on the next request. The cache is per process: another server process on the same PostgreSQL
   * database sees the change when its entry ages out (CACHE_MS).
   */
  private forget(tokenIds: readonly string[], repo?: string): void {
    this.generation++;
    const ids = new Set(tokenIds);
    for (const [h, e] of this.cache) {
      const p = e.principal;
      if (p && (ids.has(p.tokenId) || (repo !== undefined && p.grants !== undefined && Object.hasOwn(p.grants, repo)))) this.cache.delete(h);
    }
  }

  async create(req: { name: string; role: Role; repositories?: string[]; expires_at?: string; bootstrap?: boolean }): Promise<{ id: string; token: string }> {
    const token = newTokenValue();
    const id = randomUUID();
    await this.db
      .insertInto('api_tokens')
      .values({
        id,
        name: req.name,
        role: req.role,
        repositories: req.repositories ? JSON.stringify(req.repositories) : null,
        token_hash: hashToken(token),
        created_at: new Date().toISOString(),
        expires_at: req.expires_at ?? null,
        revoked_at: null,
        bootstrap: req.bootstrap ? 1 : 0,
      })
      .execute();
    return { id, token };
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role as Role,
      repositories: r.repositories ? (JSON.parse(r.repositories) as string[]) : null,
      created_at: r.created_at,
      expires_at: r.expires_at,
      revoked_at: r.revoked_at,
    }));
  }

  /** Revokes a token and deletes its per-repository grants, in one transaction; returns the grants it held. */
  async revoke(id: string): Promise<{ repo: string; role: Role }[]> {
    const { updated, grants } = await this.db.transaction().execute(async (trx) => {
      const u = await trx.updateTable('api_tokens').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      const held = await trx.selectFrom('repository_grants').select(['repo', 'role']).where('token_id', '=', id).orderBy('repo').execute();
      await trx.deleteFrom('repository_grants').where('token_id', '=', id).execute();
      return { updated: Number(u.numUpdatedRows), grants: held.map((g) => ({ repo: g.repo, role: g.role as Role })) };
    });
    if (updated === 0) {
      const exists = await this.db.selectFrom('api_tokens').select('id').where('id', '=', id).executeTakeFirst();
      if (!exists) throw new IdentityError('TOKEN_NOT_FOUND', `no token with id ${id}`);
    }
    this.generation++;
    this.cache.clear();
    return grants;
  }

  /**
   * Resolves a bearer token to its principal, with its per-repository grants (one query: the token by its unique
   * hash, left-joined to its grants by the repository_grants_token index); undefined for unknown, revoked or
   * expired tokens.
   */
  async authenticate(token: string): Promise<Principal | undefined> {
    const h = hashToken(token);
    const hit = this.cache.get(h);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.principal;
    const generation = this.generation;
    const rows = await this.db
      .selectFrom('api_tokens as t')
      .leftJoin('repository_grants as g', 'g.token_id', 't.id')
      .select(['t.id', 't.name', 't.role', 't.repositories', 't.token_hash', 't.expires_at', 't.revoked_at', 'g.repo as grant_repo', 'g.role as grant_role'])
      .where('t.token_hash', '=', h)
      .execute();
    const row = rows[0];
    let principal: Principal | undefined;
    if (
      row &&
      timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(h, 'hex')) &&
      !row.revoked_at &&
      !(row.expires_at && Date.parse(row.expires_at) <= Date.now())
    ) {
      principal = { tokenId: row.id, name: row.name, role: row.role as Role };
      if (row.repositories) principal.repositories = JSON.parse(row.repositories) as string[];
      for (const g of rows) {
        if (g.grant_repo === null || !isRole(g.grant_role)) continue;
        principal.grants ??= Object.create(null) as Record<string, Role>;
        principal.grants[g.grant_repo] = g.grant_role;
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    // A grant change or revocation committed while this lookup ran may not be in `rows`: use them once, cache nothing.
    if (generation === this.generation) this.cache.set(h, { at: Date.now(), principal });
    return principal;
  }

  /**
   * Makes sure a bootstrap admin token exists and is written to `<dataDir>/admin-token` (mode 0600).
   * An existing file whose token still authenticates is kept; otherwise a new token replaces it.
   */
  async ensureBootstrapToken(dataDir: string): Promise<string> {
    const path = join(dataDir, 'admin-token');
    if (existsSync(path)) {
      const existing = readFileSync(path, 'utf8').trim();
      if ((await this.authenticate(existing))?.role === 'admin') return path;
    }
    const { token } = await this.create({ name: 'bootstrap admin', role: 'admin', bootstrap: true });
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  }
}
