import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal, Role } from '../identity/index.js';

/** What a request wants to do to a repository. Delete needs the same roles as push. */
export type Action = 'pull' | 'push' | 'delete';

export const WRITER_ROLES: readonly Role[] = ['admin', 'signer', 'publisher'];

/** One entry of a registry token's `access` claim (docker/distribution token spec). */
export interface AccessEntry {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

/** Who a /v2/ request is, once its credentials are checked. */
export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'principal'; principal: Principal }
  | { kind: 'token'; subject: string; access: AccessEntry[] };

/**
 * Repository globs on API tokens (as the keys domain reads them): `*` matches within one path component,
 * `**` as a whole component matches any number of components (`prod/*` matches `prod/app` but not
 * `prod/team/app`; `prod/**` matches `prod`, `prod/app` and `prod/team/app`).
 */
export function globMatch(glob: string, name: string): boolean {
  const g = glob.split('/');
  const n = name.split('/');
  const memo = new Map<number, boolean>();
  const seg = (pattern: string, s: string): boolean =>
    new RegExp(`^${pattern.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`).test(s);
  const m = (i: number, j: number): boolean => {
    const k = i * (n.length + 1) + j;
    const hit = memo.get(k);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === g.length) r = j === n.length;
    else if (g[i] === '**') r = m(i + 1, j) || (j < n.length && m(i, j + 1));
    else r = j < n.length && seg(g[i] as string, n[j] as string) && m(i + 1, j + 1);
    memo.set(k, r);
    return r;
  };
  return m(0, 0);
}

/**
 * The role an API token's principal has on `repo`, or undefined when it has none there. A per-repository grant
 * (identity/grants.ts) is the token's role on that repository: it widens (a reader limited to `team-a/*` granted
 * publisher on `shared/tools`) or narrows (an all-repositories publisher granted reader on `production/app`).
 * Admin tokens are never narrowed: where their own globs reach, they stay admin whatever a grant says; a grant
 * only widens them to a repository outside their globs. Without a grant: the token's role within its globs.
 */
export function roleOn(p: Principal, repo: string): Role | undefined {
  const covered = p.repositories === undefined || p.repositories.some((g) => globMatch(g, repo));
  if (p.role === 'admin' && covered) return 'admin';
  // grants is a null-prototype record, but a principal built elsewhere may carry a plain object: own keys only.
  const granted = p.grants !== undefined && Object.hasOwn(p.grants, repo) ? p.grants[repo] : undefined;
  if (granted !== undefined) return granted;
  return covered ? p.role : undefined;
}

/**
 * Whether an API token's principal may do `action` to `repo`: pull needs any role there, push and delete a writer
 * role (publisher, signer, admin). The role there is `roleOn`: the repository's grant, else role and globs.
 */
export function principalAllows(p: Principal, repo: string, action: Action): boolean {
  const role = roleOn(p, repo);
  if (role === undefined) return false;
  return action === 'pull' || WRITER_ROLES.includes(role);
}

/** Whether a registry token grants `action` on `repo` ("*" grants everything; push also allows delete). */
export function tokenAllows(access: AccessEntry[], repo: string, action: Action): boolean {
  return access.some(
    (a) => a.type === 'repository' && a.name === repo && (a.actions.includes(action) || a.actions.includes('*') || (action === 'delete' && a.actions.includes('push'))),
  );
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
const HEADER = b64({ alg: 'HS256', typ: 'JWT' });
/** Registry tokens live 5 minutes (clients fetch a new one when it runs out). */
export const REGISTRY_TOKEN_TTL_S = 300;

/**
 * Short-lived registry tokens: HS256 JWTs (RFC 7519) signed with a key kept in the SecretStore, carrying
 * the granted scopes as docker/distribution's `access` claim. Only this server verifies them.
 */
export class RegistryTokens {
  constructor(
    private readonly key: Uint8Array,
    readonly issuer: string,
    readonly service: string,
  ) {}

  issue(subject: string, access: AccessEntry[], nowMs = Date.now()): IssuedToken {
    const iat = Math.floor(nowMs / 1000);
    const claims = { iss: this.issuer, sub: subject, aud: this.service, iat, nbf: iat - 5, exp: iat + REGISTRY_TOKEN_TTL_S, jti: randomBytes(12).toString('base64url'), access };
    const body = `${HEADER}.${b64(claims)}`;
    return { token: `${body}.${this.sign(body)}`, expiresIn: REGISTRY_TOKEN_TTL_S, issuedAt: new Date(iat * 1000).toISOString() };
  }

  /** The token's subject and access, or undefined when it is not a valid, current token of this server. */
  verify(token: string, nowMs = Date.now()): { subject: string; access: AccessEntry[] } | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
    const body = `${parts[0]}.${parts[1]}`;
    const want = Buffer.from(this.sign(body), 'utf8');
    const got = Buffer.from(parts[2] as string, 'utf8');
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    let c: { iss?: unknown; sub?: unknown; aud?: unknown; nbf?: unknown; exp?: unknown; access?: unknown };
    try {
      c = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as typeof c;
    } catch {
      return undefined;
    }
    const now = nowMs / 1000;
    if (c.iss !== this.issuer || c.aud !== this.service || typeof c.exp !== 'number' || c.exp <= now || (typeof c.nbf === 'number' && c.nbf > now + 30)) return undefined;
    if (typeof c.sub !== 'string' || !Array.isArray(c.access)) return undefined;
    return { subject: c.sub, access: c.access as AccessEntry[] };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** One `scope` parameter: `repository:<name>:<actions>` (docker/distribution token scope grammar). */
export function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  // A resource class may follow the type in parentheses: repository(plugin):name:pull
  const type = scope.slice(0, first).replace(/\(.*\)$/, '');
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  return { type, name, actions };
}
