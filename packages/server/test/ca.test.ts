import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  OID,
  bytesEqual,
  ctLogId,
  decodeName,
  derBitString,
  derInteger,
  derOid,
  derSequence,
  encodeName,
  fulcioIdentity,
  generateKeyPair,
  parseCertificate,
  parsePemBlocks,
  publicKeyPem,
  spkiDer,
  tlv,
  toPem,
  verifyCertificateChain,
  verifyEmbeddedScts,
  type KeyKind,
} from '@signet/core';
import { X509Certificate as SigstoreX509 } from '@sigstore/core';
import { SharedDigestSet } from '../dist/workers/digest-set.js';
import { verifyCertificateChain as sigstoreChain } from '@sigstore/verify/dist/key/certificate.js';
import { verifySCTs } from '@sigstore/verify/dist/key/sct.js';
import { requireTool, run, startFakeIssuer, tempDir } from '@signet/testkit';
import { build, loadConfig } from '../dist/index.js';
import { CertificateAuthority } from '../dist/ca/index.js';
import { SecretStore } from '../dist/storage/secrets.js';
import { openDatabase } from '../dist/storage/db.js';
import { testServer, type TestServer } from './helpers.js';

const EMAIL = 'alice@example.test';

interface Issued {
  status: number;
  body: { code?: string; message?: string; signedCertificateEmbeddedSct?: { chain: { certificates: string[] } } };
}

async function post(s: TestServer, payload: unknown, headers: Record<string, string> = {}): Promise<Issued> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v2/signingCert', payload: payload as Record<string, unknown>, headers });
  return { status: r.statusCode, body: r.json() };
}

function hashFor(kind: KeyKind): string | null {
  return kind === 'ed25519' ? null : kind === 'ecdsa-p384' ? 'sha384' : 'sha256';
}

function pop(key: KeyObject, data: string, hash: string | null): string {
  return nodeSign(hash, Buffer.from(data), key).toString('base64');
}

function keyRequest(token: string | undefined, pub: KeyObject, proof: string, content = publicKeyPem(pub)): Record<string, unknown> {
  return {
    ...(token ? { credentials: { oidcIdentityToken: token } } : {}),
    publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content }, proofOfPossession: proof },
  };
}

const der = (pem: string): Uint8Array => parsePemBlocks(pem)[0]!.der;

async function devServer(t: Parameters<typeof testServer>[0], env: Record<string, string> = {}): Promise<{ s: TestServer; token: (email?: string, o?: { ttlSeconds?: number; audience?: string }) => Promise<string> }> {
  const s = await testServer(t, { SIGNET_DEV: 'true', ...env });
  const token = (email = EMAIL, o: { ttlSeconds?: number; audience?: string } = {}): Promise<string> => s.app.services.devIssuer!.issue({ email, ...o });
  return { s, token };
}

