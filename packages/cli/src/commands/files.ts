/**
 * `signet upload FILE REPO/PATH [--sign --key K]` and `signet download REPO/PATH [-o FILE] [--require-signature]`
 * against a Signet server's generic file repositories (/files/<repo>/<path>). Both stream: nothing is held whole in
 * memory except a file being signed. Progress bars go to stderr when it is a terminal.
 *
 * Signing policies: upload --sign stores the detached signature first, then the file ("sign, then push"), so a
 * repository whose policy refuses unsigned files accepts it. download asks the verify API
 * (POST /api/v1/signing/verify {artifact: {repository, path}}) first and refuses a file that does not satisfy its
 * repository's policy; there is no flag to skip that.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { fromHex, hashForKey, messageSignatureBundle, signData, signMinisign, signSignify, signSshSig, spkiFingerprint, toBase64, toHex } from '@signet/core';
import { CliError } from '../errors.js';
import { api, jsonOrUndefined, serverUrl, type ServerOpts } from '../client.js';
import { hashFile, readInput } from '../io.js';
import { Progress } from '../oci/progress.js';
import { loadSigningKey, type SigningKey } from '../signing-key.js';

interface FileOpts extends ServerOpts {
  output?: string;
}

const serverOptions = (c: Command): Command =>
  c
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (env SIGNET_TOKEN): publisher, signer or admin to upload; any role (or none, for a public repository) to download');

/** REPO/PATH as the URL path after /files/, each segment percent-encoded; the server splits repository and path. */
function filesPath(target: string): string {
  const t = target.replace(/^\/+/, '');
  const segs = t.split('/');
  if (segs.length < 2 || segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new CliError(`"${target}" is not REPOSITORY/PATH (e.g. releases/tool/1.0/tool.tar.gz); empty, "." and ".." segments are not allowed`);
  }
  return segs.map(encodeURIComponent).join('/');
}

function tokenOf(o: ServerOpts): string | undefined {
  return o.token === '' ? undefined : (o.token ?? process.env['SIGNET_TOKEN']);
}

/** fetch without the API helper's 30 s timeout (transfers take as long as they take), errors as one line. */
async function transfer(url: string, init: RequestInit & { duplex?: 'half' }, base: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach the server at ${base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
}

async function refusal(res: Response, what: string): Promise<CliError> {
  const text = await res.text().catch(() => '');
  const msg = (jsonOrUndefined(text) as { message?: string } | undefined)?.message ?? (text.slice(0, 200) || res.statusText);
  const hint = res.status === 401 ? ' (pass --token or set SIGNET_TOKEN)' : '';
  return new CliError(`the server refused ${what}: ${msg} (HTTP ${res.status})${hint}`);
}

class Counter extends Transform {
  constructor(private readonly progress: Progress, private readonly hash?: ReturnType<typeof createHash>) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash?.update(chunk);
    this.progress.add(chunk.length);
    cb(null, chunk);
  }
}

interface PutAnswer {
  repository: string;
  path: string;
  digest: string;
  size: number;
  created: boolean;
  signatures: { signature_path: string; kind: string; status: string; reason?: string; signer: { key_id?: string } }[];
}

