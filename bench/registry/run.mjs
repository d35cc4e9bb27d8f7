#!/usr/bin/env node
// OCI registry throughput, side by side in one run: signet-server (SQLite + local blob files, API token auth)
// and Debian's docker-registry 2.8.2 (the CNCF reference registry, filesystem storage, no auth, its own config
// on loopback). The same clients drive both: curl for the 256 MiB monolithic blob push (POST + PUT ?digest=) and
// pull (MB/s) and for the 1 GiB push during which the server's RSS growth is sampled (node:http when curl is
// missing — it caps pulls near 450 MB/s), node:http for 4 KiB blob pushes/s and manifest HEADs/s at
// concurrency 8. Each phase alternates the two servers round by round, and every big push starts after sync(1)
// so that the reference's unsynced writes are not flushed during signet's turn. Prints JSON with the targets.
//
//   node bench/registry/run.mjs            (needs docker-registry and curl: apt-get install docker-registry curl)
//   BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_ONLY=signet node bench/registry/run.mjs
import { createHash, randomFillSync } from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
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

/** curl, when installed: a client fast enough (≈2 GB/s on loopback) that it does not cap either server. */
const CURL = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
})();

/** Runs curl with the target's headers; resolves {status, seconds} from curl's own timing of the transfer. */
function curl(target, args) {
  const hdrs = Object.entries(target.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  return new Promise((resolve, reject) => {
    const c = spawn(CURL, ['-s', '-S', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', ...hdrs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('exit', (code) => {
      const [status, secs] = out.trim().split(' ');
      if (code !== 0) return reject(new Error(`curl exited ${code}: ${err.trim()}`));
      resolve({ status: Number(status), seconds: Number(secs) });
    });
  });
}

/**
 * Writes back every dirty page before a timed push. docker-registry does not fsync what it stores, so the kernel
 * writes its last blob to disk later, in the background — during whatever runs next. Without this, the next
 * server measured (signet, which fsyncs before it acknowledges) would pay for the reference's deferred writes.
 * Each push starts from a clean page cache; neither server is charged for the other's I/O.
 */
function settleDisk() {
  try {
    execFileSync('sync');
  } catch {
    // no sync(1): measure as is
  }
}

/** A 256 MiB (or larger) blob pushed monolithically (POST, then PUT ?digest= with the whole body); MB/s. */
async function bigPush(target, agent, repo, file, size, digest) {
  settleDisk();
  if (!CURL) {
    const t = process.hrtime.bigint();
    await pushBlob(target, agent, repo, [readFileSync(file)], digest);
    return size / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9);
  }
  const post = await request(target, agent, 'POST', `/v2/${repo}/blobs/uploads/`);
  if (post.status !== 202) throw new Error(`${target.name}: POST upload → ${post.status} ${post.text}`);
  const loc = new URL(post.headers.location, target.url);
  loc.searchParams.set('digest', digest);
  // --data-binary sends from memory (curl reads the file before the transfer starts); curl refuses that past
  // about 512 MiB, so the 1 GiB push streams the file with -T.
  const body = size > BIG ? ['-T', file] : ['--data-binary', `@${file}`];
  const r = await curl(target, ['-X', 'PUT', '-H', 'Expect:', '-H', 'content-type: application/octet-stream', ...body, loc.href]);
  if (r.status !== 201) throw new Error(`${target.name}: PUT blob → ${r.status}`);
  return size / 1e6 / r.seconds;
}

async function bigPull(target, agent, repo, size, digest) {
  const path = `/v2/${repo}/blobs/${digest}`;
  if (!CURL) {
    const t = process.hrtime.bigint();
    const r = await request(target, agent, 'GET', path);
    if (r.status !== 200 || r.bytes !== size) throw new Error(`${target.name}: pull → ${r.status}, ${r.bytes} bytes`);
    return size / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9);
  }
  const r = await curl(target, ['-L', new URL(path, target.url).href]);
  if (r.status !== 200) throw new Error(`${target.name}: pull → ${r.status}`);
  return size / 1e6 / r.seconds;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]);
};

/**
 * Every phase runs the targets in alternating order, round after round, so that drift in the machine (disk
 * write-back, other load) falls on both alike.
 */
