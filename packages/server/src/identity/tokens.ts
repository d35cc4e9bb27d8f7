import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../storage/db.js';
import { IdentityError } from './errors.js';

export const ROLES = ['admin', 'signer', 'publisher', 'reader'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Repository globs the token is limited to; undefined = all. */
  repositories?: string[];
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

export class TokenService {
  private readonly cache = new Map<string, { at: number; principal: Principal | undefined }>();

  constructor(private readonly db: Db) {}

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

  async revoke(id: string): Promise<void> {
    const r = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) {
      const exists = await this.db.selectFrom('api_tokens').select('id').where('id', '=', id).executeTakeFirst();
      if (!exists) throw new IdentityError('TOKEN_NOT_FOUND', `no token with id ${id}`);
    }
    this.cache.clear();
  }

  /** Resolves a bearer token to its principal; undefined for unknown, revoked or expired tokens. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const h = hashToken(token);
    const hit = this.cache.get(h);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.principal;
    const row = await this.db.selectFrom('api_tokens').selectAll().where('token_hash', '=', h).executeTakeFirst();
    let principal: Principal | undefined;
    if (
      row &&
      timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(h, 'hex')) &&
      !row.revoked_at &&
      !(row.expires_at && Date.parse(row.expires_at) <= Date.now())
    ) {
      principal = { tokenId: row.id, name: row.name, role: row.role as Role };
      if (row.repositories) principal.repositories = JSON.parse(row.repositories) as string[];
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(h, { at: Date.now(), principal });
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