/** Checks the leaf against the Fulcio profile, the chain and the embedded SCT; returns the parsed chain. */
async function checkIssued(s: TestServer, certificates: string[], pub: KeyObject, issuer: string, san: { type: string; value: string }): Promise<void> {
  assert.equal(certificates.length, 3);
  const [leafDer, interDer, rootDer] = certificates.map(der) as [Uint8Array, Uint8Array, Uint8Array];
  const chain = verifyCertificateChain(leafDer, [interDer, rootDer], new Date());
  assert.ok(chain.ok, JSON.stringify(chain.checks.filter((c) => !c.ok)));
  assert.equal(chain.chain.length, 3);
  // The CA remembers the leaf for the log's verifiers (issued on a worker or on this thread alike).
  assert.ok(SharedDigestSet.from(s.app.services.ca.trustedIssuer().issued).has(createHash('sha256').update(leafDer).digest()), 'the leaf is in the issued set');

  const leaf = parseCertificate(leafDer);
  const inter = parseCertificate(interDer);
  assert.equal(leaf.version, 3);
  assert.ok(bytesEqual(leaf.spki, spkiDer(pub)), 'the leaf certifies the submitted key');
  assert.equal(leaf.validity.notAfter.getTime() - leaf.validity.notBefore.getTime(), 10 * 60 * 1000);
  assert.ok(Math.abs(leaf.validity.notBefore.getTime() - Date.now()) < 5_000);
  assert.deepEqual(decodeName(leaf.subject), [], 'empty subject');
  assert.ok(leaf.serialNumber > 0n && leaf.serialNumber < 1n << 160n);
  assert.deepEqual(leaf.keyUsage, ['digitalSignature']);
  assert.equal(leaf.extensions.find((e) => e.oid === OID.keyUsage)?.critical, true);
  assert.deepEqual(leaf.extKeyUsage, [OID.codeSigning]);
  assert.equal(leaf.basicConstraints?.ca ?? false, false);
  assert.ok(leaf.subjectKeyId && leaf.subjectKeyId.length === 20);
  assert.ok(leaf.authorityKeyId && inter.subjectKeyId && bytesEqual(leaf.authorityKeyId, inter.subjectKeyId), 'AKI = intermediate SKI');
  const sans = leaf.extensions.filter((e) => e.oid === OID.subjectAltName);
  assert.equal(sans.length, 1);
  assert.equal(sans[0]!.critical, true);
  assert.equal(leaf.subjectAltNames?.length, 1);
  const id = fulcioIdentity(leafDer);
  assert.deepEqual({ type: id.san.type, value: id.san.value }, san);
  assert.equal(id.issuer, issuer);
  assert.equal(id.extensions[OID.fulcioIssuer], issuer, '.1 (raw)');
  assert.equal(id.extensions[OID.fulcioIssuerV2], issuer, '.8 (UTF8String)');
  assert.ok(!leaf.extensions.some((e) => e.oid === OID.ctPoison), 'no poison in the final certificate');

  const { ctlogPublicKey } = s.app.services.ca.trustMaterial();
  const scts = await verifyEmbeddedScts(leafDer, interDer, [{ logId: ctLogId(ctlogPublicKey), publicKey: ctlogPublicKey }]);
  assert.equal(scts.length, 1);
  assert.ok(scts[0]!.ok, JSON.stringify(scts[0]!.checks));
  assert.ok(Math.abs(scts[0]!.timestamp!.getTime() - Date.now()) < 5_000);

  // sigstore-js (@sigstore/core's strict DER parser, @sigstore/verify's chain and SCT checks) accepts it too.
  const [sl, si, sr] = certificates.map((p) => SigstoreX509.parse(p)) as [SigstoreX509, SigstoreX509, SigstoreX509];
  const path = sigstoreChain(new Date(), sl, [{ certChain: [si, sr], validFor: { start: new Date(0), end: new Date(8.64e15) } }]);
  assert.equal(path.length, 3);
  const logId = Buffer.from(ctLogId(ctlogPublicKey));
  assert.deepEqual(verifySCTs(sl, si, [{ logID: logId, baseURL: s.config.baseUrl, publicKey: ctlogPublicKey, validFor: { start: new Date(0), end: new Date(8.64e15) } }]), [logId]);

  const [xl, xi, xr] = certificates.map((p) => new X509Certificate(p)) as [X509Certificate, X509Certificate, X509Certificate];
  assert.ok(xl.verify(xi.publicKey));
  assert.ok(xi.verify(xr.publicKey));
  assert.ok(xr.verify(xr.publicKey));
  assert.equal(xi.ca, true);
  assert.equal(xr.ca, true);
}

