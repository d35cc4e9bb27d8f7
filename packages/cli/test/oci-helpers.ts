// Shared by the OCI tests: a Debian docker-registry 2.8.2 on a free loopback port with its own config in a temp dir
// (reference §7; it cannot listen on port 0), images built with umoci and pushed with skopeo, and small HTTP helpers.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { run, tempDir } from '@signet/testkit';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Registry {
  host: string;
  url: string;
}

/** docker-registry serve with its own config; stopped when the test ends. */
export async function startRegistry(t: Pick<TestContext, 'after'>, bin: string): Promise<Registry> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const dir = tempDir(t, 'signet-reg-');
    const port = await freePort();
    writeFileSync(
      join(dir, 'config.yml'),
      `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${dir}/data}, delete: {enabled: true}, cache: {blobdescriptor: inmemory}}\nhttp: {addr: 127.0.0.1:${port}}\n`,
    );
    const child = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let exited = false;
    child.on('exit', () => (exited = true));
    t.after(() => {
      if (!exited) child.kill('SIGKILL');
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100 && !exited; i++) {
      try {
        const r = await fetch(`${url}/v2/`);
        if (r.status === 200) return { host: `127.0.0.1:${port}`, url };
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited) child.kill('SIGKILL');
  }
  throw new Error('docker-registry did not start');
}

/** An OCI layout with one image (umoci, as reference §7), `extra` bytes added as a second file when given. */
export async function buildLayout(dir: string, name: string, content: string, extra?: Uint8Array): Promise<string> {
  const layout = join(dir, `layout-${name}`);
  const ok = async (args: string[]): Promise<void> => {
    const r = await run('umoci', args, { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `umoci ${args.join(' ')}: ${r.stderr}`);
  };
  await ok(['init', '--layout', layout]);
  await ok(['new', '--image', `${layout}:v1`]);
  const files = join(dir, `files-${name}`);
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'hello.txt'), content);
  await ok(['insert', '--image', `${layout}:v1`, join(files, 'hello.txt'), '/hello.txt']);
  if (extra) {
    writeFileSync(join(files, 'big.bin'), extra);
    await ok(['insert', '--image', `${layout}:v1`, join(files, 'big.bin'), '/big.bin']);
  }
  await ok(['config', '--image', `${layout}:v1`, '--config.cmd', '/hello.txt']);
  await ok(['gc', '--layout', layout]);
  return layout;
}

/** Pushes an OCI layout's v1 image with skopeo; returns the pushed manifest's digest. */
export async function pushImage(layout: string, target: string, creds?: string): Promise<string> {
  const r = await run('skopeo', ['copy', '-q', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), `oci:${layout}:v1`, `docker://${target}`], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${target}`]);
  assert.equal(raw.code, 0, raw.stderr);
  const { createHash } = await import('node:crypto');
  return `sha256:${createHash('sha256').update(raw.stdoutBytes).digest('hex')}`;
}

/** GET a manifest's raw bytes from a registry (anonymous or with a bearer/basic header). */
export async function rawManifest(url: string, repo: string, ref: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; type: string | null }> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json', ...headers },
  });
  return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type') };
}
