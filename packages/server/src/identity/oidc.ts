import type { KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { IdentityError } from './errors.js';
import { parseCompactJws, signatureCheck, toKeyObject, verifyJwsSignature, type JwsSignatureCheck } from './jws.js';

/** Issuer types as Fulcio names them (fulcio pkg/config). */
export const ISSUER_TYPES = ['email', 'github-workflow', 'gitlab-pipeline', 'ci-provider', 'uri', 'username'] as const;
export type IssuerType = (typeof ISSUER_TYPES)[number];

export interface IssuerConfig {
  url: string;
  audience: string;
  type: IssuerType;
}

export type SubjectAltName = { type: 'email'; value: string } | { type: 'uri'; value: string } | { type: 'username'; value: string };

/** A verified OIDC identity, ready to become a certificate. */
export interface OidcIdentity {
  issuer: string;
  type: IssuerType;
  /** What the proof of possession signs (Fulcio's principal name): the email for email issuers, else `sub`. */
  principal: string;
  san: SubjectAltName;
  claims: JWTPayload;
}

const MAX_TOKEN_BYTES = 16_384;

function deny(msg: string): never {
  throw new IdentityError('UNAUTHENTICATED', msg);
}

/** The certificate identity for a token's claims, by issuer type (Fulcio's principal mapping). */
export function identityFromClaims(type: IssuerType, issuer: string, c: JWTPayload): Omit<OidcIdentity, 'claims'> {
  const sub = typeof c.sub === 'string' ? c.sub : '';
  const str = (k: string): string => {
    const v = c[k];
    if (typeof v !== 'string' || v === '') deny(`the token has no "${k}" claim, which a ${type} issuer needs`);
    return v;
  };
  switch (type) {
    case 'email': {
      const email = str('email');
      if (c['email_verified'] !== true) deny(`the token's email ${email} is not verified (email_verified is not true)`);
      return { issuer, type, principal: email, san: { type: 'email', value: email } };
    }
    case 'github-workflow':
      return { issuer, type, principal: sub, san: { type: 'uri', value: `https://github.com/${str('job_workflow_ref')}` } };
    case 'gitlab-pipeline':
      return { issuer, type, principal: sub, san: { type: 'uri', value: `https://${str('ci_config_ref_uri')}` } };
    case 'ci-provider':
    case 'uri': {
      if (!/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(sub)) deny(`the token's sub must be a URI for a ${type} issuer`);
      return { issuer, type, principal: sub, san: { type: 'uri', value: sub } };
    }
    case 'username': {
      if (!sub || /[!@\s]/.test(sub)) deny('the token needs a plain username in sub');
      return { issuer, type, principal: sub, san: { type: 'username', value: `${sub}!${new URL(issuer).host}` } };
    }
  }
}

interface IssuerState {
  config: IssuerConfig;
  keys?: JWTVerifyGetKey;
  discoveredAt?: number;
}

/**
 * Verifies OIDC ID tokens from the configured issuers: discovery and JWKS over HTTPS (jose caches the key
 * set and refetches it when a token names an unknown key, so issuer key rotation needs nothing here), then
 * issuer, audience, expiry and the claims the issuer type needs. Every refusal is a 401 with the reason.
 */
export class OidcVerifier {
  private readonly issuers = new Map<string, IssuerState>();

  constructor(
    issuers: IssuerConfig[],
    private readonly local: Map<string, { config: IssuerConfig; keys: JWTVerifyGetKey }> = new Map(),
  ) {
    for (const i of issuers) this.issuers.set(i.url, { config: i });
  }

  /** Registers an issuer whose keys are known in-process (the built-in dev issuer). */
  addLocalIssuer(config: IssuerConfig, keys: JWTVerifyGetKey): void {
    this.local.set(config.url, { config, keys });
  }

  private async keysFor(state: IssuerState): Promise<JWTVerifyGetKey> {
    if (state.keys && state.discoveredAt && Date.now() - state.discoveredAt < 3_600_000) return state.keys;
    const url = `${state.config.url.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: string; jwks_uri?: string };
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      doc = (await r.json()) as typeof doc;
    } catch (e) {
      throw new IdentityError('UNAUTHENTICATED', `the issuer ${state.config.url} cannot be reached for discovery (${(e as Error).message})`);
    }
    if (!doc.jwks_uri) deny(`the issuer ${state.config.url} publishes no jwks_uri`);
    state.keys = createRemoteJWKSet(new URL(doc.jwks_uri), { cooldownDuration: 5_000, cacheMaxAge: 600_000, timeoutDuration: 10_000 });
    state.discoveredAt = Date.now();
    return state.keys;
  }

  /** Verifies a token completely: its signature (on the thread pool), issuer, audience, times and claims. */
  async verify(token: string): Promise<OidcIdentity> {
    const checked = await this.check(token);
    if (!(await verifyJwsSignature(checked.signature))) deny('the identity token signature does not verify');
    return checked.identity;
  }

  /**
   * Everything but the signature: the issuer is trusted, its key is found and fits the algorithm, and the
   * registered claims and the claims the issuer type needs are valid. The caller must check `signature`
   * (verifyJwsSignatureSync or verifyJwsSignature) before it relies on the identity; the keyless CA does so in
   * its issuance worker, before anything is signed.
   */
  async check(token: string): Promise<{ identity: OidcIdentity; signature: JwsSignatureCheck }> {
    if (typeof token !== 'string' || token.length === 0) deny('an OIDC identity token is required');
    if (token.length > MAX_TOKEN_BYTES) deny('the identity token is too large');
    const jws = parseCompactJws(token);
    const iss = typeof jws.payload.iss === 'string' ? jws.payload.iss : '';
    const local = this.local.get(iss);
    const remote = this.issuers.get(iss);
    if (!local && !remote) deny(`unknown issuer ${JSON.stringify(iss)}: this server trusts ${[...this.issuers.keys(), ...this.local.keys()].join(', ') || 'no issuers'}`);
    const config = (local?.config ?? remote?.config) as IssuerConfig;
    const keys = local?.keys ?? (await this.keysFor(remote as IssuerState));
    let key: KeyObject;
    try {
      // jose's JWKS sets pick the key by kid/alg/kty and refetch on an unknown kid (issuer key rotation).
      key = toKeyObject(await keys(jws.header as Parameters<JWTVerifyGetKey>[0], { payload: jws.parts[1], signature: jws.parts[2], protected: jws.parts[0] }));
    } catch (e) {
      if (e instanceof joseErrors.JWKSNoMatchingKey) deny(`no key of ${config.url} matches the token's key ID`);
      if (e instanceof joseErrors.JWKSMultipleMatchingKeys) deny(`several keys of ${config.url} match the token's key ID`);
      if (e instanceof IdentityError) throw e;
      deny(`the key for the identity token cannot be found: ${(e as Error).message}`);
    }
    const signature = signatureCheck(jws, key);
    checkRegisteredClaims(jws.payload, config);
    return { identity: { ...identityFromClaims(config.type, config.url, jws.payload), claims: jws.payload }, signature };
  }
}

const CLOCK_TOLERANCE_S = 30;

/** RFC 7519 §4.1: iss, aud, exp (required here, as Fulcio requires it), nbf and iat. */
function checkRegisteredClaims(c: JWTPayload, config: IssuerConfig): void {
  const now = Math.floor(Date.now() / 1000);
  if (c.iss !== config.url) deny(`the identity token's issuer is not ${config.url}`);
  const aud = c.aud;
  const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!auds.includes(config.audience)) deny(`the identity token's audience is not "${config.audience}"`);
  if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) deny('the identity token has no valid "exp" claim');
  if (c.exp <= now - CLOCK_TOLERANCE_S) deny('the identity token has expired');
  if (c.nbf !== undefined && (typeof c.nbf !== 'number' || c.nbf > now + CLOCK_TOLERANCE_S)) deny('the identity token is not valid yet');
  if (c.iat !== undefined && typeof c.iat !== 'number') deny('the identity token\'s "iat" claim is invalid');
}
