#!/usr/bin/env node
// Keyless throughput against a real signet-server process (SQLite, --dev issuer for tokens), 32 concurrent
// HTTP clients on this machine: signingCert issuances/s, RFC 3161 timestamps/s, and full keyless signs/s
// (fresh key + certificate + signature + timestamp + Rekor entry with its inclusion proof, as sigstore-js and
// `signet sign-blob` do), each with p50/p95/p99. The peers cannot run here (Fulcio, Rekor and the Sigstore TSA
// are Go services; no network), so their published figures are printed next to ours as anchors. Prints JSON.
import { createECDH, createHash, createPrivateKey, sign } from 'node:crypto';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostCpu, hostCpuShares, startServer } from '../lib.mjs';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
// Each phase first runs unmeasured for this long, so V8 has compiled the path: a fresh server spends most of a
// phase's first seconds in the optimizing compiler (perf: 90% of V8's helper threads), which a running server does not.
// 15 s: with 5 s, V8's helper threads still spent about 0.7 ms of CPU per full sign compiling during the measured
// window (perf, --trace-opt), a quarter of all the server's CPU; after 15 s about 0.17 ms.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 15);
// How many full signs a second the prepared client material covers (more than this machine can do).
const PREPARED_PER_SECOND = Number(process.env.BENCH_PREPARED_PER_SECOND ?? 1000);


/**
 * The load generator's HTTP client: one keep-alive HTTP/1.1 connection per simulated client, one request at a time,
 * responses read by Content-Length. Node's http client costs the shared CPU about as much per request as the server's
 * own handling; this does the same exchange for a fraction of it (wrk plays this part in bench/tlog), so the figures
 * say more about the server. The clients' protocol work is unchanged: fresh keys, signatures, hashes, JSON.
 */
class Connection {
  constructor(url) {
    this.url = url;
    this.socket = undefined;
    this.buffered = Buffer.alloc(0);
    this.pending = undefined;
  }

