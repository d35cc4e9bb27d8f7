import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError } from './errors.js';
import { httpFetch } from './client.js';

/**
 * Interactive sign-in for keyless signing: OAuth 2.0 authorization code flow (RFC 6749 §4.1) with PKCE
 * (RFC 7636, S256) and a loopback redirect (RFC 8252 §7.3), as cosign and sigstore-js do. The user opens the
 * printed URL; the issuer redirects back to 127.0.0.1 with a code, which is exchanged for the ID token.
 */
export interface InteractiveOpts {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** Called with the URL the user must open. */
  prompt: (url: string) => void;
  timeoutMs?: number;
}

interface Discovery {
  authorization_endpoint?: unknown;
  token_endpoint?: unknown;
}

async function discover(issuer: string): Promise<{ authorize: string; token: string }> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await httpFetch(url, { headers: { accept: 'application/json' } }, 'OIDC issuer');
  if (!res.ok) throw new CliError(`the OIDC issuer has no discovery document at ${url} (HTTP ${res.status})`);
  const d = (await res.json().catch(() => ({}))) as Discovery;
  if (typeof d.authorization_endpoint !== 'string' || typeof d.token_endpoint !== 'string') {
    throw new CliError(`the OIDC issuer at ${issuer} does not offer the authorization code flow (no authorization_endpoint or token_endpoint)`);
  }
  return { authorize: d.authorization_endpoint, token: d.token_endpoint };
}

function close(server: Server): void {
  server.closeAllConnections();
  server.close();
}

const PAGE = (msg: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>signet</title></head><body style="font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem"><p>${msg}</p></body></html>`;

export async function interactiveToken(o: InteractiveOpts): Promise<string> {
  const ep = await discover(o.issuer);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');

  let settle!: { resolve: (code: string) => void; reject: (e: Error) => void };
  const codePromise = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname !== '/auth/callback') {
      res.writeHead(404).end();
      return;
    }
    const err = u.searchParams.get('error');
    if (err) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE('Sign-in failed. You can close this window.'));
      settle.reject(new CliError(`the OIDC issuer refused the sign-in: ${err}${u.searchParams.get('error_description') ? ` (${u.searchParams.get('error_description')})` : ''}`));
      return;
    }
    if (u.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE('This sign-in does not belong to the waiting signet command.'));
      return;
    }
    const code = u.searchParams.get('code');
    if (!code) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE('The redirect carried no authorization code.'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE('Signed in. You can close this window and return to the terminal.'));
    settle.resolve(code);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/callback`;
  const timer = setTimeout(() => settle.reject(new CliError('no sign-in within the time allowed; run the command again')), o.timeoutMs ?? 300_000);
  try {
    const auth = new URL(ep.authorize);
    auth.searchParams.set('response_type', 'code');
    auth.searchParams.set('client_id', o.clientId);
    auth.searchParams.set('redirect_uri', redirectUri);
    auth.searchParams.set('scope', 'openid email');
    auth.searchParams.set('state', state);
    auth.searchParams.set('nonce', nonce);
    auth.searchParams.set('code_challenge', challenge);
    auth.searchParams.set('code_challenge_method', 'S256');
    o.prompt(auth.toString());
    const code = await codePromise;
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: o.clientId, code_verifier: verifier });
    if (o.clientSecret) form.set('client_secret', o.clientSecret);
    const res = await httpFetch(
      ep.token,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() },
      'OIDC token endpoint',
    );
    const body = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown; error_description?: unknown };
    if (!res.ok || typeof body.id_token !== 'string') {
      throw new CliError(`the OIDC issuer did not issue an ID token: ${String(body.error_description ?? body.error ?? `HTTP ${res.status}`)}`);
    }
    return body.id_token;
  } finally {
    clearTimeout(timer);
    close(server);
  }
}
