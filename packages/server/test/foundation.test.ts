import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@signet/testkit';
import { ConfigError, loadConfig } from '../dist/index.js';
import { bearer, testServer } from './helpers.js';

test('config: defaults, YAML file, SIGNET_* overrides and flags, in that order', (t) => {
  const dir = tempDir(t);
  const d = loadConfig({}, {});
  assert.deepEqual(d.listen, { host: '127.0.0.1', port: 8080 });
  assert.match(d.databaseUrl, /^sqlite:.*data\/signet\.db$/);
  assert.equal(d.baseUrl, 'http://127.0.0.1:8080');
  assert.equal(d.tlog.anonymousWrite, false);
  const file = join(dir, 'signet.yaml');
  writeFileSync(file, 'listen: 0.0.0.0:9000\ndata: /srv/signet\ntlog:\n  anonymous_write: true\n  batch_size: 64\n');
  const c = loadConfig({ config: file }, { SIGNET_LISTEN: '127.0.0.1:9100' });
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 9100 });
  assert.equal(c.dataDir, '/srv/signet');
  assert.equal(c.tlog.anonymousWrite, true);
  assert.equal(c.tlog.batchSize, 64);
  assert.deepEqual(loadConfig({ config: file, listen: '[::1]:1' }, {}).listen, { host: '::1', port: 1 });
});

test('config: bad values are refused naming the setting and where it came from', (t) => {
  const dir = tempDir(t);
  const bad = (o: Parameters<typeof loadConfig>[0], env: Record<string, string>, re: RegExp): void => {
    assert.throws(() => loadConfig(o, env), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  };
  bad({ listen: 'nonsense' }, {}, /--listen: listen must be HOST:PORT/);
  bad({}, { SIGNET_LISTEN: 'h:99999' }, /SIGNET_LISTEN/);
  bad({ database: 'mysql://x' }, {}, /database must be sqlite:<path> or postgres/);
  bad({}, { SIGNET_LOG_LEVEL: 'loud' }, /log_level must be one of/);
  bad({}, { SIGNET_TLOG_BATCH_SIZE: '0' }, /SIGNET_TLOG_BATCH_SIZE must be an integer from 1/);
  bad({}, { SIGNET_MASTER_KEY: 'c2hvcnQ=' }, /master_key must be base64 of 32 bytes/);
  writeFileSync(join(dir, 'a.yaml'), 'listen: 1.2.3.4:80\nlisen: typo\n');
  bad({ config: join(dir, 'a.yaml') }, {}, /unknown setting "lisen"/);
  writeFileSync(join(dir, 'b.yaml'), 'tlog: [1, 2]\n');
  bad({ config: join(dir, 'b.yaml') }, {}, /tlog must be a mapping/);
  writeFileSync(join(dir, 'c.yaml'), 'listen: "a\n');
  bad({ config: join(dir, 'c.yaml') }, {}, /not valid YAML/);
  bad({ config: join(dir, 'missing.yaml') }, {}, /cannot be read: ENOENT/);
});

test('bootstrap admin token (0600), health, readiness, metrics and OpenAPI', async (t) => {
  const s = await testServer(t);
  assert.equal(statSync(join(s.dir, 'admin-token')).mode & 0o777, 0o600);
  assert.equal(statSync(join(s.dir, 'master.key')).mode & 0o777, 0o600);
  assert.equal((await s.app.inject({ url: '/healthz' })).json().status, 'ok');
  assert.equal((await s.app.inject({ url: '/readyz' })).json().status, 'ready');
  const m = await s.app.inject({ url: '/metrics' });
  assert.equal(m.statusCode, 200);
  assert.match(m.body, /signet_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
  const doc = (await s.app.inject({ url: '/openapi.json' })).json();
  assert.equal(doc.openapi, '3.0.3');
  assert.ok(doc.paths['/api/v1/tokens'].post.requestBody);
  assert.ok(doc.paths['/api/v1/tokens/{id}'].delete);
});

test('tokens: created once (hashed at rest), listed without values, revoked; roles enforced', async (t) => {
  const s = await testServer(t);
  const admin = bearer(s.adminToken);
  const created = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: 'ci', role: 'signer', repositories: ['prod/*'] } });
  assert.equal(created.statusCode, 201, created.body);
  const { id, token } = created.json() as { id: string; token: string };
  assert.match(token, /^sgt_[A-Za-z0-9_-]{43}$/);
  const list = (await s.app.inject({ url: '/api/v1/tokens', headers: admin })).json().tokens as { id: string; token?: string; repositories: string[] }[];
  assert.ok(list.every((x) => x.token === undefined));
  assert.deepEqual(list.find((x) => x.id === id)?.repositories, ['prod/*']);
  const rows = await s.app.services.database.db.selectFrom('api_tokens').selectAll().execute();
  assert.ok(rows.every((r) => !JSON.stringify(r).includes(token.slice(4))), 'the token value is not stored');

  // a signer may not manage tokens
  const asSigner = await s.app.inject({ url: '/api/v1/tokens', headers: bearer(token) });
  assert.equal(asSigner.statusCode, 403);
  assert.equal(asSigner.json().code, 'FORBIDDEN');
  assert.equal((await s.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: admin })).statusCode, 204);
  const revoked = await s.app.inject({ url: '/api/v1/tokens', headers: bearer(token) });
  assert.equal(revoked.statusCode, 401);
  assert.match(revoked.headers['www-authenticate'] as string, /Bearer/);
  assert.equal((await s.app.inject({ method: 'DELETE', url: '/api/v1/tokens/nope', headers: admin })).json().code, 'TOKEN_NOT_FOUND');
  const expired = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: 'old', role: 'reader', expires_at: '2001-01-01T00:00:00Z' } });
  assert.equal(expired.statusCode, 400);
  assert.match(expired.json().message, /in the past/);
});

