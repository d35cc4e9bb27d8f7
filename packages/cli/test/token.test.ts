import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startSignetServer } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

test('signet token create | list | revoke against a running server', async (t) => {
  const srv = await startSignetServer(t);
  const env = { SIGNET_SERVER: srv.url, SIGNET_TOKEN: srv.adminToken };
  const c = await signet(['token', 'create', '--name', 'release bot', '--role', 'signer', '--repositories', 'prod/*,staging/*'], { env });
  assert.equal(c.code, 0, c.stderr);
  const token = c.stdout.trim();
  assert.match(token, /^sgt_/);
  assert.match(c.stderr, /not shown again/);
  const l = await signet(['token', 'list'], { env });
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /signer +active +release bot +\[prod\/\*, staging\/\*\]/);
  assert.ok(!l.stdout.includes(token));
  const id = /^(\S+) +signer/m.exec(l.stdout)?.[1] ?? '';
  const asSigner = await signet(['token', 'list', '--token', token, '--server', srv.url]);
  assert.ok(isCleanError(asSigner));
  assert.match(asSigner.stderr, /HTTP 403/);
  const r = await signet(['token', 'revoke', id], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match((await signet(['token', 'list'], { env })).stdout, /signer +revoked/);
  const noToken = await signet(['token', 'list', '--server', srv.url]);
  assert.ok(isCleanError(noToken));
  assert.match(noToken.stderr, /HTTP 401\) \(pass --token or set SIGNET_TOKEN\)/);
  const badRole = await signet(['token', 'create', '--name', 'x', '--role', 'root'], { env });
  assert.ok(isCleanError(badRole));
  assert.match(badRole.stderr, /role/);
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  const down = await signet(['token', 'list', '--server', `http://127.0.0.1:${closed}`]);
  assert.ok(isCleanError(down));
  assert.match(down.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
});
