import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config/index.js';
import { openDatabase, type OpenDb } from './storage/db.js';
import { SecretStore } from './storage/secrets.js';
import { installErrorBoundary } from './http/errors.js';
import { installAuth } from './http/auth.js';
import { installMetrics, installOpenApi } from './http/observability.js';
import { TokenService, identityRoutes } from './identity/index.js';
import { WorkerPool, workersPerCore } from './workers/pool.js';
import { TransparencyLog, tlogRoutes } from './tlog/index.js';
import { OidcVerifier } from './identity/oidc.js';
import { DevIssuer, devIssuerRoutes } from './identity/dev-issuer.js';
import { CertificateAuthority, caRoutes, installOidcBearerPassthrough } from './ca/index.js';
import { TimestampAuthority, tsaRoutes } from './tsa/index.js';
import { TrustService, trustRoutes, secretCreatedAt, type TrustSources } from './trust/index.js';
import { GenericFiles, Registry, Repositories, genericRoutes, registryRoutes, repositoryRoutes } from './registry/index.js';
import { SignatureIndexer, SignatureStore, artifactRoutes } from './artifacts/index.js';
import { AuditLog, auditRoutes } from './audit/index.js';
import { KeyService, keysRoutes } from './keys/index.js';
import { PolicyService, fileGate, policyRoutes, releaseGate } from './policy/index.js';

export const VERSION = '0.1.0';

export interface AppServices {
  config: ServerConfig;
  database: OpenDb;
  secrets: SecretStore;
  tokens: TokenService;
  /** Path of the bootstrap admin token file. */
  adminTokenPath: string;
  tlog: TransparencyLog;
  /** Verifies OIDC identity tokens from the configured issuers (and the dev issuer with --dev). */
  oidc: OidcVerifier;
  devIssuer?: DevIssuer;
  /** The keyless CA (Fulcio v2 API) and its internal CT log. */
  ca: CertificateAuthority;
  /** The RFC 3161 timestamp authority. */
  tsa: TimestampAuthority;
  /** trusted_root.json, signing_config and the TUF repository that serves them. */
  trust: TrustService;
  /** The OCI registry (/v2/): uploads, manifests, referrers, GC; other domains subscribe to stored manifests. */
  registry: Registry;
  /** What each signature and attestation the registry received was verified to be. */
  signatures: SignatureStore;
  /** The hash-chained audit log (record() for every domain), anchored in the transparency log. */
  audit: AuditLog;
  /** Signing keys: import, generate, rotate, revoke; trustedKeysFor() for verification and policy. */
  keys: KeyService;
  /** Signing policies: documents per repository glob, evaluate(repo, digest, on) for push and pull enforcement. */
  policies: PolicyService;
  /** The repositories table (kind, visibility) behind /api/v1/repositories. */
  repositories: Repositories;
  /** Generic file repositories (/files/): files, their detached signatures and what those were verified to be. */
  files: GenericFiles;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: AppServices;
  }
}

/**
 * Builds the Fastify app for a configuration: opens (and migrates) the database, loads the master key,
 * makes sure the bootstrap admin token exists, and registers every domain. Tests use app.inject();
 * main.ts listens. Closing the app closes the database.
 */
export async function build(config: ServerConfig): Promise<FastifyInstance> {
  const database = await openDatabase(config.databaseUrl);
  try {
    return await assemble(config, database);
  } catch (e) {
    await database.close().catch(() => undefined);
    throw e;
  }
}

