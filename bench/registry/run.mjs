#!/usr/bin/env node
// OCI registry throughput, side by side in one run: signet-server (SQLite + local blob files, API token auth)
// and Debian's docker-registry 2.8.2 (the CNCF reference registry, filesystem storage, no auth, its own config
// on loopback). The same HTTP client drives both: 256 MiB monolithic blob push (POST + PUT ?digest=) MB/s,
// 256 MiB blob pull MB/s, 4 KiB blob pushes/s at concurrency 8, manifest HEADs/s at concurrency 8, and the
// server's RSS growth during a 1 GiB push. Prints JSON with the targets.
//
//   node bench/registry/run.mjs            (needs docker-registry: apt-get install docker-registry)
//   BENCH_SECONDS=5 BENCH_ONLY=signet node bench/registry/run.mjs
import { createHash, randomFillSync } from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const BIG = 256 * 1024 * 1024;
const ONLY = process.env.BENCH_ONLY; // 'signet' | 'reference'

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitFor(url, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${url} did not come up: ${e.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function startReference(dir) {
  const bin = (() => {
    try {
      return execFileSync('sh', ['-c', 'command -v docker-registry'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (!bin) throw new Error('docker-registry is not installed (apt-get install docker-registry)');
  const port = await freePort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const cfg = join(dir, 'config.yml');
  writeFileSync(
    cfg,
    [
      'version: 0.1',
      'log: {level: error, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}, cache: {blobdescriptor: inmemory}}`,
      `http: {addr: 127.0.0.1:${port}}`,
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['serve', cfg], { stdio: ['ignore', 'ignore', 'ignore'] });
  const url = new URL(`http://127.0.0.1:${port}`);
  await waitFor(new URL('/v2/', url));
  const version = (() => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'docker-registry'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  return { name: `docker-registry ${version}`, url, child, headers: {} };
}

async function startSignet(dir) {
  const { url, child } = await startServer(dir, { env: { SIGNET_LOG_LEVEL: 'warn' } });
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  return { name: 'signet-server', url, child, headers: { authorization: `Bearer ${token}` } };
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** One HTTP request; `body` is a Buffer, an array of Buffers (written in order) or undefined. */
function request(target, agent, method, path, body, extra = {}) {
  return new Promise((resolve, reject) => {
    const headers = { ...target.headers, ...extra };
    const parts = body === undefined ? [] : Array.isArray(body) ? body : [body];
    const len = parts.reduce((n, b) => n + b.length, 0);
    if (method === 'PUT' || method === 'POST' || method === 'PATCH') headers['content-length'] = String(len);
    const req = http.request({ host: target.url.hostname, port: target.url.port, path, method, agent, headers }, (res) => {
      let n = 0;
      const chunks = [];
      res.on('data', (c) => {
        n += c.length;
        if (chunks.length < 64) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes: n, text: Buffer.concat(chunks).toString('utf8').slice(0, 500) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    (async () => {
      for (const p of parts) {
        if (!req.write(p)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

function locationPath(target, loc) {
  const u = new URL(loc, target.url);
  return u.pathname + u.search;
}

/** POST an upload session, then PUT the whole blob with ?digest= (the monolithic form every client uses). */
async function pushBlob(target, agent, repo, parts, digest) {
  const post = await request(target, agent, 'POST', `/v2/${repo}/blobs/uploads/`);
  if (post.status !== 202) throw new Error(`${target.name}: POST upload → ${post.status} ${post.text}`);
  const loc = locationPath(target, post.headers.location);
  const sep = loc.includes('?') ? '&' : '?';
  const put = await request(target, agent, 'PUT', `${loc}${sep}digest=${digest}`, parts, { 'content-type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`${target.name}: PUT blob → ${put.status} ${put.text}`);
}

function digestOf(parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2));
}

async function concurrent(concurrency, op) {
  const lat = [];
  let errors = 0;
  let firstError;
  const deadline = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      let i = 0;
      while (Date.now() < deadline) {
        const s = process.hrtime.bigint();
        try {
          await op(c, i++);
          lat.push(Number(process.hrtime.bigint() - s) / 1e6);
        } catch (e) {
          errors++;
          firstError ??= e.message;
        }
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  return { ops_per_s: Math.round(lat.length / secs), p50_ms: pct(lat, 50), p95_ms: pct(lat, 95), errors, ...(firstError ? { first_error: firstError } : {}) };
}

async function measure(target, big) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const out = {};
  const repo = 'bench/big';
  // 1. 256 MiB monolithic push, three runs, best and median (fresh random content each run).
  const pushes = [];
  for (let i = 0; i < 3; i++) {
    randomFillSync(big, 0, 64); // a different blob each run
    const parts = [big];
    const digest = digestOf(parts);
    const t = process.hrtime.bigint();
    await pushBlob(target, agent, repo, parts, digest);
    pushes.push(BIG / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9));
    out.last_big_digest = digest;
  }
  pushes.sort((a, b) => a - b);
  out.push_256mib_MBps = { best: Math.round(pushes[2]), median: Math.round(pushes[1]) };
  // 2. 256 MiB pull of the last blob, three runs.
  const pulls = [];
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    const r = await request(target, agent, 'GET', `/v2/${repo}/blobs/${out.last_big_digest}`);
    if (r.status !== 200 || r.bytes !== BIG) throw new Error(`${target.name}: pull → ${r.status}, ${r.bytes} bytes`);
    pulls.push(BIG / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  pulls.sort((a, b) => a - b);
  out.pull_256mib_MBps = { best: Math.round(pulls[2]), median: Math.round(pulls[1]) };
  delete out.last_big_digest;
  // 3. 4 KiB blob pushes at concurrency 8 (POST + PUT each, distinct content).
  const small = Buffer.alloc(4096);
  out.small_blob_push_c8 = await concurrent(8, async (c, i) => {
    const b = Buffer.from(small);
    randomFillSync(b, 0, 32);
    await pushBlob(target, agent, `bench/small${c}`, [b], digestOf([b]));
  });
  // 4. Manifest HEADs at concurrency 8 on a pushed image manifest.
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.alloc(1024, 7);
  await pushBlob(target, agent, 'bench/img', [config], digestOf([config]));
  await pushBlob(target, agent, 'bench/img', [layer], digestOf([layer]));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf([config]), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf([layer]), size: layer.length }],
    }),
  );
  const mput = await request(target, agent, 'PUT', '/v2/bench/img/manifests/v1', manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
  if (mput.status !== 201) throw new Error(`${target.name}: PUT manifest → ${mput.status} ${mput.text}`);
  out.manifest_head_c8 = await concurrent(8, async () => {
    const r = await request(target, agent, 'HEAD', '/v2/bench/img/manifests/v1', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    if (r.status !== 200) throw new Error(`HEAD → ${r.status}`);
  });
  // 5. RSS growth during a 1 GiB push (the 256 MiB buffer four times), sampled every 50 ms.
  randomFillSync(big, 0, 64);
  const parts = [big, big, big, big];
  const digest = digestOf(parts);
  const base = rssKiB(target.child.pid);
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(target.child.pid));
  }, 50);
  const t = process.hrtime.bigint();
  await pushBlob(target, agent, repo, parts, digest);
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  clearInterval(timer);
  peak = Math.max(peak, rssKiB(target.child.pid));
  out.push_1gib = { MBps: Math.round((4 * BIG) / 1e6 / secs), rss_before_MiB: Math.round(base / 1024), rss_growth_MiB: Math.round((peak - base) / 1024) };
  agent.destroy();
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'signet-bench-registry-'));
const big = Buffer.allocUnsafe(BIG);
randomFillSync(big);
const results = {};
const started = [];
try {
  if (ONLY !== 'reference') {
    const s = await startSignet(join(work, 'signet'));
    started.push(s);
    results.signet = await measure(s, big);
    s.child.kill('SIGTERM');
  }
  if (ONLY !== 'signet') {
    const r = await startReference(join(work, 'reference'));
    started.push(r);
    results.reference = { name: r.name, ...(await measure(r, big)) };
    r.child.kill('SIGTERM');
  }
} finally {
  for (const s of started) s.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

const ratio = (a, b) => (a && b ? Number((a / b).toFixed(2)) : null);
const s = results.signet;
const r = results.reference;
console.log(
  JSON.stringify(
    {
      benchmark: 'registry',
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      seconds_per_concurrent_phase: SECONDS,
      results,
      targets:
        s && r
          ? {
              push_256mib: { ratio: ratio(s.push_256mib_MBps.median, r.push_256mib_MBps.median), target: '>= 2x reference' },
              small_blob_push_c8: { ratio: ratio(s.small_blob_push_c8.ops_per_s, r.small_blob_push_c8.ops_per_s), target: '>= 2x reference' },
              pull_256mib: { ratio: ratio(s.pull_256mib_MBps.median, r.pull_256mib_MBps.median), target: '>= 1x reference' },
              manifest_head_c8: { ratio: ratio(s.manifest_head_c8.ops_per_s, r.manifest_head_c8.ops_per_s), target: 'reported (reference anchor 713/s)' },
              rss_growth_1gib_push_MiB: { value: s.push_1gib.rss_growth_MiB, target: '< 64' },
            }
          : null,
    },
    null,
    2,
  ),
);