test('keyless CA: P-256, P-384, Ed25519 and RSA-2048 keys get Fulcio-profile leaves with a verifying chain and embedded SCT', async (t) => {
  const { s, token } = await devServer(t);
  const issuer = `${s.config.baseUrl}/dev/oidc`;
  for (const kind of ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048'] as const) {
    const k = await generateKeyPair(kind);
    const r = await post(s, keyRequest(await token(), k.publicKey, pop(k.privateKey, EMAIL, hashFor(kind))));
    assert.equal(r.status, 200, `${kind}: ${JSON.stringify(r.body)}`);
    await checkIssued(s, r.body.signedCertificateEmbeddedSct!.chain.certificates, k.publicKey, issuer, { type: 'email', value: EMAIL });
  }

  // The token as Authorization: Bearer (not a Signet API token: the API-token hook must let it through), the key
  // as base64 DER, and a P-384 proof of possession made with SHA-256 (as Fulcio checks every ECDSA proof).
  const k = await generateKeyPair('ecdsa-p384');
  const r = await post(s, keyRequest(undefined, k.publicKey, pop(k.privateKey, EMAIL, 'sha256'), Buffer.from(spkiDer(k.publicKey)).toString('base64')), {
    authorization: `Bearer ${await token()}`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await checkIssued(s, r.body.signedCertificateEmbeddedSct!.chain.certificates, k.publicKey, issuer, { type: 'email', value: EMAIL });

  // The same profile from CertificateAuthority.issue on the calling thread (the API the other domains use).
  const direct = await generateKeyPair('ecdsa-p256');
  const leaf = await s.app.services.ca.issue(await s.app.services.oidc.verify(await token()), direct.publicKey);
  await checkIssued(s, [toPem('CERTIFICATE', leaf), ...s.app.services.ca.chain()], direct.publicKey, issuer, { type: 'email', value: EMAIL });

  // Every leaf has its own serial.
  const serials = new Set<bigint>();
  for (let i = 0; i < 5; i++) {
    const e = await generateKeyPair('ecdsa-p256');
    const x = await post(s, keyRequest(await token(), e.publicKey, pop(e.privateKey, EMAIL, 'sha256')));
    serials.add(parseCertificate(der(x.body.signedCertificateEmbeddedSct!.chain.certificates[0]!)).serialNumber);
  }
  assert.equal(serials.size, 5);
});

/** A PKCS#10 request built by hand (RFC 2986), optionally with a corrupted signature. */
function buildCsr(key: { privateKey: KeyObject; publicKey: KeyObject }, alg: 'ecdsa-sha256' | 'ed25519', corrupt = false): string {
  const info = derSequence(derInteger(0), encodeName([['CN', 'ignored']]), spkiDer(key.publicKey), tlv(0xa0, new Uint8Array(0)));
  const sig = nodeSign(alg === 'ed25519' ? null : 'sha256', info, key.privateKey);
  if (corrupt) sig[sig.length - 1]! ^= 0x01;
  const csr = derSequence(info, derSequence(derOid(alg === 'ed25519' ? OID.ed25519 : OID.ecdsaWithSha256)), derBitString(sig));
  const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(csr).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
  return Buffer.from(pem).toString('base64');
}

test('keyless CA: a PKCS#10 CSR (its self-signature is the proof of possession)', async (t) => {
  const { s, token } = await devServer(t);
  const issuer = `${s.config.baseUrl}/dev/oidc`;
  for (const [kind, alg] of [
    ['ecdsa-p256', 'ecdsa-sha256'],
    ['ed25519', 'ed25519'],
  ] as const) {
    const k = await generateKeyPair(kind);
    const r = await post(s, { credentials: { oidcIdentityToken: await token() }, certificateSigningRequest: buildCsr(k, alg) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await checkIssued(s, r.body.signedCertificateEmbeddedSct!.chain.certificates, k.publicKey, issuer, { type: 'email', value: EMAIL });
  }
  const k = await generateKeyPair('ecdsa-p256');
  const bad = await post(s, { credentials: { oidcIdentityToken: await token() }, certificateSigningRequest: buildCsr(k, 'ecdsa-sha256', true) });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'PROOF_OF_POSSESSION_FAILED');
  assert.match(bad.body.message!, /CSR signature does not verify/);
  const junk = await post(s, { credentials: { oidcIdentityToken: await token() }, certificateSigningRequest: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n').toString('base64') });
  assert.equal(junk.status, 400);
  assert.match(junk.body.message!, /certificate signing request is malformed/);
});

test('keyless CA: openssl reads the leaf, verifies the chain, and its CSRs are accepted', async (t) => {
  const openssl = requireTool(t, 'openssl');
  if (!openssl) return;
  const { s, token } = await devServer(t);
  const dir = tempDir(t, 'signet-ca-');
  // A CSR made by openssl (RSA 3072, sha256WithRSAEncryption).
  const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 });
  writeFileSync(join(dir, 'key.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const req = await run(openssl, ['req', '-new', '-key', join(dir, 'key.pem'), '-subj', '/CN=ignored', '-sha256', '-out', join(dir, 'csr.pem')]);
  assert.equal(req.code, 0, req.stderr);
  const { readFileSync } = await import('node:fs');
  const csr = Buffer.from(readFileSync(join(dir, 'csr.pem'))).toString('base64');
  const r = await post(s, { credentials: { oidcIdentityToken: await token() }, certificateSigningRequest: csr });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [leaf, inter, root] = r.body.signedCertificateEmbeddedSct!.chain.certificates as [string, string, string];
  await checkIssued(s, [leaf, inter, root], rsa.publicKey, `${s.config.baseUrl}/dev/oidc`, { type: 'email', value: EMAIL });
  writeFileSync(join(dir, 'leaf.pem'), leaf);
  writeFileSync(join(dir, 'inter.pem'), inter);
  writeFileSync(join(dir, 'root.pem'), root);
  const text = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, 'leaf.pem')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Code Signing/);
  assert.match(text.stdout, /X509v3 Subject Alternative Name: critical\s+email:alice@example\.test/);
  assert.match(text.stdout, /CT Precertificate SCTs/);
  assert.match(text.stdout, /X509v3 Key Usage: critical\s+Digital Signature/);
  // OpenSSL 3.0 has no code-signing purpose (its purposes: sslclient … timestampsign), so the chain is checked with
  // the default purpose.
  const v = await run(openssl, ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'inter.pem'), join(dir, 'leaf.pem')]);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  assert.match(v.stdout, /leaf\.pem: OK/);
  for (const f of ['inter.pem', 'root.pem']) {
    const x = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, f)]);
    assert.equal(x.code, 0, x.stderr);
    assert.match(x.stdout, /CA:TRUE/);
    assert.match(x.stdout, /Certificate Sign, CRL Sign/);
  }
  const i = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, 'inter.pem')]);
  assert.match(i.stdout, /pathlen:0/);
  assert.match(i.stdout, /ASN1 OID: prime256v1/);
  const rt = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, 'root.pem')]);
  assert.match(rt.stdout, /ASN1 OID: secp384r1/);
  assert.doesNotMatch(rt.stdout, /Extended Key Usage/);
});

