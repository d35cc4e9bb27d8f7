import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { IdentityError } from './errors.js';

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

  async verify(token: string): Promise<OidcIdentity> {
    if (typeof token !== 'string' || token.length === 0) deny('an OIDC identity token is required');
    if (token.length > MAX_TOKEN_BYTES) deny('the identity token is too large');
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      deny('the identity token is not a JWT');
    }
    const iss = typeof unverified.iss === 'string' ? unverified.iss : '';
    const local = this.local.get(iss);
    const remote = this.issuers.get(iss);
    if (!local && !remote) deny(`unknown issuer ${JSON.stringify(iss)}: this server trusts ${[...this.issuers.keys(), ...this.local.keys()].join(', ') || 'no issuers'}`);
    const config = (local?.config ?? remote?.config) as IssuerConfig;
    const keys = local?.keys ?? (await this.keysFor(remote as IssuerState));
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: config.url, audience: config.audience, clockTolerance: 30, algorithms: ['RS256', 'ES256', 'ES384', 'PS256', 'EdDSA'] }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) deny('the identity token has expired');
      if (e instanceof joseErrors.JWTClaimValidationFailed) {
        if (e.claim === 'aud') deny(`the identity token's audience is not "${config.audience}"`);
        if (e.claim === 'nbf') deny('the identity token is not valid yet');
        deny(`the identity token's "${e.claim}" claim is invalid`);
      }
      if (e instanceof joseErrors.JWKSNoMatchingKey) deny(`no key of ${config.url} matches the token's key ID`);
      if (e instanceof joseErrors.JWSSignatureVerificationFailed) deny('the identity token signature does not verify');
      if (e instanceof IdentityError) throw e;
      deny(`the identity token is invalid: ${(e as Error).message}`);
    }
    return { ...identityFromClaims(config.type, config.url, payload), claims: payload };
  }
}
