// Per-repository role grants (identity/grants.ts, registry/access.ts roleOn, the repositories API): a grant is the
// token's role on one repository, widening or narrowing what its own role and globs allow, over /v2/ (API tokens and
// the docker/distribution token flow), /files/ and the repositories API; admin tokens are never narrowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { requireTool, run, startPostgres, startSignetServer, tempDir } from '@signet/testkit';
import { build, loadConfig } from '../dist/index.js';
import { bearer, testServer } from './helpers.js';

type H = Record<string, string>;
interface Res {
  statusCode: number;
  body: string;
  json(): any;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (tok: string): H => ({ authorization: `Basic ${Buffer.from(`anyone:${tok}`).toString('base64')}` });

/** A monolithic blob upload (distribution-spec §Pushing blobs: POST ?digest=); the status code. */
async function pushBlob(app: FastifyInstance, h: H, repo: string, bytes: Buffer): Promise<number> {
  const r = await app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`, headers: { ...h, 'content-type': 'application/octet-stream' }, payload: bytes });
  return r.statusCode;
}

/** Config + layer + manifest under `tag`; the manifest PUT's response (blob pushes must succeed). */
async function pushImage(app: FastifyInstance, h: H, repo: string, tag: string, seed: string): Promise<Res> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = Buffer.from(`layer of ${seed}\n`);
  assert.equal(await pushBlob(app, h, repo, config), 201);
  assert.equal(await pushBlob(app, h, repo, layer), 201);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return app.inject({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, headers: { ...h, 'content-type': OCI_MANIFEST }, payload: manifest }) as Promise<Res>;
}

async function newToken(app: FastifyInstance, admin: H, name: string, role: string, repositories?: string[]): Promise<{ id: string; token: string }> {
  const r = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name, role, ...(repositories ? { repositories } : {}) } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json() as { id: string; token: string };
}

async function createRepo(app: FastifyInstance, admin: H, body: Record<string, unknown>): Promise<Res> {
  return app.inject({ method: 'POST', url: '/api/v1/repositories', headers: admin, payload: body }) as Promise<Res>;
}

const grant = (app: FastifyInstance, h: H, repo: string, token: string, role: unknown): Promise<Res> =>
  app.inject({ method: 'PUT', url: `/api/v1/repositories/${repo}/roles/${encodeURIComponent(token)}`, headers: h, payload: { role } }) as Promise<Res>;
const ungrant = (app: FastifyInstance, h: H, repo: string, token: string): Promise<Res> =>
  app.inject({ method: 'DELETE', url: `/api/v1/repositories/${repo}/roles/${encodeURIComponent(token)}`, headers: h }) as Promise<Res>;

/** A registry token from GET /v2/token (Basic with the API token as password, as docker/skopeo do) and its access claim. */
async function registryToken(app: FastifyInstance, apiToken: string, scope: string): Promise<{ token: string; access: { name: string; actions: string[] }[] }> {
  const r = await app.inject({ url: `/v2/token?scope=${encodeURIComponent(scope)}`, headers: basic(apiToken) });
  assert.equal(r.statusCode, 200, r.body);
  const token = r.json().token as string;
  const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { access: { name: string; actions: string[] }[] };
  return { token, access: claims.access };
}

const putFile = (app: FastifyInstance, h: H, path: string, body: string): Promise<Res> =>
  app.inject({ method: 'PUT', url: `/files/${path}`, headers: { ...h, 'content-type': 'application/octet-stream' }, payload: Buffer.from(body) }) as Promise<Res>;

async function grantRows(app: FastifyInstance): Promise<{ repo: string; token_id: string; role: string }[]> {
  return app.services.database.db.selectFrom('repository_grants').select(['repo', 'token_id', 'role']).orderBy('repo').orderBy('token_id').execute();
}

test('grants widen and narrow over /v2/ (API token and token flow) and /files/; admin never narrowed; changes apply on the next request', async (t) => {
  const s = await testServer(t);
  const { app } = s;
  const admin = bearer(s.adminToken);
  assert.equal((await createRepo(app, admin, { name: 'shared/tools', kind: 'oci' })).statusCode, 201);
  assert.equal((await createRepo(app, admin, { name: 'shared/files', kind: 'generic' })).statusCode, 201);
  assert.equal((await createRepo(app, admin, { name: 'production/app', kind: 'oci' })).statusCode, 201);
  const reader = await newToken(app, admin, 'team-a reader', 'reader', ['team-a/*']);
  const publisher = await newToken(app, admin, 'ci', 'publisher');

  // Widen: a reader limited to team-a/* has nothing on shared/tools …
  assert.equal((await registryToken(app, reader.token, 'repository:shared/tools:pull,push')).access.length, 0);
  assert.equal(await pushBlob(app, bearer(reader.token), 'shared/tools', Buffer.from('before')), 403);
  assert.equal((await putFile(app, bearer(reader.token), 'shared/files/a.txt', 'a')).statusCode, 403);
  // … until it is granted publisher there (by name: "team-a reader" is unique).
  const g = await grant(app, admin, 'shared/tools', 'team-a reader', 'publisher');
  assert.equal(g.statusCode, 201, g.body);
  assert.deepEqual(g.json(), { repository: 'shared/tools', token_id: reader.id, token_name: 'team-a reader', role: 'publisher', previous: null });
  assert.equal((await grant(app, admin, 'shared/files', reader.id, 'publisher')).statusCode, 201);
  // The docker token flow: Basic → /v2/token → a registry token whose access claim carries push; push with it.
  const rt = await registryToken(app, reader.token, 'repository:shared/tools:pull,push');
  assert.deepEqual(rt.access, [{ type: 'repository', name: 'shared/tools', actions: ['pull', 'push'] }]);
  const pushed = await pushImage(app, bearer(rt.token), 'shared/tools', 'v1', 'widened');
  assert.equal(pushed.statusCode, 201, pushed.body);
  assert.equal((await app.inject({ url: '/v2/shared/tools/manifests/v1', headers: basic(reader.token) })).statusCode, 200);
  const up = await putFile(app, bearer(reader.token), 'shared/files/a.txt', 'widened file');
  assert.equal(up.statusCode, 201, up.body);
  assert.equal((await app.inject({ url: '/files/shared/files/a.txt', headers: bearer(reader.token) })).body, 'widened file');
  // Only that repository: other shared/* repositories and its own globs' role are unchanged.
  assert.equal(await pushBlob(app, bearer(reader.token), 'shared/other', Buffer.from('x')), 403);
  assert.equal(await pushBlob(app, bearer(reader.token), 'team-a/app', Buffer.from('x')), 403);
  // The catalog and the repositories list follow.
  assert.deepEqual((await app.inject({ url: '/v2/_catalog', headers: bearer(reader.token) })).json().repositories, ['shared/tools']);
  const listed = (await app.inject({ url: '/api/v1/repositories', headers: bearer(reader.token) })).json().repositories.map((r: { name: string }) => r.name);
  assert.deepEqual(listed, ['shared/files', 'shared/tools']);

  // Narrow: an all-repositories publisher granted reader on production/app may pull but no longer push there.
  assert.equal((await pushImage(app, bearer(publisher.token), 'production/app', 'v1', 'before narrowing')).statusCode, 201);
  assert.equal((await grant(app, admin, 'production/app', 'ci', 'reader')).statusCode, 201);
  assert.equal(await pushBlob(app, bearer(publisher.token), 'production/app', Buffer.from('after')), 403);
  assert.deepEqual((await registryToken(app, publisher.token, 'repository:production/app:pull,push,delete')).access, [{ type: 'repository', name: 'production/app', actions: ['pull'] }]);
  const del = await app.inject({ method: 'DELETE', url: '/v2/production/app/manifests/v1', headers: bearer(publisher.token) });
  assert.equal(del.statusCode, 403);
  assert.equal((await app.inject({ url: '/v2/production/app/manifests/v1', headers: bearer(publisher.token) })).statusCode, 200);
  // … and still pushes everywhere else.
  assert.equal((await pushImage(app, bearer(publisher.token), 'other/app', 'v1', 'elsewhere')).statusCode, 201);

  // Admin tokens are never narrowed: the API refuses such a grant, saying why …
  const admin2 = await newToken(app, admin, 'second admin', 'admin');
  const refused = await grant(app, admin, 'production/app', admin2.id, 'reader');
  assert.equal(refused.statusCode, 400);
  assert.equal(refused.json().code, 'GRANT_INVALID');
  assert.match(refused.json().message, /admin token for all repositories, including "production\/app": admin tokens are never narrowed/);
  // … and a reader grant that reached the table anyway changes nothing: the admin still pushes and manages.
  await app.services.database.db.insertInto('repository_grants').values({ repo: 'production/app', token_id: admin2.id, role: 'reader', created_at: new Date().toISOString(), created_by: 'test' }).execute();
  assert.equal((await pushImage(app, bearer(admin2.token), 'production/app', 'v2', 'admin push')).statusCode, 201);
  assert.deepEqual((await registryToken(app, admin2.token, 'repository:production/app:push')).access, [{ type: 'repository', name: 'production/app', actions: ['push'] }]);
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/repositories/production/app', headers: bearer(admin2.token), payload: { description: 'still admin' } })).statusCode, 200);
  // An admin limited to team-a/** may be widened to read shared/tools — read only, and it cannot manage it.
  const teamAdmin = await newToken(app, admin, 'team-a admin', 'admin', ['team-a/**']);
  assert.equal((await grant(app, admin, 'shared/tools', 'team-a admin', 'reader')).statusCode, 201);
  assert.equal((await app.inject({ url: '/v2/shared/tools/manifests/v1', headers: bearer(teamAdmin.token) })).statusCode, 200);
  assert.equal(await pushBlob(app, bearer(teamAdmin.token), 'shared/tools', Buffer.from('y')), 403);
  const notManager = await app.inject({ method: 'PATCH', url: '/api/v1/repositories/shared/tools', headers: bearer(teamAdmin.token), payload: { description: 'x' } });
  assert.equal(notManager.statusCode, 403);
  assert.match(notManager.json().message, /has role "reader" on repository "shared\/tools"/);

  // Changes take effect on the next request (the token cache is invalidated, not left to age out).
  assert.equal(await pushBlob(app, bearer(reader.token), 'shared/tools', Buffer.from('cached 1')), 201);
  const removed = await ungrant(app, admin, 'shared/tools', 'team-a reader');
  assert.equal(removed.statusCode, 200, removed.body);
  assert.deepEqual(removed.json(), { repository: 'shared/tools', token_id: reader.id, token_name: 'team-a reader', role: 'publisher' });
  assert.equal(await pushBlob(app, bearer(reader.token), 'shared/tools', Buffer.from('cached 2')), 403);
  assert.equal((await app.inject({ url: '/v2/shared/tools/tags/list', headers: bearer(reader.token) })).statusCode, 403);
  assert.equal((await grant(app, admin, 'shared/tools', reader.id, 'reader')).statusCode, 201);
  assert.equal((await app.inject({ url: '/v2/shared/tools/tags/list', headers: bearer(reader.token) })).statusCode, 200);
  assert.equal(await pushBlob(app, bearer(reader.token), 'shared/tools', Buffer.from('cached 3')), 403);
  const changed = await grant(app, admin, 'shared/tools', reader.id, 'signer');
  assert.equal(changed.statusCode, 200);
  assert.equal(changed.json().previous, 'reader');
  assert.equal(await pushBlob(app, bearer(reader.token), 'shared/tools', Buffer.from('cached 4')), 201);
  // PATCH roles replaces every grant at once ([] removes them all), also at once.
  const replaced = await app.inject({ method: 'PATCH', url: '/api/v1/repositories/shared/tools', headers: admin, payload: { roles: [] } });
  assert.equal(replaced.statusCode, 200, replaced.body);
  assert.deepEqual(replaced.json().roles, []);
  assert.equal(await pushBlob(app, bearer(reader.token), 'shared/tools', Buffer.from('cached 5')), 403);
  assert.equal((await app.inject({ url: '/v2/shared/tools/manifests/v1', headers: bearer(teamAdmin.token) })).statusCode, 403);
});

test('grants: the API (roles on POST/GET/PATCH, PUT/DELETE one), clear 400s, audit, token and repository deletion', async (t) => {
  const s = await testServer(t);
  const { app } = s;
  const admin = bearer(s.adminToken);
  const bot = await newToken(app, admin, 'bot', 'reader', ['nothing/*']);
  const dupA = await newToken(app, admin, 'ci-bot', 'reader');
  const dupB = await newToken(app, admin, 'ci-bot', 'publisher');
  const viewer = await newToken(app, admin, 'viewer', 'reader');
  const gone = await newToken(app, admin, 'gone', 'reader');
  assert.equal((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${gone.id}`, headers: admin })).statusCode, 204);

  // POST with roles: every grant is checked first; a bad one creates nothing.
  const badPost = await createRepo(app, admin, { name: 'apps/web', kind: 'oci', roles: [{ token: 'bot', role: 'publisher' }, { token: 'nobody', role: 'reader' }] });
  assert.equal(badPost.statusCode, 400);
  assert.deepEqual(badPost.json(), { code: 'GRANT_INVALID', message: 'roles[1]: no API token with id or name "nobody" (see GET /api/v1/tokens)' });
  assert.equal((await app.inject({ url: '/api/v1/repositories/apps/web', headers: admin })).statusCode, 404);
  const created = await createRepo(app, admin, { name: 'apps/web', kind: 'oci', roles: [{ token: 'bot', role: 'publisher' }, { token: dupA.id, role: 'signer' }] });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual(
    created.json().roles.map((r: { token_id: string; token_name: string; role: string; created_by: string; active: boolean }) => [r.token_id, r.token_name, r.role, r.created_by, r.active]),
    [
      [bot.id, 'bot', 'publisher', (await app.services.tokens.authenticate(s.adminToken))!.tokenId, true],
      [dupA.id, 'ci-bot', 'signer', (await app.services.tokens.authenticate(s.adminToken))!.tokenId, true],
    ],
  );
  assert.equal(await pushBlob(app, bearer(bot.token), 'apps/web', Buffer.from('bot')), 201);

  // Clear 400s: unknown token, ambiguous name, bad role, unknown repository, revoked token, bad shapes.
  const cases: [Promise<Res>, number, string, RegExp][] = [
    [grant(app, admin, 'apps/web', 'nobody', 'reader'), 400, 'GRANT_INVALID', /^no API token with id or name "nobody"/],
    [grant(app, admin, 'apps/web', 'ci-bot', 'reader'), 400, 'GRANT_INVALID', new RegExp(`^token name "ci-bot" is ambiguous: 2 live tokens have it \\(ids (${dupA.id}, ${dupB.id}|${dupB.id}, ${dupA.id})\\); name the token by its id$`)],
    [grant(app, admin, 'apps/web', 'bot', 'owner'), 400, 'GRANT_INVALID', /^role "owner" is not a role: use one of admin, signer, publisher, reader$/],
    [grant(app, admin, 'apps/web', 'bot', 7), 400, 'GRANT_INVALID', /^role "7" is not a role/],
    [grant(app, admin, 'no/such', 'bot', 'reader'), 400, 'GRANT_INVALID', /^no repository "no\/such": create it first/],
    [grant(app, admin, 'apps/web', gone.id, 'reader'), 400, 'GRANT_INVALID', /is revoked: a grant to it would do nothing/],
    [grant(app, admin, 'Apps/Web', 'bot', 'reader'), 400, 'REPOSITORY_INVALID', /invalid repository name/],
    [createRepo(app, admin, { name: 'apps/x', kind: 'oci', roles: [{ token: 'bot', role: 'root' }] }), 400, 'GRANT_INVALID', /^roles\[0\]: role "root" is not a role/],
    [createRepo(app, admin, { name: 'apps/x', kind: 'oci', roles: [{ token: 'ci-bot', role: 'reader' }] }), 400, 'GRANT_INVALID', /^roles\[0\]: token name "ci-bot" is ambiguous/],
    [createRepo(app, admin, { name: 'apps/x', kind: 'oci', roles: [{ token: 'bot', role: 'reader' }, { token: bot.id, role: 'signer' }] }), 400, 'GRANT_INVALID', /^roles\[1\]: token "bot" .* is listed twice/],
    [createRepo(app, admin, { name: 'apps/x', kind: 'oci', roles: { reader: ['bot'] } }), 400, 'REPOSITORY_INVALID', /^roles is not a list/],
    [createRepo(app, admin, { name: 'apps/x', kind: 'oci', roles: [{ token: 'bot', role: 'reader', extra: 1 }] }), 400, 'REPOSITORY_INVALID', /roles\[0\] has unknown field "extra"/],
    [app.inject({ method: 'PUT', url: '/api/v1/repositories/apps/web', headers: admin, payload: { role: 'reader' } }) as Promise<Res>, 400, 'REPOSITORY_INVALID', /PUT is for \/api\/v1\/repositories\/<name>\/roles\/<token/],
    [ungrant(app, admin, 'apps/web', 'viewer'), 404, 'GRANT_NOT_FOUND', /^token "viewer" has no grant on repository "apps\/web"$/],
    [ungrant(app, admin, 'apps/web', 'nobody'), 400, 'GRANT_INVALID', /^no API token with id or name "nobody"/],
  ];
  for (const [p, status, code, message] of cases) {
    const r = await p;
    assert.equal(r.statusCode, status, r.body);
    assert.equal(r.json().code, code, r.body);
    assert.match(r.json().message, message);
  }
  assert.equal((await app.inject({ url: '/api/v1/repositories/apps/x', headers: admin })).statusCode, 404);
  // The duplicate name works by id.
  assert.equal((await grant(app, admin, 'apps/web', dupB.id, 'reader')).statusCode, 201);

  // Only admins of the repository change grants; a refusal is audited.
  const denied = await grant(app, bearer(dupB.token), 'apps/web', dupB.id, 'admin');
  assert.equal(denied.statusCode, 403);
  assert.equal((await ungrant(app, bearer(bot.token), 'apps/web', 'bot')).statusCode, 403);

  // GET shows every grant to admins, the caller's own grant to other tokens, no roles to anonymous callers.
  const names = (r: Res): string[] => r.json().roles.map((x: { token_name: string; role: string }) => `${x.token_name}=${x.role}`).sort();
  assert.deepEqual(names((await app.inject({ url: '/api/v1/repositories/apps/web', headers: admin })) as Res), ['bot=publisher', 'ci-bot=reader', 'ci-bot=signer']);
  assert.deepEqual(names((await app.inject({ url: '/api/v1/repositories/apps/web', headers: bearer(bot.token) })) as Res), ['bot=publisher']);
  assert.deepEqual(names((await app.inject({ url: '/api/v1/repositories/apps/web', headers: bearer(viewer.token) })) as Res), []);
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/repositories/apps/web', headers: admin, payload: { visibility: 'public' } })).statusCode, 200);
  const anon = await app.inject({ url: '/api/v1/repositories/apps/web' });
  assert.equal(anon.statusCode, 200);
  assert.equal(anon.json().roles, undefined);

  // PATCH replaces the list: bot changes role, the ci-bot grants go, viewer comes.
  const patched = await app.inject({ method: 'PATCH', url: '/api/v1/repositories/apps/web', headers: admin, payload: { roles: [{ token: 'bot', role: 'signer' }, { token: 'viewer', role: 'publisher' }] } });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.deepEqual(names(patched as Res), ['bot=signer', 'viewer=publisher']);

  // Every grant change is audited with its own action.
  const events = async (action: string): Promise<{ actor: string; target: string; outcome: string; details: Record<string, unknown> }[]> =>
    (await app.inject({ url: `/api/v1/audit?action=${action}&limit=1000`, headers: admin })).json().events;
  const grants = await events('repository.grant');
  assert.deepEqual(
    grants.filter((e) => e.outcome === 'allowed').map((e) => `${e.target} ${e.details['token_name']} ${e.details['previous']}->${e.details['role']}`),
    ['repo:apps/web bot null->publisher', 'repo:apps/web ci-bot null->signer', 'repo:apps/web ci-bot null->reader', 'repo:apps/web bot publisher->signer', 'repo:apps/web viewer null->publisher'],
  );
  assert.ok(grants.some((e) => e.outcome === 'denied' && e.actor === dupB.id), 'a refused grant is audited');
  const revokes = await events('repository.revoke_grant');
  assert.deepEqual(revokes.filter((e) => e.outcome === 'allowed').map((e) => `${e.details['token_id']} ${e.details['role']}`).sort(), [`${dupA.id} signer`, `${dupB.id} reader`].sort());
  assert.ok(revokes.some((e) => e.outcome === 'denied' && e.actor === bot.id));

  // Revoking a token deletes its grants (audited); the rows are gone.
  assert.equal(await pushBlob(app, bearer(viewer.token), 'apps/web', Buffer.from('viewer')), 201);
  assert.equal((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${viewer.id}`, headers: admin })).statusCode, 204);
  assert.deepEqual((await grantRows(app)).map((r) => `${r.repo} ${r.token_id} ${r.role}`), [`apps/web ${bot.id} signer`]);
  assert.ok((await events('repository.revoke_grant')).some((e) => e.details['token_id'] === viewer.id && e.details['reason'] === 'token revoked'));

  // Deleting the repository deletes its grants; a repository made again under the name starts without them.
  assert.equal(await pushBlob(app, bearer(bot.token), 'apps/web', Buffer.from('bot again')), 201);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/repositories/apps/web?force=true', headers: admin })).statusCode, 204);
  assert.deepEqual(await grantRows(app), []);
  assert.ok((await events('repository.revoke_grant')).some((e) => e.details['token_id'] === bot.id && e.details['reason'] === 'repository deleted'));
  assert.equal((await createRepo(app, admin, { name: 'apps/web', kind: 'oci' })).statusCode, 201);
  assert.deepEqual((await app.inject({ url: '/api/v1/repositories/apps/web', headers: admin })).json().roles, []);
  assert.equal(await pushBlob(app, bearer(bot.token), 'apps/web', Buffer.from('bot after delete')), 403);

  // A repository whose whole name ends in /roles/<x> is still deleted as a repository (its name wins).
  assert.equal((await createRepo(app, admin, { name: 'odd/roles/bot', kind: 'oci' })).statusCode, 201);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/repositories/odd/roles/bot', headers: admin })).statusCode, 204);
  assert.equal((await app.inject({ url: '/api/v1/repositories/odd/roles/bot', headers: admin })).statusCode, 404);
});

test('grants on PostgreSQL: migration, authentication with grants, cascade on repository deletion, revocation', async (t) => {
  const pg = await startPostgres(t);
  const dir = tempDir(t);
  const app = await build(loadConfig({ data: dir, listen: '127.0.0.1:0', database: pg.url }, { SIGNET_LOG_LEVEL: 'silent' }));
  t.after(() => app.close());
  assert.equal(app.services.database.kind, 'postgres');
  const admin = bearer(readFileSync(join(dir, 'admin-token'), 'utf8').trim());
  const reader = await newToken(app, admin, 'pg reader', 'reader', ['elsewhere/*']);
  const publisher = await newToken(app, admin, 'pg publisher', 'publisher');
  const created = await createRepo(app, admin, { name: 'pg/app', kind: 'oci', roles: [{ token: 'pg reader', role: 'publisher' }, { token: publisher.id, role: 'reader' }] });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal((await pushImage(app, bearer(reader.token), 'pg/app', 'v1', 'pg widened')).statusCode, 201);
  assert.equal(await pushBlob(app, bearer(publisher.token), 'pg/app', Buffer.from('narrowed')), 403);
  assert.equal(await pushBlob(app, bearer(publisher.token), 'pg/other', Buffer.from('elsewhere')), 201);
  const dup = await grant(app, admin, 'pg/app', 'nobody', 'reader');
  assert.equal(dup.statusCode, 400);
  assert.equal((await ungrant(app, admin, 'pg/app', publisher.id)).statusCode, 200);
  assert.equal(await pushBlob(app, bearer(publisher.token), 'pg/app', Buffer.from('restored')), 201);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/repositories/pg/app?force=true', headers: admin })).statusCode, 204);
  assert.deepEqual(await grantRows(app), []);
  assert.equal(await pushBlob(app, bearer(reader.token), 'pg/app', Buffer.from('gone')), 403);
  assert.equal((await createRepo(app, admin, { name: 'pg/app', kind: 'oci', roles: [{ token: reader.id, role: 'reader' }] })).statusCode, 201);
  assert.equal((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${reader.id}`, headers: admin })).statusCode, 204);
  assert.deepEqual(await grantRows(app), []);
});

