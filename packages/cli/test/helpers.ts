import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '@signet/testkit';

export const BIN = fileURLToPath(new URL('../bin/signet.js', import.meta.url));

/** Runs the real `signet` binary as a user would. */
export function signet(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], { ...opts, env: { SIGNET_PASSWORD: undefined, COSIGN_PASSWORD: undefined, ...opts.env } });
}

/** A one-line error, and no stack trace. */
export function isCleanError(r: RunResult): boolean {
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
  return r.code !== 0 && errors.length === 1 && !/\n\s+at /.test(r.stderr) && !/node:internal/.test(r.stderr);
}
