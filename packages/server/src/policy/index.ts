/**
 * The policy domain: signing policies per repository glob (/api/v1/signing/policies, JSON or the seed's YAML),
 * their pure evaluation (evaluate.ts), dry runs over what the registry holds, and the verify API
 * (POST /api/v1/signing/verify). PolicyService.evaluate(repo, digest, on) is what push and pull enforcement call for
 * images (releaseGate); PolicyService.evaluateFile(file, on) for generic files (fileGate).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { ANY_ROLE, requireRole, requireUnrestrictedAdmin } from '../http/auth.js';
import { IdentityError, type Principal } from '../identity/index.js';
import type { AuditLog } from '../audit/index.js';
import { principalAllows, type GenericFiles, type Registry } from '../registry/index.js';
import { globProblem } from '../keys/index.js';
import { PolicyError } from './errors.js';
import { parsePolicy, SIGNATURE_TYPES } from './document.js';
import type { PolicyService } from './service.js';
import { verifyArtifact, verifyFile, type VerifyRequest } from './verify.js';

export { PolicyService, OCI_ARTIFACT_TYPES, MAX_DRY_RUN_TAGS, fileArtifactTypes, signatureTypesOf, type PolicyInfo, type DryRunResult, type DryRunFailure, type PolicyServiceOptions } from './service.js';
export { evaluate, evaluateRule, ruleApplies, identityGlobMatches, conditionFailure, valueAt, type Evaluation, type RuleResult, type SignatureFact, type KeyFact, type EvaluationContext } from './evaluate.js';
export { parsePolicy, SIGNATURE_TYPES, MODES, EVENTS, CERTIFICATE_EXTENSIONS, type PolicyDocument, type Rule, type Mode, type PolicyEvent, type SignatureType } from './document.js';
export { verifyArtifact, verifyFile, artifactOf, fileOf, type VerifyRequest, type VerifyResult, type VerifyCheck } from './verify.js';
export { PolicyError, type PolicyErrorCode } from './errors.js';
export { releaseGate, fileGate, describeMissing } from './enforcement.js';

/** Policy documents are small; YAML aliases are capped so a document cannot expand without bound. */
const MAX_POLICY_BYTES = 256 * 1024;
const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const;

