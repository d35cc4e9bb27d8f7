// Keyless end to end against a real signet-server process started with --dev, with no Signet code on the
// client side where the client is sigstore-js: sigstore `sign`/`attest` and `@sigstore/cli attest` sign against
// the server's Fulcio, Rekor and TSA APIs; @sigstore/verify (default thresholds: 1 tlog entry, 1 SCT, 1
// timestamp) verifies with the server's trusted root; `sigstore.verify` takes that root over TUF. And the other
// way: `signet sign-blob` / `attest-blob` keyless bundles verify in @sigstore/verify and in `signet verify-blob`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { sign as sjSign, attest as sjAttest, verify as sjVerify } from 'sigstore';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { run, startSignetServer, tempDir, type RunningServer } from '@signet/testkit';
import { BIN, isCleanError, signet } from './helpers.js';

const SIGSTORE_CLI = join(createRequire(import.meta.url).resolve('@sigstore/cli/package.json'), '..', 'bin', 'run');

async function devToken(s: RunningServer, email: string): Promise<string> {
  const r = await fetch(`${s.url}/dev/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  assert.equal(r.status, 200);
  return ((await r.json()) as { id_token: string }).id_token;
}

async function trustedRoot(s: RunningServer): Promise<unknown> {
  return (await fetch(`${s.url}/api/v1/trusted_root.json`)).json();
}

/** @sigstore/verify at its default thresholds, with the server's trusted root only. */
async function sigstoreJsVerifies(s: RunningServer, bundle: unknown, email: string, data?: Buffer): Promise<void> {
  const v = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(await trustedRoot(s))));
  const signer = v.verify(toSignedEntity(bundleFromJSON(bundle), data), { subjectAlternativeName: email, extensions: { issuer: `${s.url}/dev/oidc` } });
  assert.equal(signer.identity?.subjectAlternativeName, email);
}

test('keyless: signet and sigstore-js interoperate through a Signet server in both directions', async (t) => {
  const s = await startSignetServer(t, { args: ['--dev'] });
  const dir = tempDir(t);
  const env = { SIGNET_SERVER: s.url };
  const issuer = `${s.url}/dev/oidc`;
  const file = join(dir, 'app.tar.gz');
  const data = Buffer.from('release artifact\n');
  writeFileSync(file, data);

  await t.test('signet sign-blob keyless → @sigstore/verify and signet verify-blob (online and offline)', async () => {
    const token = (await signet(['dev', 'token', '--email', 'dev@example.test'], { env })).stdout.trim();
    const out = join(dir, 'app.sigstore.json');
    const r = await signet(['sign-blob', '--bundle', out, file], { env: { ...env, SIGSTORE_ID_TOKEN: token } });
    assert.equal(r.code, 0, r.stderr);
    const bundle = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(bundle.verificationMaterial.tlogEntries.length, 1);
    assert.equal(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    await sigstoreJsVerifies(s, bundle, 'dev@example.test', data);

    const ok = await signet(['verify-blob', '--bundle', out, '--certificate-identity', 'dev@example.test', '--certificate-oidc-issuer', issuer, file], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Verified OK: Sigstore bundle by dev@example\.test \(issuer http:\/\/127\.0\.0\.1:\d+\/dev\/oidc\)/);

    // Offline: the trusted root from `signet trusted-root fetch`, and a server address that answers nothing.
    const rootFile = join(dir, 'trusted_root.json');
    assert.equal((await signet(['trusted-root', 'fetch', '--output', rootFile], { env })).code, 0);
    const offline = { SIGNET_SERVER: 'http://127.0.0.1:9' };
    const off = await signet(['verify-blob', '--trusted-root', rootFile, '--bundle', out, '--certificate-identity-regexp', '^dev@example\\.test$', '--certificate-oidc-issuer', issuer, file], { env: offline });
    assert.equal(off.code, 0, off.stderr);

    for (const [args, re] of [
      [['--certificate-identity', 'other@example.test', '--certificate-oidc-issuer', issuer], /identity/],
      [['--certificate-identity', 'dev@example.test', '--certificate-oidc-issuer', 'https://accounts.example.test'], /issuer/],
      [['--certificate-identity-regexp', 'dev@example', '--certificate-oidc-issuer', issuer], /identity/],
    ] as const) {
      const bad = await signet(['verify-blob', '--trusted-root', rootFile, '--bundle', out, ...args, file], { env: offline });
      assert.equal(bad.code, 1, `${args.join(' ')} must fail`);
      assert.ok(isCleanError(bad));
      assert.match(bad.stderr, re);
    }
    const none = await signet(['verify-blob', '--trusted-root', rootFile, '--bundle', out, file], { env: offline });
    assert.ok(isCleanError(none));
    assert.match(none.stderr, /keyless verification needs an identity constraint/);
    const other = join(dir, 'other.txt');
    writeFileSync(other, 'something else\n');
    const tampered = await signet(['verify-blob', '--trusted-root', rootFile, '--bundle', out, '--certificate-identity', 'dev@example.test', '--certificate-oidc-issuer', issuer, other], { env: offline });
    assert.equal(tampered.code, 1);
  });

  await t.test('signet attest-blob keyless → @sigstore/verify and signet verify-blob-attestation', async () => {
    const token = await devToken(s, 'attester@example.test');
    const predicate = join(dir, 'predicate.json');
    writeFileSync(predicate, JSON.stringify({ builder: { id: 'https://ci.example.test' } }));
    const out = join(dir, 'att.sigstore.json');
    const r = await signet(['attest-blob', '--predicate', predicate, '--type', 'slsaprovenance1', '--bundle', out, '--identity-token', token, file], { env });
    assert.equal(r.code, 0, r.stderr);
    const bundle = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion.kind, 'dsse');
    await sigstoreJsVerifies(s, bundle, 'attester@example.test');
    const v = await signet(
      ['verify-blob-attestation', '--bundle', out, '--type', 'slsaprovenance1', '--certificate-identity', 'attester@example.test', '--certificate-oidc-issuer', issuer, file],
      { env },
    );
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /predicate type https:\/\/slsa\.dev\/provenance\/v1/);
  });

  await t.test('sigstore-js sign and attest against the server → @sigstore/verify, sigstore.verify over TUF, signet verify-blob', async () => {
    const token = await devToken(s, 'js@example.test');
    const opts = { fulcioURL: s.url, rekorURL: s.url, tsaServerURL: s.url, identityToken: token };
    const bundle = await sjSign(data, opts);
    assert.equal(bundle.verificationMaterial.tlogEntries.length, 1);
    await sigstoreJsVerifies(s, bundle, 'js@example.test', data);
    const statement = JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'app.tar.gz', digest: { sha256: createHash('sha256').update(data).digest('hex') } }],
      predicateType: 'https://example.test/predicate',
      predicate: {},
    });
    const att = await sjAttest(Buffer.from(statement), 'application/vnd.in-toto+json', opts);
    await sigstoreJsVerifies(s, att, 'js@example.test');

    // The facade takes trust only over TUF: the server's repository, starting from its 1.root.json.
    const tufRoot = join(dir, 'tuf-root.json');
    writeFileSync(tufRoot, Buffer.from(await (await fetch(`${s.url}/tuf/1.root.json`)).arrayBuffer()));
    await sjVerify(bundle, data, {
      tufMirrorURL: `${s.url}/tuf`,
      tufRootPath: tufRoot,
      tufCachePath: tempDir(t),
      certificateIdentityEmail: 'js@example.test',
      certificateIssuer: issuer,
    });
    await assert.rejects(
      sjVerify(bundle, Buffer.from('tampered'), { tufMirrorURL: `${s.url}/tuf`, tufRootPath: tufRoot, tufCachePath: tempDir(t), certificateIdentityEmail: 'js@example.test', certificateIssuer: issuer }),
    );

    const bFile = join(dir, 'js.sigstore.json');
    writeFileSync(bFile, JSON.stringify(bundle));
    const v = await signet(['verify-blob', '--bundle', bFile, '--certificate-identity', 'js@example.test', '--certificate-oidc-issuer', issuer, file], { env });
    assert.equal(v.code, 0, v.stderr);
    const aFile = join(dir, 'js-att.sigstore.json');
    writeFileSync(aFile, JSON.stringify(att));
    const va = await signet(['verify-blob-attestation', '--bundle', aFile, '--certificate-identity', 'js@example.test', '--certificate-oidc-issuer', issuer, file], { env });
    assert.equal(va.code, 0, va.stderr);
  });

  await t.test('@sigstore/cli attest (CI=true, SIGSTORE_ID_TOKEN) → signet verify-blob-attestation and `sigstore verify` over TUF', async () => {
    const token = await devToken(s, 'ci@example.test');
    const st = join(dir, 'statement.json');
    writeFileSync(
      st,
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'app.tar.gz', digest: { sha256: createHash('sha256').update(data).digest('hex') } }],
        predicateType: 'https://example.test/ci',
        predicate: { run: 1 },
      }),
    );
    const out = join(dir, 'cli.sigstore.json');
    const r = await run(process.execPath, [SIGSTORE_CLI, 'attest', st, '--fulcio-url', s.url, '--rekor-url', s.url, '--tsa-server-url', s.url, '-o', out], {
      env: { CI: 'true', SIGSTORE_ID_TOKEN: token },
    });
    assert.equal(r.code, 0, r.stderr);
    const bundle = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion.kind, 'intoto');
    await sigstoreJsVerifies(s, bundle, 'ci@example.test');
    const v = await signet(['verify-blob-attestation', '--bundle', out, '--certificate-identity', 'ci@example.test', '--certificate-oidc-issuer', issuer, file], { env });
    assert.equal(v.code, 0, v.stderr);
    const tufRoot = join(dir, 'tuf-root-cli.json');
    writeFileSync(tufRoot, Buffer.from(await (await fetch(`${s.url}/tuf/1.root.json`)).arrayBuffer()));
    const sv = await run(
      process.execPath,
      [SIGSTORE_CLI, 'verify', out, '--tuf-mirror-url', `${s.url}/tuf`, '--tuf-root-path', tufRoot, '--tuf-cache-path', tempDir(t), '--certificate-identity-email', 'ci@example.test', '--certificate-issuer', issuer],
      { env: { CI: 'true' } },
    );
    assert.equal(sv.code, 0, `${sv.stdout}\n${sv.stderr}`);
  });

  await t.test('entries signed with bare keys still need an API token; keyless ones from this CA do not', async () => {
    const { generateKeyPairSync, sign } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = Buffer.from('bare key artifact');
    const entry = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(d).digest('hex') } },
        signature: { content: sign('sha256', d, privateKey).toString('base64'), publicKey: { content: Buffer.from(publicKey.export({ type: 'spki', format: 'pem' })).toString('base64') } },
      },
    };
    const r = await fetch(`${s.url}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(entry) });
    assert.equal(r.status, 401);
  });

  await t.test('interactive sign-in: sign-blob --oidc-issuer prints a URL; signing in there finishes the signature', async () => {
    const out = join(dir, 'interactive.sigstore.json');
    const child = spawn(process.execPath, [BIN, 'sign-blob', '--oidc-issuer', issuer, '--bundle', out, file], { env: { ...process.env, ...env, SIGSTORE_ID_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /(http:\/\/\S+\/dev\/oidc\/authorize\?\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (c) => reject(new Error(`signet exited ${c}: ${stderr}`)));
    });
    // The browser's part: load the form, submit an email, follow the redirect to the CLI's loopback listener.
    const form = await fetch(url);
    assert.equal(form.status, 200);
    const q = new URL(url).searchParams;
    const fields = new URLSearchParams({ email: 'browser@example.test' });
    for (const k of ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'nonce']) if (q.get(k)) fields.set(k, q.get(k)!);
    const post = await fetch(`${issuer}/authorize`, { method: 'POST', body: fields, redirect: 'manual' });
    assert.equal(post.status, 302);
    const back = await fetch(post.headers.get('location')!);
    assert.equal(back.status, 200);
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', resolve)));
    assert.equal(code, 0, stderr);
    await sigstoreJsVerifies(s, JSON.parse(readFileSync(out, 'utf8')), 'browser@example.test', data);
  });

  await t.test('conformance sign-bundle with the server\'s signing_config (and --in-toto) → conformance verify-bundle', async () => {
    const cfg = join(dir, 'signing_config.json');
    writeFileSync(cfg, Buffer.from(await (await fetch(`${s.url}/api/v1/signing_config.v0.2.json`)).arrayBuffer()));
    const root = join(dir, 'conf_root.json');
    writeFileSync(root, Buffer.from(await (await fetch(`${s.url}/api/v1/trusted_root.json`)).arrayBuffer()));
    const token = await devToken(s, 'conf@example.test');
    const out = join(dir, 'conf.sigstore.json');
    const noServer = { SIGNET_SERVER: 'http://127.0.0.1:9' };
    const sgn = await signet(['conformance', 'sign-bundle', '--identity-token', token, '--bundle', out, '--signing-config', cfg, file], { env: noServer });
    assert.equal(sgn.code, 0, sgn.stderr);
    const vfy = await signet(['conformance', 'verify-bundle', '--bundle', out, '--certificate-identity', 'conf@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', root, file], { env: noServer });
    assert.equal(vfy.code, 0, vfy.stderr);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const byDigest = await signet(['conformance', 'verify-bundle', '--bundle', out, '--certificate-identity', 'conf@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', root, digest], { env: noServer });
    assert.equal(byDigest.code, 0, byDigest.stderr);
    const st = join(dir, 'conf-statement.json');
    writeFileSync(st, JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'app.tar.gz', digest: { sha256: digest.slice(7) } }], predicateType: 'https://example.test/c', predicate: {} }));
    const att = join(dir, 'conf-att.sigstore.json');
    assert.equal((await signet(['conformance', 'sign-bundle', '--in-toto', '--identity-token', token, '--bundle', att, '--signing-config', cfg, st], { env: noServer })).code, 0);
    const va = await signet(['conformance', 'verify-bundle', '--bundle', att, '--certificate-identity', 'conf@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', root, file], { env: noServer });
    assert.equal(va.code, 0, va.stderr);
    const wrong = await signet(['conformance', 'verify-bundle', '--bundle', out, '--certificate-identity', 'x@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', root, file], { env: noServer });
    assert.equal(wrong.code, 1);
  });

  await t.test('bad tokens are refused with the reason: wrong audience, not a JWT', async () => {
    const wrongAud = ((await (await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'x@example.test', audience: 'other' }) })).json()) as { id_token: string }).id_token;
    const r = await signet(['sign-blob', '--bundle', join(dir, 'x.json'), '--identity-token', wrongAud, file], { env });
    assert.ok(isCleanError(r));
    assert.match(r.stderr, /audience/);
    const g = await signet(['sign-blob', '--bundle', join(dir, 'x.json'), '--identity-token', 'not-a-jwt', file], { env });
    assert.ok(isCleanError(g));
    assert.match(g.stderr, /not a JWT/);
  });
});
