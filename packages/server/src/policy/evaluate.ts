/**
 * Pure policy evaluation (no I/O): the rules of the policies that govern a repository, applied to what is known
 * about an artifact's signatures and attestations (already verified cryptographically by the artifacts domain,
 * with the current state of each registered key) → which rules hold, what is missing, and what to do about it.
 *
 * - A rule applies when the event is one of its `on` events and the artifact's type is among its artifact_types
 *   (an empty list: every type). An OCI image is `oci` and `docker`; a generic file is `generic`, and also `rpm`,
 *   `deb` or `apk` when its name ends so (service.ts fileArtifactTypes).
 * - A signature counts for a rule when its kind matches signature_type and its signer is acceptable: a registered
 *   key that is valid now (never revoked, expired, deleted or not yet valid) and listed in trusted_keys (by id or
 *   name) or, with a `{type: key}` requirement, registered for the repository; or a keyless certificate whose
 *   identity, issuer and extensions match a `{type: keyless}` requirement. A rule naming no signer at all accepts
 *   the keys registered for the repository.
 * - threshold: that many distinct acceptable signers (keys by id; certificates by identity + issuer).
 * - attestations: for each, an attestation of that predicate type by an acceptable signer whose statement meets
 *   every condition.
 * - allowed is false when a required rule in enforce or quarantine mode fails; a failing warn rule only warns.
 */
import type { Condition, KeylessRequirement, Mode, PolicyDocument, PolicyEvent, Rule, SignatureType } from './document.js';
import { CERTIFICATE_EXTENSIONS } from './document.js';

/** A registered key as the policy sees it now. */
export interface KeyFact {
  id: string;
  name: string;
  /** active | rotated | revoked | expired | deleted | not_yet_valid */
  status: string;
  /** Valid now: not revoked, expired, deleted or before its notBefore. */
  usable: boolean;
  /** Its repository globs match the artifact's repository. */
  trustedForRepository: boolean;
}

/** One verified signature or attestation of the artifact. */
export interface SignatureFact {
  kind: 'signature' | 'attestation';
  /** The signature_type values it counts as (e.g. cosign and sigstore for an OCI image signature). */
  types: Exclude<SignatureType, 'any'>[];
  /** The registered key that verified it, when it was one. */
  key?: KeyFact;
  key_fingerprint?: string;
  /** Keyless: the certificate's SAN identity, OIDC issuer and Fulcio extensions (by OID). */
  identity?: string;
  issuer?: string;
  extensions?: Record<string, string>;
  predicate_type?: string;
  /** The in-toto statement of an attestation, when it could be read. */
  statement?: unknown;
  signed_at?: string;
}

export interface EvaluationContext {
  repository: string;
  /** The artifact's types, e.g. ["oci", "docker"] for an image, ["generic", "rpm"] for a generic file named *.rpm. */
  artifact_types: string[];
  /** Which rules apply: those for this event, or every rule ("any": dry runs and the verify API). */
  on: PolicyEvent | 'any';
}

export interface RuleResult {
  policy: string;
  rule: string;
  ok: boolean;
  required: boolean;
  mode: Mode;
  /** The acceptable signers found. */
  signers: string[];
  /** What is missing, when the rule does not hold. */
  missing?: string;
}

export interface Evaluation {
  /** False when a required enforce or quarantine rule fails: the enforcement point rejects or holds the artifact. */
  allowed: boolean;
  /** Every applicable required rule holds. */
  satisfied: boolean;
  /** The strictest mode among the failing required rules; null when none fails. */
  mode: Mode | null;
  policies: string[];
  results: RuleResult[];
  warnings: string[];
}

const STRICTNESS: Record<Mode, number> = { warn: 0, quarantine: 1, enforce: 2 };

