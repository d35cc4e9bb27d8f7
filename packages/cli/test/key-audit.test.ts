// signet key … and signet audit … against a real signet-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, startSignetServer, tempDir } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

test('signet key add | generate | list | show | public | revoke | rotate | delete, and signet audit list | verify', async (t) => {
  const sshKeygen = requireTool(t, 'ssh-keygen');
  const gpg = requireTool(t, 'gpg');
  if (!sshKeygen || !gpg) return;
  const srv = await startSignetServer(t, { env: { SIGNET_LOG_LEVEL: 'trace' } });
  let serverLog = '';
  srv.child.stdout?.on('data', (d: Buffer) => (serverLog += d.toString()));
  srv.child.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  const env = { SIGNET_SERVER: srv.url, SIGNET_TOKEN: srv.adminToken };
  const dir = tempDir(t);

  // An SSH key, with repositories and metadata; human output, then JSON.
  const idFile = join(dir, 'id_ed25519');
  assert.equal((await run(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci@example', '-f', idFile])).code, 0);
  const printed = (await run(sshKeygen, ['-lf', `${idFile}.pub`])).stdout.split(' ')[1];
  const add = await signet(['key', 'add', '--name', 'ci key', '--file', `${idFile}.pub`, '--repository', 'production/*', '--repository', 'staging/**', '--metadata', 'owner=platform', '--metadata', 'env=prod'], { env });
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stderr, /Imported ssh key [0-9a-f-]{36}/);
  assert.match(add.stdout, new RegExp(`fingerprint:  ${printed!.replace(/[+/]/g, '\\$&')}`));
  assert.match(add.stdout, /repositories: production\/\*, staging\/\*\*/);
  assert.match(add.stdout, /metadata:     owner=platform, env=prod/);
  const sshId = /^id: +(\S+)$/m.exec(add.stdout)![1]!;

  // A binary OpenPGP key file (gpg --export) goes up as base64.
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const g = (args: string[]): ReturnType<typeof run> => run(gpg, ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args]);
  assert.equal((await g(['--quick-gen-key', 'Rel <rel@example.com>', 'ed25519', 'sign', '1y'])).code, 0);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await g(['--with-colons', '--list-keys'])).stdout)![1]!;
  writeFileSync(join(dir, 'rel.gpg'), (await g(['--export', fpr])).stdoutBytes);
  const addGpg = await signet(['key', 'add', '--name', 'release', '--type', 'gpg', '--file', join(dir, 'rel.gpg'), '--repository', 'debian/**', '--output', 'json'], { env });
  assert.equal(addGpg.code, 0, addGpg.stderr);
  const gpgKey = JSON.parse(addGpg.stdout);
  assert.equal(gpgKey.fingerprint, fpr);
  assert.equal(gpgKey.type, 'gpg');

  const gen = await signet(['key', 'generate', '--name', 'server key', '--algorithm', 'ed25519', '--repository', 'production/*', '--output', 'json'], { env });
  assert.equal(gen.code, 0, gen.stderr);
  const genKey = JSON.parse(gen.stdout);
  assert.equal(genKey.custody, 'software');
  assert.ok(!gen.stdout.includes('PRIVATE'));

  const list = await signet(['key', 'list', '--repository', 'production/web'], { env });
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(list.stdout, new RegExp(`^${sshId}  ssh +active +SHA256:\\S+  ci key  \\[production/\\*, staging/\\*\\*\\]$`, 'm'));
  assert.match(list.stdout, /pem +active .* server key/);
  const all = JSON.parse((await signet(['key', 'list', '--output', 'json'], { env })).stdout);
  assert.equal(all.length, 3);

  const show = await signet(['key', 'show', gpgKey.id], { env });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /type: +gpg \(ed25519\)/);
  assert.match(show.stdout, /expires: +20\d\d-/);
  const pub = await signet(['key', 'public', sshId], { env });
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(pub.stdout.trim(), readFileSync(`${idFile}.pub`, 'utf8').trim());

  // Rotate with a new public key and an overlap; revoke with a reason; delete.
  const newPem = join(dir, 'new.pub');
  writeFileSync(newPem, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const typeClash = await signet(['key', 'rotate', sshId, '--file', newPem], { env });
  assert.ok(isCleanError(typeClash));
  assert.match(typeClash.stderr, /type is "ssh" but public_key holds a PEM public key/);
  const rot = await signet(['key', 'rotate', sshId, '--file', newPem, '--type', 'cosign', '--overlap', '2h', '--output', 'json'], { env });
  assert.equal(rot.code, 0, rot.stderr);
  const rotated = JSON.parse(rot.stdout);
  assert.equal(rotated.rotated_from, sshId);
  assert.equal(rotated.name, 'ci key');
  assert.deepEqual(rotated.metadata, { owner: 'platform', env: 'prod' });
  assert.match((await signet(['key', 'show', sshId], { env })).stdout, new RegExp(`status: +rotated[\\s\\S]*rotated to: +${rotated.id}`));
  const rev = await signet(['key', 'revoke', gpgKey.id, '--reason', 'superseded'], { env });
  assert.equal(rev.code, 0, rev.stderr);
  assert.match(rev.stdout, /status: +revoked/);
  assert.match(rev.stdout, /revoked: +\S+ \(superseded\)/);
  assert.match((await signet(['key', 'list', '--status', 'revoked'], { env })).stdout, new RegExp(gpgKey.id));
  const del = await signet(['key', 'delete', genKey.id], { env });
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stderr, /Deleted key/);
  const shown = await signet(['key', 'show', genKey.id], { env });
  assert.ok(isCleanError(shown));
  assert.match(shown.stderr, /was deleted at .* \(HTTP 404\)/);

  // Errors: a private key pasted by mistake (and not logged), a reader token, bad ids and options.
  const secret = readFileSync(idFile, 'utf8');
  const priv = await signet(['key', 'add', '--name', 'oops', '--file', idFile], { env });
  assert.ok(isCleanError(priv));
  assert.match(priv.stderr, /OpenSSH private key, not a public key; it was refused and not stored\. .*\(HTTP 400\)/);
  const secretBody = secret.split('\n')[2]!;
  assert.ok(!priv.stderr.includes(secretBody));
  const reader = JSON.parse((await signet(['token', 'create', '--name', 'r', '--role', 'reader', '--output', 'json'], { env })).stdout).token as string;
  const asReader = await signet(['key', 'add', '--name', 'x', '--file', newPem, '--token', reader], { env: { SIGNET_SERVER: srv.url } });
  assert.ok(isCleanError(asReader));
  assert.match(asReader.stderr, /role "reader" may not do this \(needs admin\) \(HTTP 403\)/);
  assert.equal((await signet(['key', 'list', '--token', reader], { env: { SIGNET_SERVER: srv.url } })).code, 0, 'a reader lists keys');
  const noToken = await signet(['key', 'revoke', sshId], { env: { SIGNET_SERVER: srv.url } });
  assert.ok(isCleanError(noToken));
  assert.match(noToken.stderr, /HTTP 401\) \(pass --token or set SIGNET_TOKEN\)/);
  assert.ok(isCleanError(await signet(['key', 'show', 'not an id'], { env })));
  assert.ok(isCleanError(await signet(['key', 'add', '--name', 'x', '--file', join(dir, 'missing.pub')], { env })));
  const badMeta = await signet(['key', 'add', '--name', 'x', '--file', newPem, '--metadata', 'novalue'], { env });
  assert.ok(isCleanError(badMeta));
  assert.match(badMeta.stderr, /--metadata takes key=value/);
  const badGlob = await signet(['key', 'add', '--name', 'x', '--file', newPem, '--repository', 'a//b'], { env });
  assert.ok(isCleanError(badGlob));
  assert.match(badGlob.stderr, /empty path segment/);

  // The audit log: every key operation (and the refusals) is there; the chain and its anchor verify.
  const al = await signet(['audit', 'list', '--action', 'key.import', '--action', 'key.rotate'], { env });
  assert.equal(al.code, 0, al.stderr);
  assert.equal(al.stdout.trim().split('\n').length, 4, 'two imports, a rotation, and the import refused for the reader token');
  assert.match(al.stdout, /bootstrap admin +key\.rotate +allowed +key:/);
  const denied = JSON.parse((await signet(['audit', 'list', '--output', 'json', '--limit', '1000'], { env })).stdout) as { action: string; outcome: string; actor_name: string }[];
  assert.ok(denied.some((e) => e.action === 'key.import' && e.outcome === 'denied' && e.actor_name === 'r'));
  for (const a of ['key.import', 'key.generate', 'key.rotate', 'key.revoke', 'key.delete', 'token.create']) assert.ok(denied.some((e) => e.action === a), a);
  const anchored = await fetch(`${srv.url}/api/v1/audit/anchors`, { method: 'POST', headers: { authorization: `Bearer ${srv.adminToken}` } });
  assert.equal(anchored.status, 200);
  const v = await signet(['audit', 'verify', '--output', 'json'], { env });
  assert.equal(v.code, 0, v.stderr);
  const summary = JSON.parse(v.stdout);
  assert.equal(summary.ok, true);
  assert.equal(summary.anchors, 1);
  assert.equal(summary.events, denied.length);
  assert.equal(summary.unanchored_events, 0);
  // Pinned keys: the right ones verify, a wrong audit key fails.
  writeFileSync(join(dir, 'log.pem'), await (await fetch(`${srv.url}/api/v1/log/publicKey`)).text());
  writeFileSync(join(dir, 'audit.pem'), await (await fetch(`${srv.url}/api/v1/audit/key`)).text());
  assert.equal((await signet(['audit', 'verify', '--log-public-key', join(dir, 'log.pem'), '--audit-public-key', join(dir, 'audit.pem')], { env })).code, 0);
  const wrong = await signet(['audit', 'verify', '--audit-public-key', newPem], { env });
  assert.ok(isCleanError(wrong));
  assert.match(wrong.stderr, /anchor of seq \d+ \(log index 0\): the log entry is signed by another key than the audit key/);

  // Nothing of the private key reached the server's log (trace level logs every request).
  assert.ok(serverLog.includes('"url":"/api/v1/signing/keys"'), 'the server log was captured');
  assert.ok(!serverLog.includes(secretBody));
  assert.ok(!serverLog.includes('PRIVATE KEY'));
});
