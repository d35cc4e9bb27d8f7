// Shared by the benchmarks: a real signet-server process on an ephemeral port.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SERVER = fileURLToPath(new URL('../packages/server/bin/signet-server.js', import.meta.url));

/** Starts signet-server on 127.0.0.1:0 with `dataDir`; resolves with its URL once it listens. */
export function startServer(dataDir, { args = [], env = {} } = {}) {
  // BENCH_NODE_ARGS passes flags to the server's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, SERVER, '--listen', '127.0.0.1:0', '--data', dataDir, ...args], {
    env: { ...process.env, SIGNET_LOG_LEVEL: 'warn', SIGNET_TLOG_ANONYMOUS_WRITE: 'true', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /is listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: new URL(m[1]), child });
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}