export const policyRoutes: FastifyPluginAsync<{ policies: PolicyService; registry: Registry; files?: GenericFiles; audit: AuditLog }> = async (app, { policies, registry, files, audit }) => {
  // The seed's YAML form (application/yaml, text/yaml; also application/x-yaml), parsed into the same document as JSON.
  app.addContentTypeParser(['application/yaml', 'text/yaml', 'application/x-yaml'], { parseAs: 'string', bodyLimit: MAX_POLICY_BYTES }, (_req, body, done) => {
    try {
      const text = body as string;
      if (text.trim() === '') return done(new PolicyError('INVALID_POLICY', 'the request body is empty; a YAML policy was expected'), undefined);
      done(null, parseYaml(text, { maxAliasCount: 100, prettyErrors: false, uniqueKeys: true }) as unknown);
    } catch (e) {
      done(new PolicyError('INVALID_POLICY', `the policy is not valid YAML: ${String((e as Error).message).split('\n')[0]?.slice(0, 300)}`), undefined);
    }
  });

  const manage = (req: FastifyRequest, action: string, target: string): Promise<Principal> =>
    requireUnrestrictedAdmin(req, 'signing policies', (actor, reason) => audit.record({ actor, action, target, outcome: 'denied', details: { reason } }));
  const scope = (req: FastifyRequest): readonly string[] | undefined => requireRole(req, ANY_ROLE).repositories;
  const target = (body: unknown): string => {
    const n = (body as { name?: unknown } | null)?.name;
    return `policy-name:${typeof n === 'string' ? n.slice(0, 128) : '?'}`;
  };

  app.post('/api/v1/signing/policies', { config: { summary: 'Create a signing policy (JSON, or YAML with Content-Type application/yaml)' } }, async (req, reply) => {
    const actor = await manage(req, 'policy.create', target(req.body));
    const p = await policies.create(req.body, actor);
    return reply.status(201).header('Location', `/api/v1/signing/policies/${p.id}`).send(p);
  });

  app.get(
    '/api/v1/signing/policies',
    {
      config: { summary: 'List signing policies (?repository= those governing a repository)' },
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { repository: { type: 'string', minLength: 1, maxLength: 256 } } } },
    },
    async (req) => {
      const globs = scope(req);
      const q = req.query as { repository?: string };
      return { policies: await policies.list({ ...q, ...(globs ? { visibleTo: globs } : {}) }) };
    },
  );

  app.post(
    '/api/v1/signing/policies/dry-run',
    {
      config: { summary: 'Evaluate a policy (inline, or a stored one by id or name) against every tag and generic file the repositories it governs hold now; lists what would fail, enforces nothing' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            policy: { type: 'object' },
            id: { type: 'string', minLength: 1, maxLength: 128 },
            repositories: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 } },
          },
        },
      },
    },
    async (req) => {
      const p = requireRole(req, ANY_ROLE);
      const b = req.body as { policy?: unknown; id?: string; repositories?: string[] };
      if ((b.policy === undefined) === (b.id === undefined)) throw new PolicyError('INVALID_POLICY', 'give either policy (an inline policy document) or id (a stored policy id or name), not both or neither');
      for (const [i, g] of (b.repositories ?? []).entries()) {
        const problem = globProblem(g);
        if (problem) throw new PolicyError('INVALID_POLICY', `repositories[${i}] ${JSON.stringify(g.slice(0, 64))} ${problem}`);
      }
      const doc = b.policy !== undefined ? parsePolicy(b.policy) : await policies.get(b.id as string, p.repositories);
      return policies.dryRun(doc, { ...(b.repositories ? { only: b.repositories } : {}), canRead: (repo) => principalAllows(p, repo, 'pull') });
    },
  );

  app.get('/api/v1/signing/policies/:id', { config: { summary: 'A signing policy, by id or name' }, schema: { params: idParams } }, async (req) => {
    const globs = scope(req);
    return policies.get((req.params as { id: string }).id, globs);
  });

  app.put('/api/v1/signing/policies/:id', { config: { summary: 'Replace a signing policy (by id or name) with a new document' }, schema: { params: idParams } }, async (req) => {
    const { id } = req.params as { id: string };
    const actor = await manage(req, 'policy.update', `policy:${id}`);
    return policies.replace(id, req.body, actor);
  });

  app.delete('/api/v1/signing/policies/:id', { config: { summary: 'Delete a signing policy (by id or name); its audit history stays' }, schema: { params: idParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const actor = await manage(req, 'policy.delete', `policy:${id}`);
    await policies.delete(id, actor);
    return reply.status(204).send();
  });

  app.post(
    '/api/v1/signing/verify',
    {
      config: { summary: 'Verify an OCI artifact (repository + version or digest) or a generic file (repository + path): its verified signatures, the current state of their keys, and its policies → {valid, signer, certificate, checks, policy}' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['artifact'],
          properties: {
            artifact: {
              type: 'object',
              additionalProperties: false,
              required: ['repository'],
              properties: {
                repository: { type: 'string', minLength: 1, maxLength: 255 },
                name: { type: 'string', minLength: 1, maxLength: 255 },
                version: { type: 'string', minLength: 1, maxLength: 160 },
                digest: { type: 'string', minLength: 1, maxLength: 160 },
                // A file in a generic repository: its path inside the repository (≤ 1024 bytes once checked).
                path: { type: 'string', minLength: 1, maxLength: 4096 },
              },
            },
            signature_type: { type: 'string', enum: [...SIGNATURE_TYPES] },
            policy: { type: 'string', minLength: 1, maxLength: 128 },
          },
        },
      },
    },
    async (req) => {
      const b = req.body as VerifyRequest;
      const a = b.artifact;
      const repo = a.name !== undefined && a.path === undefined ? `${a.repository}/${a.name}` : a.repository;
      // Reader access to the repository (or a public repository / anonymous pull) is required.
      const p = req.principal;
      const info = await registry.store.repository(repo).catch(() => undefined);
      const isPublic = registry.anonymousPull || info?.visibility === 'public';
      if (!p && !isPublic) throw new IdentityError('UNAUTHENTICATED', 'this request needs a token: Authorization: Bearer <token>', { headers: { 'WWW-Authenticate': 'Bearer' } });
      if (p && !isPublic && !principalAllows(p, repo, 'pull')) {
        await audit.record({ actor: p, action: 'artifact.verify', target: `${a.path !== undefined ? 'file' : 'oci'}:${repo.slice(0, 255)}`, outcome: 'denied', details: { reason: 'the token may not read the repository' } });
        throw new IdentityError('FORBIDDEN', `this token may not read repository "${repo}"`);
      }
      if (a.path !== undefined) {
        if (!files) throw new PolicyError('INVALID_VERIFY_REQUEST', 'this server has no generic file repositories: artifact.path cannot be verified');
        return verifyFile({ policies, registry, files, audit }, b, p ?? 'anonymous');
      }
      return verifyArtifact({ policies, registry, audit }, b, p ?? 'anonymous');
    },
  );
};
