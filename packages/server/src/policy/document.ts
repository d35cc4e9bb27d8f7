/**
 * The signing-policy document (the seed's YAML form, or the same as JSON) and its strict validation: every
 * field is checked, unknown fields are refused, and each error names the field by its path
 * (e.g. `rules[1].key_requirements[0].certificate_identity_regexp`).
 */
import { globProblem } from '../keys/index.js';
import { PolicyError } from './errors.js';

export const SIGNATURE_TYPES = ['cosign', 'sigstore', 'gpg', 'ssh', 'minisign', 'any'] as const;
export type SignatureType = (typeof SIGNATURE_TYPES)[number];
export const MODES = ['enforce', 'quarantine', 'warn'] as const;
export type Mode = (typeof MODES)[number];
export const EVENTS = ['push', 'pull'] as const;
export type PolicyEvent = (typeof EVENTS)[number];

/**
 * Fulcio certificate extensions a keyless requirement may pin, by the snake_case names Fulcio's OID registry
 * uses (sigstore/fulcio docs/oid-info.md), mapped to their OIDs under 1.3.6.1.4.1.57264.1.
 */
export const CERTIFICATE_EXTENSIONS: Record<string, string> = {
  github_workflow_trigger: '1.3.6.1.4.1.57264.1.2',
  github_workflow_sha: '1.3.6.1.4.1.57264.1.3',
  github_workflow_name: '1.3.6.1.4.1.57264.1.4',
  github_workflow_repository: '1.3.6.1.4.1.57264.1.5',
  github_workflow_ref: '1.3.6.1.4.1.57264.1.6',
  build_signer_uri: '1.3.6.1.4.1.57264.1.9',
  build_signer_digest: '1.3.6.1.4.1.57264.1.10',
  runner_environment: '1.3.6.1.4.1.57264.1.11',
  source_repository_uri: '1.3.6.1.4.1.57264.1.12',
  source_repository_digest: '1.3.6.1.4.1.57264.1.13',
  source_repository_ref: '1.3.6.1.4.1.57264.1.14',
  source_repository_identifier: '1.3.6.1.4.1.57264.1.15',
  source_repository_owner_uri: '1.3.6.1.4.1.57264.1.16',
  source_repository_owner_identifier: '1.3.6.1.4.1.57264.1.17',
  build_config_uri: '1.3.6.1.4.1.57264.1.18',
  build_config_digest: '1.3.6.1.4.1.57264.1.19',
  build_trigger: '1.3.6.1.4.1.57264.1.20',
  run_invocation_uri: '1.3.6.1.4.1.57264.1.21',
  source_repository_visibility_at_signing: '1.3.6.1.4.1.57264.1.22',
  deployment_environment: '1.3.6.1.4.1.57264.1.23',
};

export interface KeylessRequirement {
  type: 'keyless';
  /** A glob: `*` matches any run of characters (e.g. `*@example.com`). */
  certificate_identity?: string;
  certificate_identity_regexp?: string;
  certificate_oidc_issuer?: string;
  certificate_oidc_issuer_regexp?: string;
  /** Extension name (CERTIFICATE_EXTENSIONS) → exact value. */
  certificate_extensions?: Record<string, string>;
}

/** Any key registered (keys API) for the repository, valid now. */
export interface KeyRequirement {
  type: 'key';
}

export type SignerRequirement = KeylessRequirement | KeyRequirement;

export type Scalar = string | number | boolean;

export interface Condition {
  /** Dotted path into the in-toto statement, e.g. `predicate.builder.id`. */
  path: string;
  equals?: Scalar;
  /** A regular expression the whole value must match. */
  matches?: string;
  one_of?: Scalar[];
}

export interface AttestationRequirement {
  predicate_type: string;
  conditions: Condition[];
}

export interface Rule {
  name: string;
  /**
   * Empty: every artifact type. An OCI image is `oci` and `docker`; every generic file is `generic`, and `.rpm`,
   * `.deb` and `.apk` files are also `rpm`, `deb` and `apk` (so ["docker", "oci"] governs no file).
   */
  artifact_types: string[];
  signature_type: SignatureType;
  required: boolean;
  /** Registered key ids (or key names, which survive rotation). */
  trusted_keys: string[];
  key_requirements: SignerRequirement[];
  /** Distinct acceptable signers needed (k of n). */
  threshold: number;
  attestations: AttestationRequirement[];
  mode: Mode;
  on: PolicyEvent[];
}

export interface PolicyDocument {
  name: string;
  description: string;
  repositories: string[];
  rules: Rule[];
}

export const MAX_POLICY_NAME = 128;
export const MAX_DESCRIPTION = 4096;
export const MAX_RULES = 64;
export const MAX_LIST = 100;
export const MAX_STRING = 1024;
export const MAX_THRESHOLD = 100;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ARTIFACT_TYPE = /^[a-z0-9][a-z0-9._+-]{0,63}$/;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*|\.\d{1,4})*$/;

