import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { api, httpFetch, jsonOrUndefined, serverUrl, type ServerOpts } from '../client.js';
import { readText } from '../io.js';

const serverOptions = (c: Command): Command =>
  c
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (env SIGNET_TOKEN): admin to change policies, any role to read them')
    .option('--output <format>', 'text or json', 'text');

type Opts = ServerOpts & { output: string };

interface Rule {
  name: string;
  artifact_types: string[];
  signature_type: string;
  required: boolean;
  trusted_keys: string[];
  key_requirements: Record<string, unknown>[];
  threshold: number;
  attestations: { predicate_type: string; conditions: unknown[] }[];
  mode: string;
  on: string[];
}
interface PolicyInfo {
  id: string;
  name: string;
  description: string;
  repositories: string[];
  rules: Rule[];
  created_at: string;
  updated_at: string;
}
interface RuleResult {
  policy: string;
  rule: string;
  ok: boolean;
  required: boolean;
  mode: string;
  signers: string[];
  missing?: string;
}
interface Evaluation {
  allowed: boolean;
  satisfied: boolean;
  mode: string | null;
  policies: string[];
  results: RuleResult[];
}
interface VerifyResult {
  valid: boolean;
  artifact: { repository: string; digest: string; tag?: string };
  signer?: { identity?: string; key_id?: string; key_name?: string; timestamp: string | null };
  certificate?: { subject: string; issuer: string | null };
  checks: { name: string; ok: boolean; detail: string }[];
  policy?: Evaluation;
}
interface DryRun {
  policy: string;
  repositories: string[];
  evaluated: number;
  failing: number;
  truncated: boolean;
  failures: { repository: string; tag?: string; path?: string; digest: string; mode: string | null; failures: { rule: string; required: boolean; missing: string }[] }[];
}

function checkOutput(o: Opts): void {
  if (o.output !== 'text' && o.output !== 'json') throw new CliError(`--output must be text or json (got "${o.output}")`);
}

/** A policy id or name as a path segment. */
function ref(v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(v)) throw new CliError(`"${v}" is not a policy name or id (see signet policy list)`);
  return encodeURIComponent(v);
}

const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** `REPO@DIGEST`, `REPO@VERSION` or `REPO:TAG` → the verify API's artifact. */
export function parseArtifact(v: string): { repository: string; version?: string; digest?: string } {
  const at = v.indexOf('@');
  let repository: string;
  let reference: string;
  if (at > 0) {
    repository = v.slice(0, at);
    reference = v.slice(at + 1);
  } else {
    const colon = v.lastIndexOf(':');
    if (colon <= v.lastIndexOf('/') || colon <= 0) throw new CliError(`"${v}" names no version: give REPO/NAME@VERSION, REPO:TAG or REPO@sha256:<digest>`);
    repository = v.slice(0, colon);
    reference = v.slice(colon + 1);
  }
  if (!repository || !reference) throw new CliError(`"${v}" is not REPO/NAME@VERSION, REPO:TAG or REPO@sha256:<digest>`);
  if (reference.startsWith('sha256:') || reference.startsWith('sha512:')) {
    if (!DIGEST.test(reference)) throw new CliError(`"${reference}" is not a sha256 or sha512 digest`);
    return { repository, digest: reference };
  }
  return { repository, version: reference };
}

/** Sends a policy file as it is: JSON, or YAML (the seed's form) for the server to parse. */
async function sendPolicy(o: Opts, method: string, path: string, text: string, json: boolean): Promise<{ status: number; body: unknown; location?: string }> {
  const base = serverUrl(o);
  const token = o.token ?? process.env['SIGNET_TOKEN'];
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': json ? 'application/json' : 'application/yaml' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  const res = await httpFetch(`${base}${path}`, { method, headers, body: text }, 'server', base);
  const body = jsonOrUndefined(await res.text());
  const location = res.headers.get('location') ?? undefined;
  return { status: res.status, body, ...(location ? { location } : {}) };
}

function refused(method: string, path: string, r: { status: number; body: unknown }): CliError {
  const msg = (r.body as { message?: string } | undefined)?.message ?? `HTTP ${r.status}`;
  return new CliError(`the server refused ${method} ${path}: ${msg} (HTTP ${r.status})${r.status === 401 ? ' (pass --token or set SIGNET_TOKEN)' : ''}`);
}

