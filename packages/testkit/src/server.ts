import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { tempDir } from './tmp.js';

export const SERVER_BIN = fileURLToPath(new URL('../../server/bin/signet-server.js', import.meta.url));

export interface RunningServer {
  url: string;
  dataDir: string;
  adminToken: string;
  child: ChildProcess;
  /** Resolves with the exit code once the process ends. */
  exit: Promise<number | null>;
}

/**
 * Starts the real signet-server on an ephemeral loopback port with a fresh data directory (unless one
 * is given), waits for its "listening" line, and kills it when the test ends.
 */
export function startSignetServer(
  t: Pick<TestContext, 'after'>,
  opts: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? tempDir(t, 'signet-srv-');
  const child = spawn(process.execPath, [SERVER_BIN, '--listen', '127.0.0.1:0', '--data', dataDir, ...(opts.args ?? [])], {
    env: { ...process.env, SIGNET_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /is listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1] as string, dataDir, adminToken: readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(), child, exit });
    });
    child.on('exit', (code) => reject(new Error(`signet-server exited with ${code}: ${err.slice(0, 2000)}`)));
  });
}
