/**
 * Push and pull enforcement (design: "push under policy"): the release gate the registry calls before it points a
 * tag at a manifest and before it serves a manifest to a consumer.
 * - enforce: a tag whose manifest has no satisfying signatures is refused with the seed's message; the manifest
 *   stays stored by digest, unreleased, so "sign the digest, then push the tag" succeeds.
 * - quarantine: the tag is accepted, but consumers get the artifact only once the policy is satisfied.
 * - warn: accepted, with a Warning header and an audit entry.
 * Consumers are callers without push rights on the repository; publishers and signers read what they must sign.
 *
 * Generic files get the same through fileGate (GenericFiles.gate): the file's artifact types come from its name
 * (service.ts fileArtifactTypes), its facts from the detached signatures beside it. Under enforce, a PUT whose content
 * the signatures already beside the path do not satisfy is refused and nothing is recorded at the path ("sign, then
 * push": upload the signature first). Signature files and SHA256SUMS lists are exempt.
 */
import { RegistryError, type FileGate, type ReleaseGate } from '../registry/index.js';
import type { AuditLog, Actor } from '../audit/index.js';
import type { Principal } from '../identity/index.js';
import type { PolicyDocument } from './document.js';
import { PolicyError } from './errors.js';
import type { Evaluation } from './evaluate.js';
import type { PolicyService } from './service.js';

/** The failing required rules and what each misses: `policy "p" rule "r": missing …; …` (every enforcement message). */
export function describeMissing(ev: Evaluation): string {
  return ev.results
    .filter((r) => !r.ok && r.required)
    .map((r) => (r.missing ? `policy "${r.policy}" rule "${r.rule}": missing ${r.missing}` : `policy "${r.policy}" rule "${r.rule}": not satisfied`))
    .join('; ');
}

/** The audit actor: the API token's principal, or the registry token's subject. */
function who(actor: string, principal: Principal | undefined): Actor {
  if (principal) return principal;
  if (actor === 'anonymous') return 'anonymous';
  return { tokenId: actor, name: `registry token of ${actor}`, role: 'reader' };
}

/** The OCI release gate the registry calls (Registry.gate). */
export function releaseGate(policies: PolicyService, audit: AuditLog): ReleaseGate {
  return {
    async beforeTag({ repo, digest, tags, actor, principal }) {
      const by = who(actor, principal);
      const ev = await policies.evaluate(repo, digest, 'push');
      if (ev.policies.length === 0) return { warnings: [] };
      const target = `oci:${repo}@${digest}`;
      const details = { tags, policies: ev.policies, mode: ev.mode, missing: describeMissing(ev) || undefined };
      if (!ev.allowed && ev.mode === 'enforce') {
        await audit.record({ actor: by, action: 'registry.push', target, outcome: 'denied', details });
        throw new RegistryError(
          'DENIED',
          `Signature required for repository "${repo}": ${describeMissing(ev)}. Please sign the artifact before pushing (the manifest is stored as ${digest}, unreleased: sign that digest, then push the tag again)`,
          { detail: { repository: repo, digest, policies: ev.policies } },
        );
      }
      if (!ev.allowed) {
        await audit.record({ actor: by, action: 'registry.push', target, outcome: 'quarantined', details });
        return { warnings: [`quarantined: ${repo}:${tags.join(',')} is released to consumers once ${describeMissing(ev)}`] };
      }
      if (ev.warnings.length) {
        await audit.record({ actor: by, action: 'registry.push', target, outcome: 'warned', details: { ...details, warnings: ev.warnings } });
        return { warnings: ev.warnings };
      }
      await audit.record({ actor: by, action: 'registry.push', target, outcome: 'allowed', details: { tags, policies: ev.policies } });
      return { warnings: [] };
    },
    async beforeServe({ repo, digest, reference }) {
      const ev = await policies.evaluate(repo, digest, 'any', { policies: servingRules(await policies.forRepository(repo)) });
      if (ev.allowed) return;
      await audit.record({ actor: 'anonymous', action: 'registry.pull', target: `oci:${repo}@${digest}`, outcome: 'denied', details: { reference, policies: ev.policies, missing: describeMissing(ev) } });
      throw new RegistryError('DENIED', `${repo}:${reference} is not released: ${describeMissing(ev)}`, { detail: { repository: repo, digest, policies: ev.policies } });
    },
  };
}

/**
 * The rules that hold a stored image or file back from consumers: those for pull, and push rules in quarantine mode
 * (content quarantined on push is released once its signatures satisfy the rule).
 */
function servingRules(policies: PolicyDocument[]): PolicyDocument[] {
  return policies.map((p) => ({ ...p, rules: p.rules.filter((r) => r.on.includes('pull') || (r.on.includes('push') && r.mode === 'quarantine')) }));
}

/** The generic-file gate GenericFiles calls before it records a path (push) and before it serves a consumer (pull). */
export function fileGate(policies: PolicyService, audit: AuditLog): FileGate {
  return {
    async beforeStore({ file, principal, replacing, signatures }) {
      const ev = await policies.evaluateFile(file, 'push', { signatures });
      // No rule applies to this file: nothing was decided.
      if (ev.results.length === 0) return { warnings: [] };
      const by: Actor = principal ?? 'anonymous';
      const target = `file:${file.repo}/${file.path}`;
      const why = describeMissing(ev);
      const details = { digest: file.digest, size: file.size, replacing, policies: ev.policies, mode: ev.mode, missing: why || undefined };
      if (!ev.allowed && ev.mode === 'enforce') {
        await audit.record({ actor: by, action: 'file.push.refused', target, outcome: 'denied', details });
        throw new PolicyError(
          'POLICY_NOT_SATISFIED',
          `Signature required for repository "${file.repo}": ${why}. Please sign the file before pushing: upload its detached signature ` +
            `(${file.path}.asc, .sig, .sigstore.json or .minisig) first, then the file (nothing was stored at ${file.path}${replacing ? '; the file already there is unchanged' : ''})`,
        );
      }
      if (!ev.allowed) {
        await audit.record({ actor: by, action: 'file.push.quarantined', target, outcome: 'quarantined', details });
        return { warnings: [`quarantined: ${file.repo}/${file.path} is served to consumers once ${why}`] };
      }
      if (ev.warnings.length) {
        await audit.record({ actor: by, action: 'file.push.warned', target, outcome: 'warned', details: { ...details, warnings: ev.warnings } });
        return { warnings: ev.warnings };
      }
      await audit.record({ actor: by, action: 'file.push.allowed', target, outcome: 'allowed', details: { digest: file.digest, policies: ev.policies } });
      return { warnings: [] };
    },
    async beforeServe({ file, principal }) {
      const ev = await policies.evaluateFile(file, 'any', { policies: servingRules(await policies.forRepository(file.repo)) });
      if (ev.allowed) return { warnings: ev.warnings };
      const why = describeMissing(ev);
      await audit.record({ actor: principal ?? 'anonymous', action: 'file.pull.refused', target: `file:${file.repo}/${file.path}`, outcome: 'denied', details: { digest: file.digest, policies: ev.policies, mode: ev.mode, missing: why } });
      throw new PolicyError('POLICY_NOT_SATISFIED', `${file.repo}/${file.path} is not released to consumers: it does not satisfy its repository's signing policy: ${why}`);
    },
  };
}