function describeRule(r: Rule): string {
  const who: string[] = [];
  if (r.trusted_keys.length) who.push(`keys ${r.trusted_keys.join(', ')}`);
  for (const k of r.key_requirements) {
    if (k['type'] === 'key') who.push('keys registered for the repository');
    else who.push(`keyless ${String(k['certificate_identity'] ?? `/${String(k['certificate_identity_regexp'])}/`)} from ${String(k['certificate_oidc_issuer'] ?? `/${String(k['certificate_oidc_issuer_regexp'])}/`)}`);
  }
  if (who.length === 0) who.push('keys registered for the repository');
  const att = r.attestations.map((a) => `${a.predicate_type}${a.conditions.length ? ` (${a.conditions.length} condition${a.conditions.length > 1 ? 's' : ''})` : ''}`);
  return `${r.name}: ${r.mode}${r.required ? '' : ', not required'}, on ${r.on.join('+')}, ${r.artifact_types.length ? r.artifact_types.join('/') : 'any type'}, ${r.signature_type} signature ${r.threshold > 1 ? `×${r.threshold} ` : ''}by ${who.join(' or ')}${att.length ? `; attestations: ${att.join(', ')}` : ''}`;
}

function printPolicy(p: PolicyInfo, o: Opts): void {
  if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
  const lines = [`id:           ${p.id}`, `name:         ${p.name}`];
  if (p.description) lines.push(`description:  ${p.description}`);
  lines.push(`repositories: ${p.repositories.join(', ')}`, `updated:      ${p.updated_at}`);
  for (const r of p.rules) lines.push(`rule          ${describeRule(r)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printEvaluation(e: Evaluation): void {
  for (const r of e.results) {
    const mark = r.ok ? 'ok  ' : r.required ? 'FAIL' : 'warn';
    process.stdout.write(`${mark} ${r.policy}/${r.rule} (${r.mode})${r.ok ? (r.signers.length ? `: ${r.signers.join(', ')}` : '') : `: missing ${r.missing ?? ''}`}\n`);
  }
}

function printVerify(v: VerifyResult): void {
  const shown = v.artifact.tag ? `${v.artifact.repository}:${v.artifact.tag}` : v.artifact.repository;
  process.stdout.write(`${v.valid ? 'Verified' : 'NOT VALID'}: ${shown}@${v.artifact.digest}\n`);
  for (const c of v.checks) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
  if (v.signer) {
    const who = v.signer.identity ?? `key "${v.signer.key_name ?? ''}" (${v.signer.key_id ?? ''})`;
    process.stdout.write(`signer: ${who}${v.certificate?.issuer ? ` (issuer ${v.certificate.issuer})` : ''}${v.signer.timestamp ? `, signed at ${v.signer.timestamp}` : ''}\n`);
  }
}

export function register(program: Command): void {
  const policy = program.command('policy').description('manage signing policies on a Signet server (apply, list, show, delete, test)');

  serverOptions(
    policy
      .command('apply')
      .description('create or replace a signing policy from a YAML or JSON file (the policy is matched by its name)')
      .requiredOption('-f, --file <file>', 'the policy file, YAML or JSON ("-" for stdin)'),
  ).action(async (o: Opts & { file: string }) => {
    checkOutput(o);
    const text = await readText(o.file, 'policy file');
    if (text.trim() === '') throw new CliError(`policy file "${o.file}" is empty`);
    const json = o.file.endsWith('.json') || text.trimStart().startsWith('{');
    const path = '/api/v1/signing/policies';
    let r = await sendPolicy(o, 'POST', path, text, json);
    let verb = 'Created';
    if (r.status === 409 && r.location?.startsWith(`${path}/`)) {
      // A policy of that name exists: replace it (PUT to the policy the server named).
      const target = r.location;
      r = await sendPolicy(o, 'PUT', target, text, json);
      verb = 'Updated';
      if (r.status !== 200) throw refused('PUT', target, r);
    } else if (r.status !== 201) {
      throw refused('POST', path, r);
    }
    const p = r.body as PolicyInfo;
    if (o.output === 'text') process.stderr.write(`${verb} policy "${p.name}" (${p.id})\n`);
    printPolicy(p, o);
  });

  serverOptions(policy.command('list').description('list signing policies').option('--repository <name>', 'only policies governing this repository')).action(
    async (o: Opts & { repository?: string }) => {
      checkOutput(o);
      const qs = o.repository ? `?repository=${encodeURIComponent(o.repository)}` : '';
      const r = await api<{ policies: PolicyInfo[] }>(o, 'GET', `/api/v1/signing/policies${qs}`);
      if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r.policies, null, 2)}\n`);
      for (const p of r.policies) {
        const modes = [...new Set(p.rules.map((x) => x.mode))].join('/');
        process.stdout.write(`${p.id}  ${p.name}  [${p.repositories.join(', ')}]  ${p.rules.length} rule${p.rules.length === 1 ? '' : 's'} (${modes})\n`);
      }
    },
  );

  serverOptions(policy.command('show').description('show one policy').argument('<policy>', 'the policy name or id')).action(async (name: string, o: Opts) => {
    checkOutput(o);
    printPolicy(await api<PolicyInfo>(o, 'GET', `/api/v1/signing/policies/${ref(name)}`), o);
  });

  serverOptions(policy.command('delete').description('delete a policy (its audit history stays)').argument('<policy>', 'the policy name or id')).action(async (name: string, o: Opts) => {
    checkOutput(o);
    await api(o, 'DELETE', `/api/v1/signing/policies/${ref(name)}`);
    if (o.output === 'json') process.stdout.write(`${JSON.stringify({ policy: name, deleted: true })}\n`);
    else process.stderr.write(`Deleted policy ${name}\n`);
  });

  serverOptions(
    policy
      .command('test')
      .description('evaluate policies without enforcing anything: one artifact (--artifact), or every tag a policy governs (dry run)')
      .option('--artifact <ref>', 'REPO@DIGEST or REPO:TAG')
      .option('--policy <name>', "the policy to apply (default: the artifact's repository's policies); alone: a dry run of this policy")
      .option('--repository <glob>', 'dry run: only these repositories (repeatable)', (v: string, prev: string[] = []) => [...prev, v]),
  ).action(async (o: Opts & { artifact?: string; policy?: string; repository?: string[] }) => {
    checkOutput(o);
    if (!o.artifact) {
      if (!o.policy) throw new CliError('give --artifact REPO@DIGEST|REPO:TAG to evaluate one artifact, or --policy NAME for a dry run over what the registry holds');
      const r = await api<DryRun>(o, 'POST', '/api/v1/signing/policies/dry-run', { id: o.policy, ...(o.repository ? { repositories: o.repository } : {}) });
      if (o.output === 'json') process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else {
        for (const f of r.failures) {
          // An image tag (repo:tag) or a generic repository's file (repo/path).
          const what = f.path !== undefined ? `${f.repository}/${f.path}` : `${f.repository}:${f.tag}`;
          for (const x of f.failures) process.stdout.write(`FAIL ${what} (${f.digest.slice(0, 19)}…) ${x.rule}: missing ${x.missing}\n`);
        }
        process.stdout.write(`policy "${r.policy}": ${r.evaluated} artifact(s) (tags and files) in ${r.repositories.length} repositor${r.repositories.length === 1 ? 'y' : 'ies'} evaluated, ${r.failing} would fail${r.truncated ? ' (stopped early: too many tags and files)' : ''}\n`);
      }
      if (r.failing > 0) throw new CliError(`${r.failing} artifact(s) would fail policy "${r.policy}"`);
      return;
    }
    const artifact = parseArtifact(o.artifact);
    const v = await api<VerifyResult>(o, 'POST', '/api/v1/signing/verify', { artifact, ...(o.policy ? { policy: o.policy } : {}) });
    if (!v.policy) throw new CliError(o.policy ? `policy "${o.policy}" has no rule for OCI artifacts` : `no signing policy governs repository "${artifact.repository}"`);
    if (o.output === 'json') process.stdout.write(`${JSON.stringify(v.policy, null, 2)}\n`);
    else printEvaluation(v.policy);
    if (!v.policy.satisfied) throw new CliError(`${o.artifact} does not satisfy ${v.policy.policies.map((p) => `"${p}"`).join(', ')} (mode ${v.policy.mode ?? 'none'}: ${v.policy.allowed ? 'would be allowed with a warning' : v.policy.mode === 'quarantine' ? 'would be held in quarantine' : 'would be rejected'})`);
  });

  serverOptions(
    program
      .command('verify-artifact')
      .description('ask the server to verify an artifact it holds: its signatures, their keys now, and its policies (exit 1 when not valid)')
      .argument('<artifact>', 'REPO/NAME@VERSION, REPO:TAG or REPO@sha256:<digest>, e.g. production/app@1.0')
      .option('--signature-type <type>', 'cosign, sigstore, gpg, ssh, minisign or any', 'any')
      .option('--policy <name>', "a policy to apply instead of the repository's own"),
  ).action(async (ref_: string, o: Opts & { signatureType: string; policy?: string }) => {
    checkOutput(o);
    const artifact = parseArtifact(ref_);
    const v = await api<VerifyResult>(o, 'POST', '/api/v1/signing/verify', { artifact, signature_type: o.signatureType, ...(o.policy ? { policy: o.policy } : {}) });
    if (o.output === 'json') process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    else printVerify(v);
    if (!v.valid) {
      const failed = v.checks.filter((c) => !c.ok);
      throw new CliError(`${ref_} is not valid: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ') || 'no trusted signature'}`);
    }
  });
}