test('keyless CA: refusals name the problem and are never 5xx', async (t) => {
  const { s, token } = await devServer(t);
  const fake = await startFakeIssuer(t);
  const k = await generateKeyPair('ecdsa-p256');
  const good = pop(k.privateKey, EMAIL, 'sha256');
  // The token's signature is checked in the issuance worker, after the claims: a valid token with a changed
  // signature or changed claims must still be refused, and nothing issued, on the key and the CSR paths.
  const [h, p, sig] = (await token()).split('.') as [string, string, string];
  const flipped = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, email: 'mallory@example.test' })).toString('base64url')}.${sig}`;
  const cases: Array<[string, unknown, number, RegExp, Record<string, string>?]> = [
    ['token signature changed', keyRequest(flipped, k.publicKey, good), 401, /identity token signature does not verify/],
    ['token claims changed', keyRequest(forged, k.publicKey, pop(k.privateKey, 'mallory@example.test', 'sha256')), 401, /identity token signature does not verify/],
    ['token signature changed, CSR', { credentials: { oidcIdentityToken: flipped }, certificateSigningRequest: buildCsr(k, 'ecdsa-sha256') }, 401, /identity token signature does not verify/],
    ['expired token', keyRequest(await token(EMAIL, { ttlSeconds: -120 }), k.publicKey, good), 401, /identity token has expired/],
    ['wrong audience', keyRequest(await token(EMAIL, { audience: 'other' }), k.publicKey, good), 401, /audience is not "sigstore"/],
    ['unknown issuer', keyRequest(await fake.mint({ sub: 'x', email: EMAIL, email_verified: true }), k.publicKey, good), 401, /unknown issuer/],
    ['not a JWT', keyRequest('abc.def', k.publicKey, good), 401, /not a JWT/],
    ['missing credentials', keyRequest(undefined, k.publicKey, good), 401, /OIDC identity token is required/],
    ['PoP over another string', keyRequest(await token(), k.publicKey, pop(k.privateKey, 'bob@example.test', 'sha256')), 400, /proof of possession does not verify.*alice@example\.test/],
    ['PoP by another key', keyRequest(await token(), (await generateKeyPair('ecdsa-p256')).publicKey, good), 400, /proof of possession does not verify/],
    ['PoP not base64', keyRequest(await token(), k.publicKey, '***'), 400, /proof of possession .* not valid base64/],
    ['RSA-1024', keyRequest(await token(), generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, good), 400, /RSA key of 1024 bits is not allowed/],
    ['secp256k1', keyRequest(await token(), generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey, good), 400, /curve secp256k1 are not allowed/],
    ['garbage PEM', keyRequest(await token(), k.publicKey, good, '-----BEGIN PUBLIC KEY-----\nAAAAAAAA\n-----END PUBLIC KEY-----\n'), 400, /not a valid SubjectPublicKeyInfo/],
    ['garbage text', keyRequest(await token(), k.publicKey, good, 'not a key at all!'), 400, /neither PEM nor base64/],
    ['a certificate instead of a key', keyRequest(await token(), k.publicKey, good, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 400, /"PUBLIC KEY" \(SubjectPublicKeyInfo\) is expected/],
    ['no key', { credentials: { oidcIdentityToken: await token() } }, 400, /needs publicKeyRequest .* or certificateSigningRequest/],
    ['both key forms', { ...keyRequest(await token(), k.publicKey, good), certificateSigningRequest: 'AAAA' }, 400, /either publicKeyRequest or certificateSigningRequest, not both/],
    ['unknown field', { ...keyRequest(await token(), k.publicKey, good), extra: 1 }, 400, /must NOT have additional properties/],
    ['CSR not base64', { credentials: { oidcIdentityToken: await token() }, certificateSigningRequest: '%%%' }, 400, /certificate signing request is malformed/],
  ];
  for (const [name, body, status, re, headers] of cases) {
    const r = await post(s, body, headers);
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.message ?? '', re, name);
  }
  const notJson = await s.app.inject({ method: 'POST', url: '/api/v2/signingCert', payload: '{"credentials":', headers: { 'content-type': 'application/json' } });
  assert.equal(notJson.statusCode, 400);
  // A Bearer header that is not a JWT is read as the OIDC token (and refused as one), not as a Signet API token.
  const apiTok = await post(s, keyRequest(undefined, k.publicKey, good), { authorization: `Bearer ${s.adminToken}` });
  assert.equal(apiTok.status, 401);
  assert.match(apiTok.body.message!, /not a JWT/);
  // Other routes still take Signet API tokens from the same header.
  const list = await s.app.inject({ url: '/api/v1/tokens', headers: { authorization: `Bearer ${s.adminToken}` } });
  assert.equal(list.statusCode, 200);
});

test('keyless CA: GitHub workflow tokens give a URI SAN and the workflow extensions; configuration lists the issuers', async (t) => {
  const gh = await startFakeIssuer(t);
  const dir = tempDir(t, 'signet-ca-cfg-');
  const cfg = join(dir, 'signet.yaml');
  writeFileSync(cfg, `oidc_issuers:\n  - url: ${gh.url}\n    type: github-workflow\n`);
  const { s } = await devServer(t, { SIGNET_CONFIG: cfg });
  const claims = {
    sub: 'repo:octo/app:ref:refs/heads/main',
    event_name: 'push',
    sha: 'a'.repeat(40),
    workflow: 'release',
    repository: 'octo/app',
    ref: 'refs/heads/main',
    job_workflow_ref: 'octo/app/.github/workflows/release.yml@refs/heads/main',
    job_workflow_sha: 'b'.repeat(40),
    runner_environment: 'github-hosted',
    repository_id: '42',
    repository_owner: 'octo',
    repository_owner_id: '7',
    workflow_ref: 'octo/app/.github/workflows/release.yml@refs/heads/main',
    workflow_sha: 'c'.repeat(40),
    run_id: '1001',
    run_attempt: '2',
    repository_visibility: 'public',
  };
  const k = await generateKeyPair('ecdsa-p256');
  const r = await post(s, keyRequest(await gh.mint(claims), k.publicKey, pop(k.privateKey, claims.sub, 'sha256')));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const san = `https://github.com/${claims.job_workflow_ref}`;
  await checkIssued(s, r.body.signedCertificateEmbeddedSct!.chain.certificates, k.publicKey, gh.url, { type: 'uri', value: san });
  const id = fulcioIdentity(der(r.body.signedCertificateEmbeddedSct!.chain.certificates[0]!));
  assert.equal(id.extensions[`${OID.fulcio}.9`], san);
  assert.equal(id.extensions[`${OID.fulcio}.12`], 'https://github.com/octo/app');
  assert.equal(id.extensions[`${OID.fulcio}.21`], 'https://github.com/octo/app/actions/runs/1001/attempts/2');
  assert.equal(id.extensions[`${OID.fulcio}.24`], claims.sub);
  // The PoP for a workflow identity signs sub, not an email.
  const wrong = await post(s, keyRequest(await gh.mint(claims), k.publicKey, pop(k.privateKey, 'octo', 'sha256')));
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.message!, /"sub" claim/);
  // A workflow token missing a claim Fulcio records is refused with the claim named.
  const { runner_environment: _omit, ...partial } = claims;
  const missing = await post(s, keyRequest(await gh.mint(partial), k.publicKey, pop(k.privateKey, claims.sub, 'sha256')));
  assert.equal(missing.status, 401);
  assert.match(missing.body.message!, /runner_environment/);

  const conf = (await s.app.inject({ url: '/api/v2/configuration' })).json() as { issuers: Array<Record<string, string>> };
  assert.deepEqual(conf.issuers, [
    { issuerUrl: gh.url, audience: 'sigstore', challengeClaim: 'sub', issuerType: 'github-workflow' },
    { issuerUrl: `${s.config.baseUrl}/dev/oidc`, audience: 'sigstore', challengeClaim: 'email', issuerType: 'email' },
  ]);
  const bundle = (await s.app.inject({ url: '/api/v2/trustBundle' })).json() as { chains: Array<{ certificates: string[] }> };
  assert.equal(bundle.chains.length, 1);
  assert.deepEqual(bundle.chains[0]!.certificates, r.body.signedCertificateEmbeddedSct!.chain.certificates.slice(1));
  const paths = Object.keys(((await s.app.inject({ url: '/openapi.json' })).json() as { paths: object }).paths);
  for (const p of ['/api/v2/signingCert', '/api/v2/trustBundle', '/api/v2/configuration']) assert.ok(paths.includes(p), p);
});

