import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import {
  canonicalize,
  dsseBundle,
  fromBase64,
  fromHex,
  generateKeyPair,
  messageSignatureBundle,
  parsePemBlocks,
  signData,
  signEnvelope,
  spkiDer,
  toBase64,
  toPem,
  utf8,
  type BundleJson,
  type DsseEnvelope,
} from '@signet/core';
import { CliError } from './errors.js';
import { DEFAULT_SERVER, httpFetch, jsonOrUndefined } from './client.js';
import { interactiveToken } from './oidc-flow.js';
import { readText } from './io.js';

/**
 * Keyless signing as Sigstore clients do it (sigstore-wire-formats §1, §2, §4.1): an ephemeral P-256 key, a
 * 10-minute certificate from a Fulcio v2 CA for an OIDC identity, the signature logged in a Rekor v1 log,
 * an RFC 3161 timestamp over the signature, all in a v0.3 bundle. Nothing here is Signet-specific: the same
 * code signs against the public Sigstore instance or any Fulcio/Rekor/TSA trio.
 */

export interface KeylessEndpoints {
  fulcio: string;
  rekor: string;
  /** Full URL of the RFC 3161 endpoint; no timestamp when undefined. */
  tsa?: string;
}

export interface EndpointOpts {
  server?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  timestampServerUrl?: string;
  /** `--timestamp-server-url ''` or --no-timestamp disables the TSA. */
  timestamp?: boolean;
}

function httpUrl(u: string, flag: string): string {
  const s = u.replace(/\/+$/, '');
  let p: URL;
  try {
    p = new URL(s);
  } catch {
    throw new CliError(`${flag} must be an http(s) URL (got "${u}")`);
  }
  if (p.protocol !== 'http:' && p.protocol !== 'https:') throw new CliError(`${flag} must be an http(s) URL (got "${u}")`);
  return s;
}

/** --server (or SIGNET_SERVER) names all three; cosign's --fulcio-url, --rekor-url and --timestamp-server-url override each. */
export function keylessEndpoints(o: EndpointOpts): KeylessEndpoints {
  const server = httpUrl(o.server ?? process.env['SIGNET_SERVER'] ?? DEFAULT_SERVER, '--server');
  const fulcio = o.fulcioUrl ? httpUrl(o.fulcioUrl, '--fulcio-url') : server;
  const rekor = o.rekorUrl ? httpUrl(o.rekorUrl, '--rekor-url') : server;
  let tsa: string | undefined;
  if (o.timestamp !== false) {
    if (o.timestampServerUrl !== undefined) {
      const u = httpUrl(o.timestampServerUrl, '--timestamp-server-url');
      // As sigstore-js: a URL with a path is used as is; a bare origin gets the standard path.
      tsa = new URL(u).pathname === '/' || new URL(u).pathname === '' ? `${u}/api/v1/timestamp` : u;
    } else {
      tsa = `${server}/api/v1/timestamp`;
    }
  }
  return { fulcio, rekor, ...(tsa ? { tsa } : {}) };
}

// ---------------------------------------------------------------------------------------------- identity token

/** The claims of a JWT, unverified: the CA verifies the token; the client only needs to know what to prove. */
export function jwtClaims(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new CliError('the identity token is not a JWT (expected three dot-separated parts)');
  try {
    const c = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as unknown;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error();
    return c as Record<string, unknown>;
  } catch {
    throw new CliError('the identity token is not a JWT: its payload is not a JSON object');
  }
}

/**
 * What the proof of possession signs (sigstore-js util/oidc): the email when the token carries one (it must
 * be verified), else the subject.
 */
export function tokenPrincipal(token: string): string {
  const c = jwtClaims(token);
  if (typeof c['email'] === 'string' && c['email'] !== '') {
    if (c['email_verified'] === false) throw new CliError(`the identity token's email ${c['email']} is not verified by its issuer`);
    return c['email'];
  }
  if (typeof c['sub'] === 'string' && c['sub'] !== '') return c['sub'];
  throw new CliError('the identity token has neither an "email" nor a "sub" claim');
}

async function fetchJson(url: string, init: RequestInit, what: string): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const res = await httpFetch(url, init, what);
  const text = await res.text();
  return { status: res.status, json: jsonOrUndefined(text), text, headers: res.headers };
}

