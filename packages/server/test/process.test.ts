import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_BIN, startSignetServer, tempDir } from '@signet/testkit';

test('signet-server starts on the embedded default, prints where to go, and exits 0 on SIGTERM', async (t) => {
  const { url, child, exit, dataDir: dir } = await startSignetServer(t);
  assert.ok(existsSync(join(dir, 'admin-token')));
  assert.ok(existsSync(join(dir, 'signet.db')));
  const r = await fetch(`${url}/healthz`);
  assert.equal(r.status, 200);
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
});

test('signet-server refuses a bad configuration with one clear line and exit 1', async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, [SERVER_BIN, '--data', dir, '--listen', 'nowhere'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 1);
  assert.equal(err.trim(), 'signet-server: --listen: listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got "nowhere")');
});
