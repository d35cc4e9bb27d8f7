import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface FakeIssuer {
  url: string;
  /** Signs an ID token; iss/aud/iat/exp default sensibly, any claim can be overridden. */
  mint(claims?: Record<string, unknown>, opts?: { expiresInSeconds?: number; audience?: string; issuer?: string }): Promise<string>;
  /** Replaces the signing key; the JWKS then holds only the new key (key rotation). */
  rotate(): Promise<void>;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
}

/** An OIDC issuer on an ephemeral loopback port: discovery, JWKS (RS256), and a way to mint tokens. */
export async function startFakeIssuer(t: Pick<TestContext, 'after'>): Promise<FakeIssuer> {
  let key: { privateKey: SigningKey; jwk: JWK } = await newKey();
  let fetches = 0;
  async function newKey(): Promise<{ privateKey: SigningKey; jwk: JWK }> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' } };
  }
  const server: Server = createServer((req, res) => {
    const send = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send({ issuer: url, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
    if (req.url === '/jwks') {
      fetches++;
      return send({ keys: [key.jwk] });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url,
    async mint(claims = {}, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid as string })
        .setIssuer(opts.issuer ?? url)
        .setAudience(opts.audience ?? 'sigstore')
        .setIssuedAt(now - 60)
        .setExpirationTime(now + (opts.expiresInSeconds ?? 600))
        .sign(key.privateKey);
    },
    async rotate() {
      key = await newKey();
    },
    jwksFetches: () => fetches,
  };
}