const bad = (field: string, msg: string): never => {
  throw new PolicyError('INVALID_POLICY', `${field} ${msg}`);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fields(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) bad(field, 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(field, `has an unknown field "${k.slice(0, 64)}" (allowed: ${allowed.join(', ')})`);
  return o;
}

function str(v: unknown, field: string, opts: { max?: number; min?: number; pattern?: RegExp; hint?: string; multiline?: boolean } = {}): string {
  const max = opts.max ?? MAX_STRING;
  if (typeof v !== 'string') return bad(field, 'must be a string');
  if (v.length < (opts.min ?? 1) || v.length > max) bad(field, `must be ${opts.min ?? 1} to ${max} characters`);
  if ((opts.multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/).test(v)) bad(field, 'may not hold control characters');
  if (opts.pattern && !opts.pattern.test(v)) bad(field, opts.hint ?? `must match ${opts.pattern.source}`);
  return v;
}

function list(v: unknown, field: string, max = MAX_LIST): unknown[] {
  if (!Array.isArray(v)) return bad(field, 'must be a list');
  if (v.length > max) bad(field, `may hold at most ${max} entries`);
  return v;
}

function regexp(v: unknown, field: string): string {
  const s = str(v, field);
  try {
    new RegExp(`^(?:${s})$`, 'u');
  } catch (e) {
    bad(field, `is not a valid regular expression: ${(e as Error).message}`);
  }
  return s;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) bad(field, `must be one of ${values.join(', ')}`);
  return v as T;
}

const scalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function requirement(v: unknown, field: string): SignerRequirement {
  if (!isObject(v)) bad(field, 'must be an object');
  const type = oneOf((v as Record<string, unknown>)['type'], `${field}.type`, ['keyless', 'key'] as const);
  if (type === 'key') {
    fields(v, field, ['type']);
    return { type: 'key' };
  }
  const o = fields(v, field, ['type', 'certificate_identity', 'certificate_identity_regexp', 'certificate_oidc_issuer', 'certificate_oidc_issuer_regexp', 'certificate_extensions']);
  const r: KeylessRequirement = { type: 'keyless' };
  if (o['certificate_identity'] !== undefined && o['certificate_identity_regexp'] !== undefined) bad(field, 'gives both certificate_identity and certificate_identity_regexp; give one');
  if (o['certificate_oidc_issuer'] !== undefined && o['certificate_oidc_issuer_regexp'] !== undefined) bad(field, 'gives both certificate_oidc_issuer and certificate_oidc_issuer_regexp; give one');
  if (o['certificate_identity'] !== undefined) r.certificate_identity = str(o['certificate_identity'], `${field}.certificate_identity`);
  if (o['certificate_identity_regexp'] !== undefined) r.certificate_identity_regexp = regexp(o['certificate_identity_regexp'], `${field}.certificate_identity_regexp`);
  if (o['certificate_oidc_issuer'] !== undefined) r.certificate_oidc_issuer = str(o['certificate_oidc_issuer'], `${field}.certificate_oidc_issuer`);
  if (o['certificate_oidc_issuer_regexp'] !== undefined) r.certificate_oidc_issuer_regexp = regexp(o['certificate_oidc_issuer_regexp'], `${field}.certificate_oidc_issuer_regexp`);
  if (r.certificate_identity === undefined && r.certificate_identity_regexp === undefined) {
    bad(field, 'must name the signer: certificate_identity (a glob such as "*@example.com") or certificate_identity_regexp');
  }
  if (r.certificate_oidc_issuer === undefined && r.certificate_oidc_issuer_regexp === undefined) {
    bad(field, 'must name the OIDC issuer: certificate_oidc_issuer or certificate_oidc_issuer_regexp');
  }
  if (o['certificate_extensions'] !== undefined) {
    const ext = o['certificate_extensions'];
    if (!isObject(ext)) bad(`${field}.certificate_extensions`, 'must be an object of extension name → value');
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(ext as Record<string, unknown>)) {
      if (!Object.hasOwn(CERTIFICATE_EXTENSIONS, k)) bad(`${field}.certificate_extensions`, `has an unknown extension "${k.slice(0, 64)}" (known: ${Object.keys(CERTIFICATE_EXTENSIONS).join(', ')})`);
      out[k] = str(x, `${field}.certificate_extensions.${k}`);
    }
    r.certificate_extensions = out;
  }
  return r;
}

function condition(v: unknown, field: string): Condition {
  const o = fields(v, field, ['path', 'equals', 'matches', 'one_of']);
  const c: Condition = { path: str(o['path'], `${field}.path`, { max: 256, pattern: PATH, hint: 'must be a dotted path such as predicate.builder.id' }) };
  const tests = ['equals', 'matches', 'one_of'].filter((k) => o[k] !== undefined);
  if (tests.length !== 1) bad(field, 'must give exactly one of equals, matches or one_of');
  if (o['equals'] !== undefined) {
    if (!scalar(o['equals'])) bad(`${field}.equals`, 'must be a string, number or boolean');
    c.equals = o['equals'] as Scalar;
  }
  if (o['matches'] !== undefined) c.matches = regexp(o['matches'], `${field}.matches`);
  if (o['one_of'] !== undefined) {
    const xs = list(o['one_of'], `${field}.one_of`);
    if (xs.length === 0) bad(`${field}.one_of`, 'may not be empty');
    xs.forEach((x, i) => {
      if (!scalar(x)) bad(`${field}.one_of[${i}]`, 'must be a string, number or boolean');
    });
    c.one_of = xs as Scalar[];
  }
  return c;
}

