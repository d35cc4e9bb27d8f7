// Shared by the benchmarks: a real signet-server process on an ephemeral port.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * The machine's CPU counters (Linux /proc/stat, in clock ticks), to report how much of a run the hypervisor took:
 * on a shared VM "steal" is CPU time this machine wanted but did not get, and it moves the figures more than most
 * code changes. Undefined where /proc/stat is missing.
 */
export function hostCpu() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return undefined;
  }
}

/** Shares of the machine's CPU time between two hostCpu() readings, in percent. */
export function hostCpuShares(a, b) {
  if (!a || !b) return undefined;
  const busy = b.busy - a.busy;
  const idle = b.idle - a.idle;
  const steal = b.steal - a.steal;
  const all = busy + idle + steal || 1;
  return { busyPercent: Math.round((100 * busy) / all), idlePercent: Math.round((100 * idle) / all), stealPercent: Math.round((100 * steal) / all) };
}