test('keyless CA: a restart reuses the same chain and CT key; servers racing on a fresh database end with one chain', async (t) => {
  const dir = tempDir(t, 'signet-ca-restart-');
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0' }, { SIGNET_LOG_LEVEL: 'silent' });
  const a = await build(config);
  const first = a.services.ca.trustMaterial();
  const firstBundle = (await a.inject({ url: '/api/v2/trustBundle' })).json();
  await a.close();
  const b = await build(config);
  t.after(() => b.close());
  const second = b.services.ca.trustMaterial();
  assert.deepEqual((await b.inject({ url: '/api/v2/trustBundle' })).json(), firstBundle);
  assert.ok(bytesEqual(first.caChain[0]!, second.caChain[0]!) && bytesEqual(first.caChain[1]!, second.caChain[1]!));
  assert.ok(bytesEqual(spkiDer(first.ctlogPublicKey), spkiDer(second.ctlogPublicKey)));
  assert.equal(first.caValidFrom.getTime(), second.caValidFrom.getTime());
  assert.ok(first.ctlogValidFrom <= first.caValidFrom);
  // The root: P-384, self-signed, 10 years.
  const root = parseCertificate(first.caChain[1]!);
  const days = (root.validity.notAfter.getTime() - root.validity.notBefore.getTime()) / 86_400_000;
  assert.ok(days >= 3650 && days <= 3653, String(days));
  assert.equal(createPublicKey({ key: Buffer.from(root.spki), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve, 'secp384r1');
  assert.deepEqual(decodeName(root.subject), [
    ['O', 'signet'],
    ['CN', '127.0.0.1 root'],
  ]);

  // Two CAs opening at once on one fresh database.
  const raceDir = tempDir(t, 'signet-ca-race-');
  const db = await openDatabase(`sqlite:${join(raceDir, 'race.db')}`);
  t.after(() => db.close());
  const key = SecretStore.loadMasterKey(raceDir);
  const [x, y, z] = await Promise.all([0, 1, 2].map(() => CertificateAuthority.open(new SecretStore(db.db, key), { baseUrl: 'https://sig.example' })));
  const [mx, my, mz] = [x!, y!, z!].map((c) => c.trustMaterial());
  for (const m of [my!, mz!]) {
    assert.ok(bytesEqual(m.caChain[0]!, mx!.caChain[0]!) && bytesEqual(m.caChain[1]!, mx!.caChain[1]!), 'one chain');
    assert.ok(bytesEqual(spkiDer(m.ctlogPublicKey), spkiDer(mx!.ctlogPublicKey)), 'one CT key');
  }
  assert.ok(new X509Certificate(Buffer.from(mx!.caChain[0]!)).verify(new X509Certificate(Buffer.from(mx!.caChain[1]!)).publicKey));
});