  open() {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: this.url.hostname, port: Number(this.url.port) }, () => {
        s.off('error', reject);
        resolve();
      });
      s.setNoDelay(true);
      s.once('error', reject);
      s.on('error', (e) => this.fail(e));
      s.on('close', () => {
        this.socket = undefined;
        this.buffered = Buffer.alloc(0);
        this.fail(new Error('the server closed the connection'));
      });
      s.on('data', (d) => this.read(d));
      this.socket = s;
    });
  }

  fail(e) {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  read(chunk) {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const p = this.pending;
    if (!p) return;
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffered.subarray(0, end).toString('latin1');
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) return this.fail(new Error(`response without Content-Length: ${head.split('\r\n')[0]}`));
    const len = Number(m[1]);
    if (this.buffered.length < end + 4 + len) return;
    const body = this.buffered.subarray(end + 4, end + 4 + len);
    this.buffered = this.buffered.subarray(end + 4 + len);
    this.pending = undefined;
    p.resolve({ status: Number(head.slice(9, 12)), body });
  }

  async request(path, body, contentType) {
    if (!this.socket) await this.open();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      const head = body === undefined ? `GET ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\n\r\n` : `POST ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      this.socket.write(body === undefined ? head : head + body);
    });
  }

  close() {
    this.socket?.destroy();
  }
}

const connections = [];

/** A request on client `c`'s connection. */
function request(url, c, path, body, contentType = 'application/json') {
  connections[c] ??= new Connection(url);
  return connections[c].request(path, body, contentType);
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2));
}

/**
 * Runs `op` from CLIENTS concurrent loops for WARMUP_SECONDS unmeasured (op indexes < 0), then `prepare()`, then
 * SECONDS measured; an op returns true on success.
 */
async function load(name, op, prepare) {
  const warmUntil = Date.now() + WARMUP_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; Date.now() < warmUntil; i++) await op(c, -1 - i).catch(() => undefined);
    }),
  );
  prepare?.();
  const latencies = [];
  let errors = 0;
  let firstError;
  const cpu0 = hostCpu();
  const deadline = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      let i = 0;
      while (Date.now() < deadline) {
        const s = process.hrtime.bigint();
        try {
          const ok = await op(c, i++);
          if (ok === true) latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
          else {
            errors++;
            firstError ??= ok;
          }
        } catch (e) {
          errors++;
          firstError ??= e.message;
        }
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const host = hostCpuShares(cpu0, hostCpu());
  latencies.sort((a, b) => a - b);
  return {
    name,
    clients: CLIENTS,
    warmup_seconds: WARMUP_SECONDS,
    ...(host ? { host_cpu: host } : {}),
    seconds: Number(secs.toFixed(2)),
    completed: latencies.length,
    per_second: Math.round(latencies.length / secs),
    errors,
    ...(firstError ? { first_error: String(firstError).slice(0, 200) } : {}),
    latency_ms: { p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99) },
  };
}

async function token(url, c, email) {
  const r = await request(url, c, '/dev/oidc/token', JSON.stringify({ email }));
  if (r.status !== 200) throw new Error(`dev token: HTTP ${r.status} ${r.body}`);
  return JSON.parse(r.body).id_token;
}

// SubjectPublicKeyInfo DER of a P-256 key up to its point (RFC 5480): the client writes its PEM from the point,
// because OpenSSL 3's SPKI encoder costs the shared CPU about 0.3 ms per key.
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');

/**
 * A fresh P-256 key pair: the private KeyObject and the public key's PEM. Made with ECDH rather than
 * generateKeyPairSync: on Node 20, exporting a generated key as JWK can deadlock when the export's allocation runs
 * a GC that finalizes an earlier key-generation job (the job's destructor waits on a mutex the export holds; seen
 * here after a few thousand keys, with gdb), which hung the load generator.
 */
function freshKey() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const point = ecdh.getPublicKey();
  const x = point.subarray(1, 33);
  const y = point.subarray(33);
  const d = Buffer.alloc(32);
  const scalar = ecdh.getPrivateKey();
  scalar.copy(d, 32 - scalar.length);
  const privateKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: x.toString('base64url'), y: y.toString('base64url') }, format: 'jwk' });
  const der = Buffer.concat([P256_SPKI_PREFIX, x, y]);
  return { privateKey, pem: `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PUBLIC KEY-----\n` };
}

/** One client's crypto for a full sign: a fresh key, its proof of possession, an artifact signature, the TSA request. */
function prepareSign(tok, email, artifact) {
  const { body: certBody, privateKey } = certRequest(tok, email);
  const data = Buffer.from(artifact);
  const sig = sign('sha256', data, privateKey);
  const tsBody = JSON.stringify({ artifactHash: createHash('sha256').update(sig).digest('base64'), hashAlgorithm: 'sha256' });
  return { certBody, sig, tsBody, digestHex: createHash('sha256').update(data).digest('hex') };
}

function certRequest(tok, email) {
  const { privateKey, pem } = freshKey();
  const body = JSON.stringify({
    credentials: { oidcIdentityToken: tok },
    publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: pem }, proofOfPossession: sign('sha256', Buffer.from(email), privateKey).toString('base64') },
  });
  return { body, privateKey };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-keyless-'));
  const { url, child } = await startServer(dir, { args: ['--dev'], env: { SIGNET_LOG_LEVEL: 'error' } });
  const results = [];
  try {
    const emails = Array.from({ length: CLIENTS }, (_, i) => `bench${i}@example.test`);
    const tokens = await Promise.all(emails.map((e, c) => token(url, c, e)));

    // 1. Certificate issuance: each client reuses one key (Fulcio keeps no state per key), so the figure is the CA's.
    const reqs = tokens.map((t, i) => certRequest(t, emails[i]).body);
    results.push(
      await load('signingCert', async (c) => {
        const r = await request(url, c, '/api/v2/signingCert', reqs[c]);
        return r.status === 200 || `HTTP ${r.status} ${r.body.toString().slice(0, 120)}`;
      }),
    );

    // 2. Timestamps: JSON requests as sigstore-js sends them.
    const tsBodies = Array.from({ length: CLIENTS }, (_, i) => JSON.stringify({ artifactHash: createHash('sha256').update(`sig ${i}`).digest('base64'), hashAlgorithm: 'sha256' }));
    results.push(
      await load('timestamp', async (c) => {
        const r = await request(url, c, '/api/v1/timestamp', tsBodies[c]);
        return r.status === 200 || `HTTP ${r.status}`;
      }),
    );

    // 3. Full keyless sign: fresh key + cert + signature + timestamp + log entry (with inclusion proof), twice.
    //    a) The clients' own crypto for each sign (a fresh key pair, the proof of possession, the artifact and its
    //       signature, the timestamp request) is made before the measured window, as a load generator on other
    //       machines would make it: the server's work per sign is unchanged (a new key, certificate, token and log
    //       entry every time) but the 2 shared cores are not also charged for the clients' key generation and
    //       signing (about 0.3 ms a sign). Should the prepared material run out, a client makes its own inline.
    //    b) Everything inline, as before: the clients' crypto competes with the server for the same cores.
    const fullSign = async (c, prepared) => {
      const cr = await request(url, c, '/api/v2/signingCert', prepared.certBody);
      if (cr.status !== 200) return `cert HTTP ${cr.status}`;
      const leafPem = JSON.parse(cr.body).signedCertificateEmbeddedSct.chain.certificates[0];
      const tr = await request(url, c, '/api/v1/timestamp', prepared.tsBody);
      if (tr.status !== 200) return `timestamp HTTP ${tr.status}`;
      const entry = JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: { data: { hash: { algorithm: 'sha256', value: prepared.digestHex } }, signature: { content: prepared.sig.toString('base64'), publicKey: { content: Buffer.from(leafPem).toString('base64') } } },
      });
      const lr = await request(url, c, '/api/v1/log/entries', entry);
      return lr.status === 201 || `log HTTP ${lr.status} ${lr.body.toString().slice(0, 120)}`;
    };
    const inline = (c, i) => prepareSign(tokens[c], emails[c], `artifact ${c} ${i} ${Math.random()}`);
    let fallbacks = 0;
    const stock = [];
    const full = await load(
      'full_keyless_sign',
      async (c, i) => fullSign(c, i < 0 ? inline(c, i) : (stock[c]?.pop() ?? (fallbacks++, inline(c, i)))),
      () => {
        // Before the measured window: enough for PREPARED_PER_SECOND signs a second across the clients.
        const each = Math.ceil((PREPARED_PER_SECOND * SECONDS) / CLIENTS);
        for (let c = 0; c < CLIENTS; c++) stock[c] = Array.from({ length: each }, (_, k) => inline(c, 1e9 + k));
      },
    );
    results.push({ ...full, client_crypto: 'prepared before the measured window', prepared_per_client: stock.length ? Math.ceil((PREPARED_PER_SECOND * SECONDS) / CLIENTS) : 0, inline_fallbacks: fallbacks });
    stock.length = 0;
    results.push({ ...(await load('full_keyless_sign_client_inline', async (c, i) => fullSign(c, inline(c, i)))), client_crypto: 'inline, on the same cores' });
  } finally {
    for (const conn of connections) conn?.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  console.log(
    JSON.stringify(
      {
        benchmark: 'keyless',
        machine: { cpus: os.cpus().length, node: process.version },
        note: 'server and load generator share the machine (2 cores). full_keyless_sign: the clients make their keys, proofs of possession and artifact signatures before the measured window (the server still sees a fresh key and entry every sign); full_keyless_sign_client_inline: the clients do that crypto inside the window, on the same cores. host_cpu.stealPercent is CPU time the hypervisor gave to other machines during a phase',
        results,
        targets: {
          signingCert_per_second: { target: 1000, measured: by.signingCert.per_second, met: by.signingCert.per_second >= 1000 },
          full_sign_per_second: { target: 500, measured: by.full_keyless_sign.per_second, met: by.full_keyless_sign.per_second >= 500 },
          full_sign_p95_ms: { target: 1000, measured: by.full_keyless_sign.latency_ms.p95, met: (by.full_keyless_sign.latency_ms.p95 ?? Infinity) < 1000 },
          full_sign_per_second_client_crypto_inline: { target: 500, measured: by.full_keyless_sign_client_inline.per_second, met: by.full_keyless_sign_client_inline.per_second >= 500 },
          timestamps_per_second: { target: 1000, measured: by.timestamp.per_second, met: by.timestamp.per_second >= 1000 },
        },
        peers: {
          note: 'published figures; the peers cannot run on this machine (no network, Go services)',
          sigstore_timestamp_authority: { per_second: 6481, p95_ms: 155, source: 'sigstore/timestamp-authority#1179, k6 on a laptop' },
          fulcio: { source: 'sigstore/fulcio tools/loadtest (Locust); no figure published in a reusable form' },
        },
      },
      null,
      2,
    ),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