async function measureAll(targets, work) {
  const agents = new Map(targets.map((t) => [t, new http.Agent({ keepAlive: true, maxSockets: 16 })]));
  const out = new Map(targets.map((t) => [t, {}]));
  const order = (round) => (round % 2 === 0 ? targets : [...targets].reverse());
  const file = join(SCRATCH, 'blob-256mib');
  const buf = Buffer.allocUnsafe(BIG);
  randomFillSync(buf);
  // 1 + 2. 256 MiB monolithic push, then pull of what was pushed; fresh content each round.
  const pushes = new Map(targets.map((t) => [t, []]));
  const pulls = new Map(targets.map((t) => [t, []]));
  for (let round = 0; round < ROUNDS; round++) {
    randomFillSync(buf, 0, 64);
    writeFileSync(file, buf);
    const digest = digestOf([buf]);
    for (const t of order(round)) pushes.get(t).push(await bigPush(t, agents.get(t), 'bench/big', file, BIG, digest));
    // Pulls are short and CPU-bound (client and server share two cores): three per server per round, interleaved.
    for (let k = 0; k < 3; k++) for (const t of order(round + k + 1)) pulls.get(t).push(await bigPull(t, agents.get(t), 'bench/big', BIG, digest));
  }
  for (const t of targets) {
    const o = out.get(t);
    o.push_256mib_MBps = { median: median(pushes.get(t)), best: Math.round(Math.max(...pushes.get(t))), runs: pushes.get(t).map(Math.round) };
    o.pull_256mib_MBps = { median: median(pulls.get(t)), best: Math.round(Math.max(...pulls.get(t))), runs: pulls.get(t).map(Math.round) };
  }
  // 3. 4 KiB blob pushes at concurrency 8 (POST + PUT each, distinct content), two rounds each, alternating.
  const small = Buffer.alloc(4096);
  const smallRuns = new Map(targets.map((t) => [t, []]));
  for (let round = 0; round < 2; round++) {
    for (const t of order(round)) {
      settleDisk();
      smallRuns.get(t).push(
        await concurrent(8, async (c) => {
          const b = Buffer.from(small);
          randomFillSync(b, 0, 32);
          await pushBlob(t, agents.get(t), `bench/small${c}`, [b], digestOf([b]));
        }),
      );
    }
  }
  // 4. Manifest HEADs at concurrency 8 on a pushed image manifest, two rounds each, alternating.
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.alloc(1024, 7);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf([config]), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf([layer]), size: layer.length }],
    }),
  );
  for (const t of targets) {
    await pushBlob(t, agents.get(t), 'bench/img', [config], digestOf([config]));
    await pushBlob(t, agents.get(t), 'bench/img', [layer], digestOf([layer]));
    const mput = await request(t, agents.get(t), 'PUT', '/v2/bench/img/manifests/v1', manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    if (mput.status !== 201) throw new Error(`${t.name}: PUT manifest → ${mput.status} ${mput.text}`);
  }
  const headRuns = new Map(targets.map((t) => [t, []]));
  for (let round = 0; round < 2; round++) {
    for (const t of order(round)) {
      headRuns.get(t).push(
        await concurrent(8, async () => {
          const r = await request(t, agents.get(t), 'HEAD', '/v2/bench/img/manifests/v1', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
          if (r.status !== 200) throw new Error(`HEAD → ${r.status}`);
        }),
      );
    }
  }
  const combine = (runs) => ({ ops_per_s: Math.round(runs.reduce((n, r) => n + r.ops_per_s, 0) / runs.length), runs });
  for (const t of targets) {
    out.get(t).small_blob_push_c8 = combine(smallRuns.get(t));
    out.get(t).manifest_head_c8 = combine(headRuns.get(t));
  }
  // 5. RSS growth during a 1 GiB push, sampled every 50 ms.
  const gib = join(SCRATCH, 'blob-1gib');
  const h = createHash('sha256');
  randomFillSync(buf, 0, 64);
  writeFileSync(gib, '');
  for (let i = 0; i < 4; i++) {
    appendFileSync(gib, buf);
    h.update(buf);
  }
  const digest = `sha256:${h.digest('hex')}`;
  for (const t of targets) {
    const base = rssKiB(t.child.pid);
    let peak = base;
    const timer = setInterval(() => {
      peak = Math.max(peak, rssKiB(t.child.pid));
    }, 50);
    const MBps = await bigPush(t, agents.get(t), 'bench/big', gib, 4 * BIG, digest);
    clearInterval(timer);
    peak = Math.max(peak, rssKiB(t.child.pid));
    out.get(t).push_1gib = { MBps: Math.round(MBps), rss_before_MiB: Math.round(base / 1024), rss_growth_MiB: Math.round((peak - base) / 1024) };
  }
  rmSync(gib, { force: true });
  rmSync(file, { force: true });
  for (const a of agents.values()) a.destroy();
  return out;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const work = mkdtempSync(join(tmpdir(), 'signet-bench-registry-'));
// The client's copies of the big blobs live in memory-backed /dev/shm when there is one, so writing them adds no
// disk write-back that would land on whichever server is measured next.
const SCRATCH = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'signet-bench-client-'));
const results = {};
const started = [];
try {
  const targets = [];
  if (ONLY !== 'reference') {
    const s = await startSignet(join(work, 'signet'));
    started.push(s);
    targets.push(s);
  }
  if (ONLY !== 'signet') {
    const r = await startReference(join(work, 'reference'));
    started.push(r);
    targets.push(r);
  }
  const measured = await measureAll(targets, work);
  for (const t of targets) {
    if (t.name === 'signet-server') results.signet = measured.get(t);
    else results.reference = { name: t.name, ...measured.get(t) };
    t.child.kill('SIGTERM');
  }
} finally {
  for (const s of started) s.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  rmSync(SCRATCH, { recursive: true, force: true });
}

const ratio = (a, b) => (a && b ? Number((a / b).toFixed(2)) : null);
const s = results.signet;
const r = results.reference;
console.log(
  JSON.stringify(
    {
      benchmark: 'registry',
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      client: CURL ? `curl (${execFileSync(CURL, ['--version'], { encoding: 'utf8' }).split(' ')[1]}) for the 256 MiB and 1 GiB transfers, node:http for the rest` : 'node:http (install curl for a client that does not cap pull throughput)',
      rounds: ROUNDS,
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