test('authorization matrix: every token endpoint refuses a missing, bad or insufficient token', async (t) => {
  const s = await testServer(t);
  const reader = (await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(s.adminToken), payload: { name: 'r', role: 'reader' } })).json().token as string;
  const calls = [
    { method: 'POST' as const, url: '/api/v1/tokens', payload: { name: 'x', role: 'reader' } },
    { method: 'GET' as const, url: '/api/v1/tokens' },
    { method: 'DELETE' as const, url: '/api/v1/tokens/abc' },
  ];
  for (const c of calls) {
    assert.equal((await s.app.inject(c)).statusCode, 401, `${c.method} ${c.url} without a token`);
    assert.equal((await s.app.inject({ ...c, headers: bearer('sgt_wrong') })).statusCode, 401, `${c.method} ${c.url} with a bad token`);
    assert.equal((await s.app.inject({ ...c, headers: { authorization: 'Token x' } })).statusCode, 401);
    assert.equal((await s.app.inject({ ...c, headers: bearer(reader) })).statusCode, 403, `${c.method} ${c.url} as a reader`);
  }
});

test('errors: 4xx bodies are {code, message}; unknown routes, bad JSON, oversize bodies and schema violations', async (t) => {
  const s = await testServer(t, { SIGNET_BODY_LIMIT: '2048' });
  const admin = bearer(s.adminToken);
  const nf = await s.app.inject({ url: '/nope' });
  assert.deepEqual(nf.json(), { code: 'NOT_FOUND', message: 'no route for GET /nope' });
  const badJson = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"name":' });
  assert.equal(badJson.statusCode, 400);
  assert.equal(badJson.json().code, 'BAD_REQUEST');
  const big = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { ...admin, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(5000), role: 'reader' }) });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().code, 'PAYLOAD_TOO_LARGE');
  const schema = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: 'x', role: 'root' } });
  assert.equal(schema.statusCode, 400);
  assert.match(schema.json().message, /role/);
  const extra = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: 'x', role: 'reader', admin: true } });
  assert.equal(extra.statusCode, 400);
});

test('config: oidc_issuers and dev mode', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'oidc.yaml');
  writeFileSync(file, 'oidc_issuers:\n  - url: https://token.actions.githubusercontent.com/\n    type: github-workflow\n  - url: https://accounts.example.com\n');
  const c = loadConfig({ config: file }, {});
  assert.deepEqual(c.oidcIssuers, [
    { url: 'https://token.actions.githubusercontent.com', audience: 'sigstore', type: 'github-workflow' },
    { url: 'https://accounts.example.com', audience: 'sigstore', type: 'email' },
  ]);
  assert.equal(c.dev, false);
  assert.equal(loadConfig({ dev: true }, {}).dev, true);
  assert.equal(loadConfig({}, { SIGNET_DEV: 'true' }).dev, true);
  writeFileSync(file, 'oidc_issuers:\n  - url: https://x.example\n    type: kerberos\n');
  assert.throws(() => loadConfig({ config: file }, {}), /oidc_issuers\[0\]\.type must be one of/);
  writeFileSync(file, 'oidc_issuers:\n  - url: ftp://x\n');
  assert.throws(() => loadConfig({ config: file }, {}), /oidc_issuers\[0\]\.url must be/);
});