test('skopeo pushes with a token widened by a grant, and is refused once the grant is removed', async (t) => {
  const skopeo = requireTool(t, 'skopeo');
  const umoci = requireTool(t, 'umoci');
  if (!skopeo || !umoci) return;
  const w = tempDir(t, 'signet-grants-');
  const srv = await startSignetServer(t);
  const host = new URL(srv.url).host;
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const r = await fetch(`${srv.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${srv.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  const tok = await call('POST', '/api/v1/tokens', { name: 'skopeo reader', role: 'reader', repositories: ['team-a/*'] });
  assert.equal(tok.status, 201);
  assert.equal((await call('POST', '/api/v1/repositories', { name: 'shared/tools', kind: 'oci' })).status, 201);
  const ok = async (args: string[], what: string): Promise<void> => {
    const r = await run(umoci, args, { cwd: w });
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  };
  await ok(['init', '--layout', 'img'], 'umoci init');
  await ok(['new', '--image', 'img:v1'], 'umoci new');
  writeFileSync(join(w, 'tool.txt'), 'a shared tool\n');
  await ok(['insert', '--image', 'img:v1', 'tool.txt', '/tool.txt'], 'umoci insert');
  const copy = (tag: string) =>
    run(skopeo, ['--insecure-policy', 'copy', '--dest-tls-verify=false', '--dest-creds', `x:${tok.json.token}`, 'oci:img:v1', `docker://${host}/shared/tools:${tag}`], { cwd: w, timeoutMs: 30_000 });

  const before = await copy('v0');
  assert.notEqual(before.code, 0, 'a reader limited to team-a/* may not push to shared/tools');
  assert.match(before.stderr, /denied|unauthorized|forbidden/i);
  assert.equal((await call('PUT', '/api/v1/repositories/shared/tools/roles/skopeo%20reader', { role: 'publisher' })).status, 201);
  const pushed = await copy('v1');
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.deepEqual((await call('GET', '/v2/shared/tools/tags/list')).json.tags, ['v1']);
  assert.equal((await call('DELETE', `/api/v1/repositories/shared/tools/roles/${tok.json.id}`)).status, 200);
  const after = await copy('v2');
  assert.notEqual(after.code, 0, 'the grant is gone');
  assert.deepEqual((await call('GET', '/v2/shared/tools/tags/list')).json.tags, ['v1']);
});