/** The text of each `Warning: 299 - "…"` header (RFC 9111 §5.5) of an answer. */
function warningsOf(res: Response): string[] {
  const h = res.headers.get('warning');
  if (!h) return [];
  return [...h.matchAll(/\d{3} [^ ]+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
}

async function putStream(o: ServerOpts, target: string, body: Readable, size: number, sha256hex: string, label: string): Promise<PutAnswer & { warnings: string[] }> {
  const base = serverUrl(o);
  const token = tokenOf(o);
  const progress = new Progress(label, size);
  const res = await transfer(
    `${base}/files/${filesPath(target)}`,
    {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), 'x-checksum-sha256': sha256hex, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: Readable.toWeb(body.pipe(new Counter(progress))) as ReadableStream,
      duplex: 'half',
    },
    base,
  );
  progress.finish();
  if (!res.ok) throw await refusal(res, `PUT /files/${target}`);
  return { ...((await res.json()) as PutAnswer), warnings: warningsOf(res) };
}

/** A detached signature as `signet sign-blob --key` makes it; the suffix says its format (a bundle for PEM/cosign keys). */
async function detachedSignature(key: SigningKey, data: Uint8Array, fileName: string): Promise<{ suffix: string; bytes: Buffer }> {
  switch (key.kind) {
    case 'pkix': {
      const algorithm = hashForKey(key.privateKey) ?? 'sha256';
      const bundle = messageSignatureBundle({
        key: { hint: toBase64(fromHex(spkiFingerprint(key.publicKey))) },
        digest: { algorithm, value: new Uint8Array(createHash(algorithm).update(data).digest()) },
        signature: await signData(key.privateKey, data),
      });
      return { suffix: '.sigstore.json', bytes: Buffer.from(`${JSON.stringify(bundle)}\n`) };
    }
    case 'pgp': {
      const { signPgpDetached } = await import('@signet/core/pgp');
      const sig = await signPgpDetached(data, key.armored, { armor: true, ...(key.passphrase !== undefined ? { passphrase: key.passphrase } : {}) });
      return { suffix: '.asc', bytes: Buffer.from(sig) };
    }
    case 'ssh':
      return { suffix: '.sig', bytes: Buffer.from(await signSshSig(data, key.privateKey, { namespace: 'file' })) };
    case 'minisign':
      return { suffix: '.minisig', bytes: Buffer.from(await signMinisign(data, key.secretKey, { fileName })) };
    case 'signify':
      return { suffix: '.sig', bytes: Buffer.from(await signSignify(data, key.secretKey)) };
  }
}

interface StatusAnswer {
  repository: string;
  path: string;
  digest: string;
  size: number;
  summary: { signed: boolean; valid_signatures: number };
  signatures: { signature_path: string; kind: string; status: string; reason?: string; via?: string }[];
}

/** The verify API's answer, as far as download reads it. */
interface VerifyAnswer {
  valid: boolean;
  artifact: { repository: string; path?: string; digest: string };
  policy?: {
    allowed: boolean;
    satisfied: boolean;
    policies: string[];
    results: { policy: string; rule: string; ok: boolean; required: boolean; mode: string; missing?: string }[];
  };
}

/** The failing rules of an evaluation, as `policy "p" rule "r" (mode): missing …`. */
function failingRules(p: NonNullable<VerifyAnswer['policy']>, modes: (mode: string) => boolean): string {
  return p.results
    .filter((r) => !r.ok && r.required && modes(r.mode))
    .map((r) => `policy "${r.policy}" rule "${r.rule}" (${r.mode}): missing ${r.missing ?? 'a satisfying signature'}`)
    .join('; ');
}

export function register(program: Command): void {
  serverOptions(
    program
      .command('upload')
      .description(
        'upload a file to a generic repository (streamed, sha256 checked by the server); --sign signs it locally and uploads the detached signature ' +
          'beside it FIRST, then the file, so a repository whose signing policy refuses unsigned files accepts it. Without --sign, such a repository ' +
          'refuses the file unless a valid signature is already stored beside the path (HTTP 403 naming the policy rule and what is missing); ' +
          'warn and quarantine policies print the server\'s warnings',
      )
      .argument('<file>', 'the file to upload')
      .argument('<target>', 'REPOSITORY/PATH, e.g. releases/tool/1.0/tool.tar.gz (the repository must exist, kind generic)')
      .option('--sign', 'sign the file and upload the signature as <path>.sigstore.json, .asc, .sig or .minisig (by key kind) before the file itself')
      .option('--key <path>', 'private key for --sign: cosign .key or PKCS#8 PEM (a Sigstore bundle), OpenPGP, OpenSSH, minisign or signify'),
  ).action(async (file: string, target: string, o: FileOpts & { sign?: boolean; key?: string }) => {
    if (o.sign && !o.key) throw new CliError('--sign needs --key <private key> (keyless signing of uploads is not supported yet)');
    if (o.key && !o.sign) throw new CliError('--key is used with --sign');
    filesPath(target);
    let size: number;
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new CliError(`"${file}" is not a regular file`);
      size = st.size;
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`"${file}" cannot be read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`);
    }
    // Loaded first: a wrong key or password fails before anything is sent.
    const key = o.sign && o.key ? await loadSigningKey(o.key) : undefined;
    const sha = toHex(await hashFile(file, 'sha256'));
    // Sign, then push: the signature is stored first, so the file's PUT is judged with it already beside the path.
    let sigAt: { repository: string; path: string } | undefined;
    if (key) {
      const data = await readInput(file, 'file to sign');
      if (toHex(createHash('sha256').update(data).digest()) !== sha) throw new CliError(`"${file}" changed while it was being read; it was not signed`);
      const sig = await detachedSignature(key, data, basename(file));
      const sigTarget = `${target.replace(/^\/+/, '')}${sig.suffix}`;
      const sr = await putStream(o, sigTarget, Readable.from([sig.bytes]), sig.bytes.length, createHash('sha256').update(sig.bytes).digest('hex'), 'Uploading signature');
      sigAt = { repository: sr.repository, path: sr.path };
    }
    // The declared sha256 is the one signed: bytes that changed since are refused by the server (nothing stored).
    const up = await putStream(o, target, createReadStream(file), size, sha, `Uploading ${basename(file)}`);
    if (up.digest !== `sha256:${sha}`) throw new CliError(`the server stored ${up.digest}, not the file's sha256:${sha}`);
    process.stderr.write(`${up.created ? 'Uploaded' : 'Replaced'} ${up.repository}/${up.path} (${up.size} bytes, ${up.digest})\n`);
    if (sigAt) {
      const v = up.signatures.find((x) => x.signature_path === sigAt.path);
      process.stderr.write(`Uploaded signature ${sigAt.repository}/${sigAt.path}: ${v ? v.status + (v.reason ? ` (${v.reason})` : '') : 'not verified'}\n`);
    }
    for (const w of up.warnings) process.stderr.write(`Warning: ${w}\n`);
    process.stdout.write(`${up.digest}\n`);
  });

  serverOptions(
    program
      .command('download')
      .description(
        'download a file from a generic repository, checking its sha256 against the server\'s Digest. First asks the server\'s verify API: when ' +
          'the repository has a signing policy and the file does not satisfy it (a required enforce or quarantine rule fails), the download is ' +
          'refused and nothing is written (there is no flag to skip this); a failing warn rule prints a warning. With no policy the file is ' +
          'downloaded as is, unless --require-signature asks for a valid signature anyway',
      )
      .argument('<target>', 'REPOSITORY/PATH')
      .option('-o, --output <file>', 'where to write (default: the file name in the current directory)')
      .option('--require-signature', 'also fail, leaving no file behind, unless a valid detached signature (or signed SHA256SUMS) vouches for the file, policy or not'),
  ).action(async (target: string, o: FileOpts & { requireSignature?: boolean }) => {
    const path = filesPath(target);
    const base = serverUrl(o);
    const out = o.output ?? basename(target);
    if (out === '' || out === '-') throw new CliError('give -o <file> (writing to standard output is not supported: a refused download must leave nothing behind)');
    const status = await api<StatusAnswer>(o, 'GET', `/api/v1/artifacts/generic/${path}`);
    const verdict = await api<VerifyAnswer>(o, 'POST', '/api/v1/signing/verify', { artifact: { repository: status.repository, path: status.path } });
    if (verdict.policy && !verdict.policy.allowed) {
      throw new CliError(
        `refusing ${target}: it does not satisfy the signing policy of repository "${status.repository}": ${failingRules(verdict.policy, (m) => m !== 'warn')}; nothing was written`,
      );
    }
    if (verdict.policy && !verdict.policy.satisfied) process.stderr.write(`Warning: ${target} does not satisfy a warn-mode policy rule: ${failingRules(verdict.policy, (m) => m === 'warn')}\n`);
    if (o.requireSignature) {
      if (!status.summary.signed) {
        const why = status.signatures.length
          ? status.signatures.map((s) => `${s.signature_path}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`).join('; ')
          : 'no signature is stored beside it (.sig, .asc, .sigstore.json, .minisig) and no signed SHA256SUMS lists it';
        throw new CliError(`refusing ${target}: the repository holds no valid signature for it: ${why}`);
      }
    }
    const token = tokenOf(o);
    const res = await transfer(`${base}/files/${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }, base);
    if (!res.ok || !res.body) throw await refusal(res, `GET /files/${target}`);
    const want = (res.headers.get('x-checksum-sha256') ?? '').toLowerCase();
    const digestHeader = /sha-256=([A-Za-z0-9+/=]+)/i.exec(res.headers.get('digest') ?? '');
    const fromDigest = digestHeader ? Buffer.from(digestHeader[1] as string, 'base64').toString('hex') : '';
    const expected = fromDigest || want;
    if (!/^[0-9a-f]{64}$/.test(expected)) throw new CliError('the server sent no sha256 Digest header for the file; it cannot be checked');
    if (want && fromDigest && want !== fromDigest) throw new CliError('the server\'s Digest and X-Checksum-Sha256 headers disagree');
    const size = Number(res.headers.get('content-length') ?? 0);
    const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial`);
    const hash = createHash('sha256');
    const progress = new Progress(`Downloading ${basename(out)}`, size);
    try {
      await pipeline(Readable.fromWeb(res.body as never), new Counter(progress, hash), createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
      progress.finish();
      const got = hash.digest('hex');
      if (got !== expected) throw new CliError(`the downloaded bytes have sha256 ${got}, but the server announced ${expected}; nothing was written`);
      if (status.digest !== `sha256:${got}` || verdict.artifact.digest !== `sha256:${got}`) {
        throw new CliError(`the file changed on the server between the signature check (${verdict.artifact.digest}) and the download (sha256:${got}); nothing was written`);
      }
      await rename(tmp, out);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      if (e instanceof CliError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CliError(`cannot write "${out}": its directory does not exist`);
      throw new CliError(`downloading ${target} failed: ${(e as Error).message}`);
    }
    const policy = verdict.policy && verdict.policy.results.length > 0 ? `, policy ${verdict.policy.policies.map((p) => `"${p}"`).join(', ')} ${verdict.policy.satisfied ? 'satisfied' : 'allowed with warnings'}` : '';
    process.stderr.write(`Downloaded ${target} to ${out} (sha256:${expected}${policy}, ${status.summary.valid_signatures} valid signature(s))\n`);
  });
}
