import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './errors.js';

/** SIGNET_PASSWORD, else COSIGN_PASSWORD (an empty value is a valid, empty password). */
export function passwordFromEnv(): string | undefined {
  return process.env['SIGNET_PASSWORD'] ?? process.env['COSIGN_PASSWORD'];
}

async function prompt(question: string): Promise<string> {
  // Echo is suppressed by writing the prompt ourselves and muting readline's output.
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  process.stderr.write(question);
  muted = true;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/**
 * The password for a key: from the environment, else asked on the terminal (twice when `confirm`).
 * Without a terminal and without the variables it is an error, never a silent empty password.
 */
export async function getPassword(opts: { confirm: boolean; purpose: string }): Promise<string> {
  const env = passwordFromEnv();
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) {
    throw new CliError(`a password is needed to ${opts.purpose}: set SIGNET_PASSWORD (or COSIGN_PASSWORD), or run in a terminal to be asked`);
  }
  const first = await prompt(`Enter password for private key: `);
  if (opts.confirm) {
    const again = await prompt(`Enter password for private key again: `);
    if (again !== first) throw new CliError('the passwords do not match');
  }
  return first;
}
