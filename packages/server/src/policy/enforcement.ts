/**
 * Push and pull enforcement (design: "push under policy"): the release gate the registry calls before it points a
 * tag at a manifest and before it serves a manifest to a consumer.
 * - enforce: a tag whose manifest has no satisfying signatures is refused with the seed's message; the manifest
 *   stays stored by digest, unreleased, so "sign the digest, then push the tag" succeeds.
 * - quarantine: the tag is accepted, but consumers get the artifact only once the policy is satisfied.
 * - warn: accepted, with a Warning header and an audit entry.
 * Consumers are callers without push rights on the repository; publishers and signers read what they must sign.
 */
import { RegistryError, type ReleaseGate } from '../registry/index.js';
import type { AuditLog, Actor } from '../audit/index.js';
import type { Principal } from '../identity/index.js';
import type { Evaluation } from './evaluate.js';
import type { PolicyService } from './service.js';

function missing(ev: Evaluation): string {
  return ev.results
    .filter((r) => !r.ok && r.required)
    .map((r) => `policy "${r.policy}" rule "${r.rule}": ${r.missing ?? 'not satisfied'}`)
    .join('; ');
}

/** The audit actor: the API token's principal, or the registry token's subject. */
function who(actor: string, principal: Principal | undefined): Actor {
  if (principal) return principal;
  if (actor === 'anonymous') return 'anonymous';
  return { tokenId: actor, name: `registry token of ${actor}`, role: 'reader' };
}

export function releaseGate(policies: PolicyService, audit: AuditLog): ReleaseGate {
  return {
    async beforeTag({ repo, digest, tags, actor, principal }) {
      const by = who(actor, principal);
      const ev = await policies.evaluate(repo, digest, 'push');
      if (ev.policies.length === 0) return { warnings: [] };
      const target = `oci:${repo}@${digest}`;
      const details = { tags, policies: ev.policies, mode: ev.mode, missing: missing(ev) || undefined };
      if (!ev.allowed && ev.mode === 'enforce') {
        await audit.record({ actor: by, action: 'registry.push', target, outcome: 'denied', details });
        throw new RegistryError(
          'DENIED',
          `Signature required for repository "${repo}": ${missing(ev)}. Please sign the artifact before pushing (the manifest is stored as ${digest}, unreleased: sign that digest, then push the tag again)`,
          { detail: { repository: repo, digest, policies: ev.policies } },
        );
      }
      if (!ev.allowed) {
        await audit.record({ actor: by, action: 'registry.push', target, outcome: 'quarantined', details });
        return { warnings: [`quarantined: ${repo}:${tags.join(',')} is released to consumers once ${missing(ev)}`] };
      }
      if (ev.warnings.length) {
        await audit.record({ actor: by, action: 'registry.push', target, outcome: 'warned', details: { ...details, warnings: ev.warnings } });
        return { warnings: ev.warnings };
      }
      await audit.record({ actor: by, action: 'registry.push', target, outcome: 'allowed', details: { tags, policies: ev.policies } });
      return { warnings: [] };
    },
    async beforeServe({ repo, digest, reference }) {
      const ev = await policies.evaluate(repo, digest, 'pull');
      if (ev.allowed) return;
      await audit.record({ actor: 'anonymous', action: 'registry.pull', target: `oci:${repo}@${digest}`, outcome: 'denied', details: { reference, policies: ev.policies, missing: missing(ev) } });
      throw new RegistryError('DENIED', `${repo}:${reference} is not released: ${missing(ev)}`, { detail: { repository: repo, digest, policies: ev.policies } });
    },
  };
}