function refused(what: string, url: string, r: { status: number; json: unknown; text: string }): never {
  const msg = (r.json as { message?: string } | undefined)?.message ?? (r.text.slice(0, 200) || 'no message');
  throw new CliError(`the ${what} refused the request (${url}): ${msg} (HTTP ${r.status})`);
}

/**
 * GitHub Actions: a job with `permissions: id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN and
 * asks for a token with audience "sigstore".
 */
async function githubActionsToken(): Promise<string | undefined> {
  const url = process.env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const bearer = process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  if (!url || !bearer) return undefined;
  const u = new URL(url);
  u.searchParams.set('audience', 'sigstore');
  const r = await fetchJson(u.toString(), { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' } }, 'GitHub Actions token service');
  if (r.status !== 200) refused('GitHub Actions token service', u.origin, r);
  const v = (r.json as { value?: unknown } | undefined)?.value;
  if (typeof v !== 'string') throw new CliError('the GitHub Actions token service answered without a token');
  return v;
}

export interface TokenOpts {
  identityToken?: string;
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecret?: string;
}

/** The first email issuer the CA accepts (GET /api/v2/configuration), for an interactive sign-in. */
async function caEmailIssuer(fulcio: string): Promise<string | undefined> {
  try {
    const r = await fetchJson(`${fulcio}/api/v2/configuration`, { headers: { accept: 'application/json' } }, 'certificate authority');
    const issuers = (r.json as { issuers?: { issuerUrl?: string; issuerType?: string }[] } | undefined)?.issuers ?? [];
    return issuers.find((i) => i.issuerType === 'email' && i.issuerUrl)?.issuerUrl;
  } catch {
    return undefined;
  }
}

/**
 * The identity token: --identity-token (the token, or a path to a file holding it), else SIGSTORE_ID_TOKEN
 * (what GitLab CI and most providers set), else a GitHub Actions token.
 */
export async function findIdentityToken(
  o: TokenOpts,
  readFileText: (p: string) => Promise<string | undefined>,
  fulcio?: string,
): Promise<{ token: string; source: string }> {
  if (o.identityToken) {
    const t = o.identityToken.trim();
    if (t.split('.').length === 3 && !t.includes('/')) return { token: t, source: '--identity-token' };
    const fromFile = await readFileText(t);
    if (fromFile !== undefined) return { token: fromFile.trim(), source: `--identity-token file ${t}` };
    return { token: t, source: '--identity-token' };
  }
  const env = process.env['SIGSTORE_ID_TOKEN'];
  if (env) return { token: env.trim(), source: 'SIGSTORE_ID_TOKEN' };
  const gh = await githubActionsToken();
  if (gh) return { token: gh, source: 'GitHub Actions' };
  // Interactive sign-in: with --oidc-issuer, or at a terminal with the CA's email issuer.
  const issuer = o.oidcIssuer ?? (process.stderr.isTTY && fulcio ? await caEmailIssuer(fulcio) : undefined);
  if (issuer) {
    const token = await interactiveToken({
      issuer,
      clientId: o.oidcClientId ?? 'sigstore',
      ...(o.oidcClientSecret ? { clientSecret: o.oidcClientSecret } : {}),
      prompt: (url) => process.stderr.write(`Open this URL in a browser to sign in with ${issuer}:\n\n  ${url}\n\nWaiting for the sign-in to finish...\n`),
    });
    return { token, source: `interactive sign-in with ${issuer}` };
  }
  throw new CliError(
    'keyless signing needs an OIDC identity token: pass --identity-token, set SIGSTORE_ID_TOKEN, run in GitHub Actions with id-token: write, ' +
      'sign in interactively with --oidc-issuer URL, ' +
      'or sign with --key. Against a server started with --dev: SIGSTORE_ID_TOKEN=$(signet dev token --email you@example.com)',
  );
}

// ---------------------------------------------------------------------------------------------- Fulcio

export interface SigningCertificate {
  /** DER, leaf first. */
  chain: Uint8Array[];
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** POST /api/v2/signingCert with a fresh P-256 key and its proof of possession over the token's principal. */
export async function requestSigningCertificate(fulcio: string, token: string): Promise<SigningCertificate> {
  const principal = tokenPrincipal(token);
  const { privateKey, publicKey } = await generateKeyPair('ecdsa-p256');
  const pop = await new Promise<Buffer>((resolve, reject) => cryptoSign('sha256', Buffer.from(principal, 'utf8'), privateKey, (e, s) => (e ? reject(e) : resolve(s))));
  const url = `${fulcio}/api/v2/signingCert`;
  const r = await fetchJson(
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: toPem('PUBLIC KEY', spkiDer(publicKey)) }, proofOfPossession: toBase64(pop) },
      }),
    },
    'certificate authority',
  );
  if (r.status !== 200 && r.status !== 201) refused('certificate authority', url, r);
  const body = r.json as {
    signedCertificateEmbeddedSct?: { chain?: { certificates?: unknown } };
    signedCertificateDetachedSct?: { chain?: { certificates?: unknown } };
  };
  const certs = (body?.signedCertificateEmbeddedSct ?? body?.signedCertificateDetachedSct)?.chain?.certificates;
  if (!Array.isArray(certs) || certs.length === 0 || !certs.every((c) => typeof c === 'string')) {
    throw new CliError(`the certificate authority at ${url} answered without a certificate chain`);
  }
  const chain = (certs as string[]).flatMap((pem) => parsePemBlocks(pem).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der));
  if (chain.length === 0) throw new CliError(`the certificate authority at ${url} answered with no PEM certificate`);
  return { chain, privateKey, publicKey };
}