/** A certificate-identity glob: `*` matches any run of characters; everything else is literal. */
export function identityGlobMatches(glob: string, value: string): boolean {
  const re = glob
    .split('*')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`, 'su').test(value);
}

const fullMatch = (re: string, value: string): boolean => {
  try {
    return new RegExp(`^(?:${re})$`, 'u').test(value);
  } catch {
    return false;
  }
};

/** Why a certificate does not meet a keyless requirement, or undefined when it does. */
function keylessMismatch(r: KeylessRequirement, f: SignatureFact): string | undefined {
  const id = f.identity ?? '';
  const iss = f.issuer ?? '';
  if (r.certificate_identity !== undefined && !identityGlobMatches(r.certificate_identity, id)) return `identity ${id} does not match ${r.certificate_identity}`;
  if (r.certificate_identity_regexp !== undefined && !fullMatch(r.certificate_identity_regexp, id)) return `identity ${id} does not match /${r.certificate_identity_regexp}/`;
  if (r.certificate_oidc_issuer !== undefined && r.certificate_oidc_issuer !== iss) return `issuer ${iss} is not ${r.certificate_oidc_issuer}`;
  if (r.certificate_oidc_issuer_regexp !== undefined && !fullMatch(r.certificate_oidc_issuer_regexp, iss)) return `issuer ${iss} does not match /${r.certificate_oidc_issuer_regexp}/`;
  for (const [name, want] of Object.entries(r.certificate_extensions ?? {})) {
    const oid = CERTIFICATE_EXTENSIONS[name];
    const got = oid ? f.extensions?.[oid] : undefined;
    if (got !== want) return `certificate extension ${name} is ${got === undefined ? 'absent' : JSON.stringify(got)}, not ${JSON.stringify(want)}`;
  }
  return undefined;
}

export function describeSigner(f: SignatureFact): string {
  if (f.key) return `key "${f.key.name}" (${f.key.id})`;
  if (f.identity) return `${f.identity} (${f.issuer ?? 'no issuer'})`;
  return f.key_fingerprint ? `unregistered key ${f.key_fingerprint}` : 'an unknown signer';
}

const signerId = (f: SignatureFact): string => (f.key ? `key:${f.key.id}` : `cert:${f.identity ?? ''}\n${f.issuer ?? ''}`);

/** Whether the signer of `f` is acceptable to `rule`; else why not. */
function acceptable(rule: Rule, f: SignatureFact): { ok: true } | { ok: false; why: string } {
  const keyReq = rule.key_requirements.some((r) => r.type === 'key');
  const keyless = rule.key_requirements.filter((r): r is KeylessRequirement => r.type === 'keyless');
  const noSignerNamed = rule.trusted_keys.length === 0 && rule.key_requirements.length === 0;
  if (f.key) {
    const k = f.key;
    const listed = rule.trusted_keys.includes(k.id) || rule.trusted_keys.includes(k.name);
    const byRepo = (keyReq || noSignerNamed) && k.trustedForRepository;
    if (!listed && !byRepo) return { ok: false, why: `${describeSigner(f)} is not trusted by this rule` };
    if (!k.usable) return { ok: false, why: `${describeSigner(f)} is ${k.status} and no longer counts` };
    return { ok: true };
  }
  if (f.identity) {
    if (keyless.length === 0) return { ok: false, why: `the keyless signature by ${describeSigner(f)} is not accepted: the rule names no keyless signer` };
    const whys = keyless.map((r) => keylessMismatch(r, f));
    if (whys.some((w) => w === undefined)) return { ok: true };
    return { ok: false, why: `the keyless signature by ${describeSigner(f)} is not accepted: ${whys.join('; ')}` };
  }
  return { ok: false, why: `${describeSigner(f)} is not a registered key` };
}

/** What a rule accepts, in words (for "missing" messages). */
function wanted(rule: Rule): string {
  const parts: string[] = [];
  if (rule.trusted_keys.length) parts.push(`key ${rule.trusted_keys.join(' or ')}`);
  if (rule.key_requirements.some((r) => r.type === 'key') || (rule.trusted_keys.length === 0 && rule.key_requirements.length === 0)) parts.push('a key registered for the repository');
  for (const r of rule.key_requirements) {
    if (r.type !== 'keyless') continue;
    const who = r.certificate_identity ?? `/${r.certificate_identity_regexp ?? ''}/`;
    const iss = r.certificate_oidc_issuer ?? `/${r.certificate_oidc_issuer_regexp ?? ''}/`;
    const ext = Object.entries(r.certificate_extensions ?? {}).map(([k, v]) => `${k}=${v}`);
    parts.push(`a keyless certificate for ${who} from ${iss}${ext.length ? ` with ${ext.join(', ')}` : ''}`);
  }
  return parts.join(' or ');
}

/** The value at a dotted path of a statement; undefined when any step is missing. */
export function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const step of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(step)) cur = cur[Number(step)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, step)) cur = (cur as Record<string, unknown>)[step];
    else return undefined;
  }
  return cur;
}

/** Why a statement fails a condition, or undefined when it meets it. */
export function conditionFailure(c: Condition, statement: unknown): string | undefined {
  const v = valueAt(statement, c.path);
  const shown = v === undefined ? 'absent' : JSON.stringify(v)?.slice(0, 200);
  if (c.equals !== undefined) return v === c.equals ? undefined : `${c.path} is ${shown}, not ${JSON.stringify(c.equals)}`;
  if (c.matches !== undefined) return typeof v === 'string' && fullMatch(c.matches, v) ? undefined : `${c.path} is ${shown}, which does not match /${c.matches}/`;
  if (c.one_of !== undefined) return c.one_of.some((x) => x === v) ? undefined : `${c.path} is ${shown}, not one of ${JSON.stringify(c.one_of)}`;
  return undefined;
}

/** Whether a rule applies: the event is one of its `on` events (or "any") and it lists none or one of the artifact's types. */
export function ruleApplies(rule: Rule, ctx: Pick<EvaluationContext, 'artifact_types' | 'on'>): boolean {
  if (ctx.on !== 'any' && !rule.on.includes(ctx.on)) return false;
  return rule.artifact_types.length === 0 || rule.artifact_types.some((t) => ctx.artifact_types.includes(t));
}

const ofType = (rule: Rule, f: SignatureFact): boolean => rule.signature_type === 'any' || f.types.includes(rule.signature_type);

export function evaluateRule(policy: string, rule: Rule, facts: readonly SignatureFact[]): RuleResult {
  const missing: string[] = [];
  const rejected: string[] = [];
  const sigs = facts.filter((f) => f.kind === 'signature' && ofType(rule, f));
  const signers = new Map<string, string>();
  for (const f of sigs) {
    const a = acceptable(rule, f);
    if (a.ok) signers.set(signerId(f), describeSigner(f));
    else rejected.push(a.why);
  }
  const typeName = rule.signature_type === 'any' ? '' : `${rule.signature_type} `;
  if (signers.size < rule.threshold) {
    const need = rule.threshold === 1 ? `a valid ${typeName}signature` : `${rule.threshold} valid ${typeName}signatures by distinct signers (found ${signers.size})`;
    missing.push(`${need} by ${wanted(rule)}${sigs.length === 0 ? `; the artifact has no valid ${typeName}signature` : ''}`);
  }
  for (const req of rule.attestations) {
    const candidates = facts.filter((f) => f.kind === 'attestation' && f.predicate_type === req.predicate_type && ofType(rule, f));
    let found = false;
    const whys: string[] = [];
    for (const f of candidates) {
      const a = acceptable(rule, f);
      if (!a.ok) {
        whys.push(a.why);
        continue;
      }
      if (f.statement === undefined && req.conditions.length > 0) {
        whys.push(`the attestation by ${describeSigner(f)} could not be read`);
        continue;
      }
      const failed = req.conditions.map((c) => conditionFailure(c, f.statement)).filter((x): x is string => x !== undefined);
      if (failed.length === 0) {
        found = true;
        break;
      }
      whys.push(`the attestation by ${describeSigner(f)}: ${failed.join('; ')}`);
    }
    if (!found) {
      missing.push(`a ${req.predicate_type} attestation by ${wanted(rule)}${req.conditions.length ? ' meeting its conditions' : ''}${candidates.length === 0 ? ' (none present)' : ` (${whys.join('; ')})`}`);
    }
  }
  const ok = missing.length === 0;
  const result: RuleResult = { policy, rule: rule.name, ok, required: rule.required, mode: rule.mode, signers: [...signers.values()] };
  if (!ok) result.missing = `${missing.join('; and ')}${rejected.length ? ` (not counted: ${[...new Set(rejected)].join('; ')})` : ''}`;
  return result;
}

/** Evaluates the policies that govern `ctx.repository` (the caller selects them) against the artifact's facts. */
export function evaluate(policies: readonly PolicyDocument[], facts: readonly SignatureFact[], ctx: EvaluationContext): Evaluation {
  const results: RuleResult[] = [];
  for (const p of policies) for (const r of p.rules) if (ruleApplies(r, ctx)) results.push(evaluateRule(p.name, r, facts));
  const failing = results.filter((r) => !r.ok && r.required);
  const mode = failing.reduce<Mode | null>((m, r) => (m === null || STRICTNESS[r.mode] > STRICTNESS[m] ? r.mode : m), null);
  const warnings = results.filter((r) => !r.ok).map((r) => `policy "${r.policy}" rule "${r.rule}"${r.required ? '' : ' (not required)'}: missing ${r.missing ?? ''}`);
  return {
    allowed: !failing.some((r) => r.mode !== 'warn'),
    satisfied: failing.length === 0,
    mode,
    policies: policies.map((p) => p.name),
    results,
    warnings,
  };
}
