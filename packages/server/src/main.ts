import { createServer } from 'node:net';
import { Command } from 'commander';
import { build, VERSION } from './app.js';
import { ConfigError, loadConfig, parseDuration, type ConfigOverrides } from './config/index.js';
import { openDatabase } from './storage/db.js';
import { Registry } from './registry/index.js';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `signet-server`: load and validate the configuration, start, and stop cleanly on SIGTERM/SIGINT. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('signet-server')
    .description('Signet server: transparency log and trust services (see README.md)')
    .version(VERSION)
    .option('--config <file>', 'YAML configuration file (env SIGNET_CONFIG)')
    .option('--data <dir>', 'data directory: SQLite database, keys, admin token (default ./data; env SIGNET_DATA)')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8080; env SIGNET_LISTEN)')
    .option('--database <url>', 'sqlite:<path> or postgres://user:pass@host/db (env SIGNET_DATABASE)')
    .option('--base-url <url>', 'the URL clients use to reach this server (env SIGNET_BASE_URL)')
    .option('--dev', 'development mode: enable the built-in OIDC issuer at <base-url>/dev/oidc (never in production; env SIGNET_DEV)')
    .addHelpText('after', '\nEvery setting can also come from the YAML file or a SIGNET_* variable; flags win over variables, variables over the file.');
  let command = 'serve' as 'serve' | 'gc';
  let gcGrace: string | undefined;
  program.action(() => undefined);
  program
    .command('gc')
    .description('garbage-collect registry blobs no manifest references (older than registry.gc_grace) and abandoned uploads, print the result as JSON, and exit')
    .option('--grace <duration>', 'keep unreferenced blobs younger than this (default registry.gc_grace, 1h), e.g. 0, 30m, 2h')
    .action((o: { grace?: string }) => {
      command = 'gc';
      gcGrace = o.grace;
    });
  await program.parseAsync(argv);
  const o = program.opts<{ config?: string; data?: string; listen?: string; database?: string; baseUrl?: string; dev?: boolean }>();
  const overrides: ConfigOverrides = {};
  for (const k of ['config', 'data', 'listen', 'database', 'baseUrl'] as const) if (o[k] !== undefined) overrides[k] = o[k];
  if (o.dev) overrides.dev = true;
  if (command === 'gc') return gc(overrides, gcGrace);

  let app;
  try {
    let config = loadConfig(overrides);
    if (config.listen.port === 0) {
      // An ephemeral port is chosen before building, so the base URL (which names the log and the dev
      // issuer) carries the real port.
      const port = await freePort(config.listen.host);
      const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
      config = loadConfig({ ...overrides, listen: `${host}:${port}` });
    }
    app = await build(config);
    await app.listen({ host: config.listen.host, port: config.listen.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
    const url = config.baseUrl.replace(/:\d+$/, `:${port}`);
    if (config.dev) {
      process.stderr.write(
        `\n  !!! DEVELOPMENT MODE (--dev) !!!\n  The built-in OIDC issuer at ${url}/dev/oidc signs identity tokens for anyone.\n  Do not run this in production.\n\n`,
      );
    }
    process.stdout.write(
      `Signet ${VERSION} is listening on ${url}\n` +
        `  admin token: ${app.services.adminTokenPath} (use it as "Authorization: Bearer <token>")\n` +
        `  data: ${config.dataDir}   database: ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}\n` +
        `  try: curl ${url}/healthz   ·   API description: ${url}/openapi.json\n` +
        `  Sigstore: Fulcio, Rekor and TSA at ${url} · trust root ${url}/api/v1/trusted_root.json · TUF ${url}/tuf\n` +
        (config.dev
          ? `  sign keyless: SIGSTORE_ID_TOKEN=$(npx signet dev token --server ${url} --email you@example.com) npx signet sign-blob --server ${url} --bundle FILE.sigstore.json FILE\n`
          : ''),
    );
  } catch (e) {
    if (e instanceof ConfigError) process.stderr.write(`signet-server: ${e.message}\n`);
    else if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') process.stderr.write(`signet-server: the address is already in use: ${(e as Error).message}\n`);
    else process.stderr.write(`signet-server: cannot start: ${(e as Error).message}\n`);
    if (app) await app.close().catch(() => undefined);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `signet-server gc`: one garbage collection against the configured database and data directory. */
async function gc(overrides: ConfigOverrides, grace: string | undefined): Promise<void> {
  try {
    const config = loadConfig(overrides);
    const graceMs = grace === undefined ? config.registry.gcGraceMs : parseDuration(grace, '--grace');
    const database = await openDatabase(config.databaseUrl);
    try {
      const registry = await Registry.open({ database, dataDir: config.dataDir, baseUrl: config.baseUrl, gcGraceMs: graceMs });
      const r = await registry.gc();
      process.stdout.write(`${JSON.stringify(r)}\n`);
    } finally {
      await database.close();
    }
  } catch (e) {
    process.stderr.write(`signet-server gc: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