// ---------------------------------------------------------------------------------------------- TSA

/** POST {artifactHash, hashAlgorithm} to an RFC 3161 TSA; the DER TimeStampResp goes into the bundle as is. */
export async function requestTimestamp(tsa: string, signature: Uint8Array): Promise<Uint8Array> {
  const artifactHash = toBase64(new Uint8Array(createHash('sha256').update(signature).digest()));
  const res = await httpFetch(
    tsa,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ artifactHash, hashAlgorithm: 'sha256' }) },
    'timestamp authority',
  );
  const body = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) {
    const text = Buffer.from(body).toString('utf8');
    let msg = text.slice(0, 200);
    try {
      msg = (JSON.parse(text) as { message?: string }).message ?? msg;
    } catch {
      // DER rejection: the status says enough.
    }
    throw new CliError(`the timestamp authority refused the request (${tsa}): ${msg || 'no message'} (HTTP ${res.status})`);
  }
  return body;
}

// ---------------------------------------------------------------------------------------------- Rekor v1

interface RekorEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification?: {
    signedEntryTimestamp?: string;
    inclusionProof?: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
  };
}

/** The bundle form (protobuf-specs TransparencyLogEntry, JSON) of a Rekor v1 log entry. */
export function bundleTlogEntry(e: RekorEntry, kind: string, version: string): unknown {
  const p = e.verification?.inclusionProof;
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: toBase64(fromHex(e.logID)) },
    kindVersion: { kind, version },
    integratedTime: String(e.integratedTime),
    ...(e.verification?.signedEntryTimestamp ? { inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp } } : {}),
    ...(p
      ? {
          inclusionProof: {
            logIndex: String(p.logIndex),
            rootHash: toBase64(fromHex(p.rootHash)),
            treeSize: String(p.treeSize),
            hashes: p.hashes.map((h) => toBase64(fromHex(h))),
            checkpoint: { envelope: p.checkpoint },
          },
        }
      : {}),
    canonicalizedBody: e.body,
  };
}

/** POSTs a proposed entry; a duplicate (409) is fetched from its Location, as the entry is then already logged. */
export async function createLogEntry(rekor: string, proposed: unknown, kind: string, version: string): Promise<unknown> {
  const url = `${rekor}/api/v1/log/entries`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const token = process.env['SIGNET_TOKEN'];
  if (token) headers['authorization'] = `Bearer ${token}`;
  let r = await fetchJson(url, { method: 'POST', headers, body: canonicalize(proposed) }, 'transparency log');
  if (r.status === 409) {
    const loc = r.headers.get('location');
    if (!loc) refused('transparency log', url, r);
    r = await fetchJson(new URL(loc, rekor).toString(), { headers: { accept: 'application/json' } }, 'transparency log');
  }
  if (r.status !== 201 && r.status !== 200) refused('transparency log', url, r);
  const map = r.json as Record<string, RekorEntry> | undefined;
  const entry = map && typeof map === 'object' ? Object.values(map)[0] : undefined;
  if (!entry || typeof entry.body !== 'string' || !entry.verification?.inclusionProof) {
    throw new CliError(`the transparency log at ${url} answered without an entry and its inclusion proof`);
  }
  return bundleTlogEntry(entry, kind, version);
}

// ---------------------------------------------------------------------------------------------- flows