async function assemble(config: ServerConfig, database: OpenDb): Promise<FastifyInstance> {
  const secrets = new SecretStore(database.db, SecretStore.loadMasterKey(config.dataDir, config.masterKey));
  const tokens = new TokenService(database.db);
  const adminTokenPath = await tokens.ensureBootstrapToken(config.dataDir);

  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'token', 'password', '*.token', '*.password'], censor: '[redacted]' },
    },
    bodyLimit: config.bodyLimit,
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Unknown fields are an error, never silently dropped.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });
  // One pool of worker threads, one per core, runs the CPU-bound work of the CA, the TSA and the log (workers/pool.ts).
  const workers = new WorkerPool({ size: workersPerCore(4), what: 'crypto' });
  const tlog = await TransparencyLog.open(database, secrets, config, app.log);
  const oidc = new OidcVerifier(config.oidcIssuers);
  let devIssuer: DevIssuer | undefined;
  if (config.dev) {
    devIssuer = await DevIssuer.create(config.baseUrl);
    oidc.addLocalIssuer({ url: devIssuer.url, audience: 'sigstore', type: 'email' }, devIssuer.keys());
    app.log.warn(`DEVELOPMENT MODE: the built-in OIDC issuer at ${devIssuer.url} signs identity tokens for anyone who asks. Never run --dev in production.`);
  }
  const ca = await CertificateAuthority.open(secrets, { baseUrl: config.baseUrl, log: app.log, workers });
  const tsa = await TimestampAuthority.open(secrets, { baseUrl: config.baseUrl, log: app.log, workers });
  const caTm = ca.trustMaterial();
  const tsaTm = tsa.trustMaterial();
  const tlogCreated = await secretCreatedAt(database, 'tlog/log-key');
  if (!tlogCreated) throw new Error('the transparency log key has no creation time');
  const sources: TrustSources = {
    baseUrl: config.baseUrl,
    tlog: { publicKey: tlog.publicKey, validFrom: tlogCreated },
    ca: { chain: caTm.caChain, validFrom: caTm.caValidFrom },
    ctlog: { publicKey: caTm.ctlogPublicKey, validFrom: caTm.ctlogValidFrom },
    tsa: { chain: tsaTm.tsaChain, validFrom: tsaTm.tsaValidFrom },
    // The dev issuer is made anew at each start: a stable start keeps the published documents unchanged.
    ...(devIssuer ? { oidcUrls: [{ url: devIssuer.url, validFrom: caTm.caValidFrom }] } : {}),
  };
  const trust = await TrustService.open({ database, secrets, log: app.log, sources });
  const registry = await Registry.open({
    database,
    dataDir: config.dataDir,
    secrets,
    baseUrl: config.baseUrl,
    anonymousPull: config.registry.anonymousPull,
    gcIntervalMs: config.registry.gcIntervalMs,
    gcGraceMs: config.registry.gcGraceMs,
    log: app.log,
  });
  const audit = await AuditLog.open({ database, secrets, tlog, log: app.log });
  const keys = new KeyService(database, secrets, audit);
  const signatures = new SignatureStore(database.db);
  const repositories = new Repositories(database.db);
  const files = new GenericFiles(database.db, registry, keys, app.log);
  // Every signature and attestation pushed to the registry is verified on arrival and recorded.
  const indexer = new SignatureIndexer({ registry, store: signatures, trust, tlog, keys, log: app.log });
  indexer.attach();
  const policies = new PolicyService({ database, keys, registry, signatures, indexer, files, audit });
  // Push and pull enforcement: the registry asks the policies before releasing a tag or serving a consumer,
  // and before recording a generic file at a path or serving it to a consumer.
  registry.gate = releaseGate(policies, audit);
  files.gate = fileGate(policies, audit);
  app.decorate('services', { config, database, secrets, tokens, adminTokenPath, tlog, oidc, ca, tsa, trust, registry, signatures, audit, keys, repositories, files, policies, ...(devIssuer ? { devIssuer } : {}) });
  installErrorBoundary(app);
  installOpenApi(app, { title: 'Signet', version: VERSION });
  installMetrics(app);
  // Before installAuth: signingCert's Bearer header is an OIDC token, not a Signet API token.
  installOidcBearerPassthrough(app);
  installAuth(app, tokens);

  let ready = false;
  app.get('/healthz', { config: { summary: 'Liveness: the process is up' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { summary: 'Readiness: the database answers and the server is not shutting down' } }, async (_req, reply) => {
    try {
      await database.db.selectFrom('api_tokens').select('id').limit(1).execute();
    } catch {
      return reply.status(503).send({ status: 'unavailable', reason: 'database' });
    }
    return ready ? { status: 'ready' } : reply.status(503).send({ status: 'starting' });
  });
  await app.register(identityRoutes, { tokens, audit });
  // Keyless entries (signed with a current certificate from this server's CA) need no API token.
  await app.register(tlogRoutes, { log: tlog, anonymousWrite: config.tlog.anonymousWrite, trustedIssuers: [ca.trustedIssuer()], workers });
  if (devIssuer) await app.register(devIssuerRoutes, { issuer: devIssuer });
  const issuers = [...config.oidcIssuers, ...(devIssuer ? [{ url: devIssuer.url, audience: 'sigstore', type: 'email' as const }] : [])];
  await app.register(caRoutes, { ca, tokens: oidc, issuers: () => issuers });
  await app.register(tsaRoutes, { tsa });
  await app.register(trustRoutes, { trust });
  await app.register(registryRoutes, { registry });
  await app.register(repositoryRoutes, { repositories, registry, files, audit, tokens });
  await app.register(genericRoutes, { files, registry, audit });
  await app.register(artifactRoutes, { registry, signatures, indexer, keys });
  await app.register(keysRoutes, { keys, audit });
  await app.register(policyRoutes, { policies, registry, files, audit });
  await app.register(auditRoutes, { audit });

  app.addHook('onReady', async () => {
    ready = true;
    audit.start(config.audit.anchorIntervalMs);
  });
  app.addHook('preClose', async () => {
    ready = false;
  });
  app.addHook('onClose', async () => {
    // Integrate whatever was sequenced before the database goes away.
    // Audit first: its queued events and a running anchor need the log and the database.
    await audit.close();
    await tlog.close();
    await workers.close();
    await database.close();
  });
  return app;
}