function rule(v: unknown, field: string): Rule {
  const o = fields(v, field, ['name', 'artifact_types', 'signature_type', 'required', 'trusted_keys', 'key_requirements', 'threshold', 'attestations', 'mode', 'on']);
  const name = str(o['name'], `${field}.name`, { max: MAX_POLICY_NAME, pattern: NAME, hint: 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"' });
  const at = `${field} ("${name}")`;
  const artifactTypes = o['artifact_types'] === undefined ? [] : list(o['artifact_types'], `${at}.artifact_types`).map((x, i) => str(x, `${at}.artifact_types[${i}]`, { max: 64, pattern: ARTIFACT_TYPE, hint: 'must be a lowercase type such as oci, docker, generic, rpm or deb' }));
  const signatureType = o['signature_type'] === undefined ? 'any' : oneOf(o['signature_type'], `${at}.signature_type`, SIGNATURE_TYPES);
  if (o['required'] !== undefined && typeof o['required'] !== 'boolean') bad(`${at}.required`, 'must be true or false');
  const trustedKeys = o['trusted_keys'] === undefined ? [] : list(o['trusted_keys'], `${at}.trusted_keys`).map((x, i) => str(x, `${at}.trusted_keys[${i}]`, { max: 128 }));
  const keyReqs = o['key_requirements'] === undefined ? [] : list(o['key_requirements'], `${at}.key_requirements`, 32).map((x, i) => requirement(x, `${at}.key_requirements[${i}]`));
  const attestations = o['attestations'] === undefined ? [] : list(o['attestations'], `${at}.attestations`, 32).map((x, i) => {
    const f = `${at}.attestations[${i}]`;
    const a = fields(x, f, ['predicate_type', 'conditions']);
    const conditions = a['conditions'] === undefined ? [] : list(a['conditions'], `${f}.conditions`, 32).map((c, j) => condition(c, `${f}.conditions[${j}]`));
    return { predicate_type: str(a['predicate_type'], `${f}.predicate_type`), conditions };
  });
  let threshold = 1;
  if (o['threshold'] !== undefined) {
    const t = o['threshold'];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_THRESHOLD) bad(`${at}.threshold`, `must be an integer from 0 to ${MAX_THRESHOLD}`);
    threshold = t as number;
  }
  if (threshold === 0 && attestations.length === 0) bad(`${at}.threshold`, 'may be 0 only when the rule requires attestations');
  if (keyReqs.length === 0 && trustedKeys.length > 0 && threshold > new Set(trustedKeys).size) {
    bad(`${at}.threshold`, `is ${threshold}, more than the ${new Set(trustedKeys).size} trusted_keys that could sign`);
  }
  const mode = o['mode'] === undefined ? 'enforce' : oneOf(o['mode'], `${at}.mode`, MODES);
  let on: PolicyEvent[] = ['push', 'pull'];
  if (o['on'] !== undefined) {
    const xs = list(o['on'], `${at}.on`, 2).map((x, i) => oneOf(x, `${at}.on[${i}]`, EVENTS));
    if (xs.length === 0) bad(`${at}.on`, 'may not be empty (push, pull or both)');
    on = [...new Set(xs)];
  }
  return {
    name,
    artifact_types: [...new Set(artifactTypes)],
    signature_type: signatureType,
    required: o['required'] === undefined ? true : (o['required'] as boolean),
    trusted_keys: [...new Set(trustedKeys)],
    key_requirements: keyReqs,
    threshold,
    attestations,
    mode,
    on,
  };
}

/** Validates a policy document (parsed JSON or YAML) and fills in the defaults; throws INVALID_POLICY naming the field. */
export function parsePolicy(v: unknown): PolicyDocument {
  const o = fields(v, 'policy', ['name', 'description', 'repositories', 'rules']);
  const name = str(o['name'], 'name', { max: MAX_POLICY_NAME, pattern: NAME, hint: 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"' });
  const description = o['description'] === undefined ? '' : str(o['description'], 'description', { min: 0, max: MAX_DESCRIPTION, multiline: true });
  const repositories = list(o['repositories'] ?? bad('repositories', 'is required: the repository globs the policy governs, e.g. ["production/*"]'), 'repositories').map((g, i) => {
    const s = str(g, `repositories[${i}]`, { max: 256 });
    const p = globProblem(s);
    if (p) bad(`repositories[${i}] ${JSON.stringify(s.slice(0, 64))}`, p);
    return s;
  });
  if (repositories.length === 0) bad('repositories', 'may not be empty');
  const rules = list(o['rules'] ?? bad('rules', 'is required'), 'rules', MAX_RULES).map((r, i) => rule(r, `rules[${i}]`));
  if (rules.length === 0) bad('rules', 'may not be empty');
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.name)) bad('rules', `has two rules named "${r.name}"`);
    names.add(r.name);
  }
  return { name, description, repositories: [...new Set(repositories)], rules };
}