export interface KeylessResult {
  bundle: BundleJson;
  certificate: Uint8Array;
  signature: Uint8Array;
}

function pemB64(der: Uint8Array): string {
  return toBase64(utf8(toPem('CERTIFICATE', der)));
}

/**
 * The keyless sequence shared by blobs and envelopes: a certificate for the token's identity, a signature with
 * its ephemeral key, then an RFC 3161 timestamp over the signature bytes and the log entry, concurrently.
 */
async function keyless<T>(
  ep: KeylessEndpoints,
  token: string,
  opts: { tlogUpload?: boolean },
  signWith: (cert: SigningCertificate, leafPemB64: string) => Promise<{ signature: Uint8Array; entry: { kind: string; spec: unknown }; extra: T }>,
): Promise<{ leaf: Uint8Array; signature: Uint8Array; tlogEntries: unknown[]; timestamps: Uint8Array[]; extra: T }> {
  const cert = await requestSigningCertificate(ep.fulcio, token);
  const leaf = cert.chain[0]!;
  const { signature, entry, extra } = await signWith(cert, pemB64(leaf));
  // Both witnesses at once, as sigstore-js does (Promise.all over its witnesses): each needs only the signature, and
  // a sign then waits for the slower of the two rather than their sum.
  const [timestamps, tlogEntries] = await Promise.all([
    ep.tsa ? requestTimestamp(ep.tsa, signature).then((t) => [t]) : Promise.resolve([]),
    opts.tlogUpload === false ? Promise.resolve([]) : createLogEntry(ep.rekor, { apiVersion: '0.0.1', kind: entry.kind, spec: entry.spec }, entry.kind, '0.0.1').then((e) => [e]),
  ]);
  return { leaf, signature, tlogEntries, timestamps, extra };
}

/** Keyless message signature over a blob: hashedrekord 0.0.1 entry, v0.3 bundle. */
export async function signBlobKeyless(data: Uint8Array, ep: KeylessEndpoints, token: string, opts: { tlogUpload?: boolean } = {}): Promise<KeylessResult> {
  const digest = new Uint8Array(createHash('sha256').update(data).digest());
  const r = await keyless(ep, token, opts, async (cert, pem) => {
    const signature = await signData(cert.privateKey, data);
    const spec = {
      data: { hash: { algorithm: 'sha256', value: Buffer.from(digest).toString('hex') } },
      signature: { content: toBase64(signature), publicKey: { content: pem } },
    };
    return { signature, entry: { kind: 'hashedrekord', spec }, extra: undefined };
  });
  const bundle = messageSignatureBundle({
    key: { certificate: r.leaf },
    digest: { algorithm: 'sha256', value: digest },
    signature: r.signature,
    tlogEntries: r.tlogEntries,
    rfc3161Timestamps: r.timestamps,
  });
  return { bundle, certificate: r.leaf, signature: r.signature };
}

/** Keyless DSSE envelope (attestations): dsse 0.0.1 entry, v0.3 bundle. */
export async function signEnvelopeKeyless(
  payloadType: string,
  payload: Uint8Array,
  ep: KeylessEndpoints,
  token: string,
  opts: { tlogUpload?: boolean } = {},
): Promise<KeylessResult & { envelope: DsseEnvelope }> {
  const r = await keyless(ep, token, opts, async (cert, pem) => {
    const envelope = await signEnvelope(payloadType, payload, cert.privateKey);
    const signature = fromBase64(envelope.signatures[0]!.sig, 'DSSE signature');
    return { signature, entry: { kind: 'dsse', spec: { proposedContent: { envelope: JSON.stringify(envelope), verifiers: [pem] } } }, extra: envelope };
  });
  const bundle = dsseBundle({ key: { certificate: r.leaf }, envelope: r.extra, tlogEntries: r.tlogEntries, rfc3161Timestamps: r.timestamps });
  return { bundle, certificate: r.leaf, signature: r.signature, envelope: r.extra };
}

/** The identity token for keyless signing (flag, env, CI provider or interactive sign-in), saying where it came from. */
export async function identityTokenFor(o: TokenOpts, fulcio: string): Promise<string> {
  const { token, source } = await findIdentityToken(
    o,
    async (p) => {
      try {
        return await readText(p, 'identity token file');
      } catch {
        return undefined;
      }
    },
    fulcio,
  );
  process.stderr.write(`Using the identity token from ${source}\n`);
  return token;
}
