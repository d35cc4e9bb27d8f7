import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { tempDir } from '@signet/testkit';
import { build, loadConfig, type ServerConfig } from '../dist/index.js';

export interface TestServer {
  app: FastifyInstance;
  config: ServerConfig;
  adminToken: string;
  dir: string;
}

/** A server on a fresh data directory (SQLite unless `database` is given), closed when the test ends. */
export async function testServer(t: Pick<TestContext, 'after'>, env: Record<string, string> = {}): Promise<TestServer> {
  const dir = tempDir(t, 'signet-server-');
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0' }, { SIGNET_LOG_LEVEL: 'silent', ...env });
  const app = await build(config);
  t.after(() => app.close());
  await app.ready();
  return { app, config, adminToken: readFileSync(join(dir, 'admin-token'), 'utf8').trim(), dir };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
