import { createReadStream } from 'node:fs';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { CliError } from './errors.js';

/** Files larger than this are not read whole into memory for signing or verification. */
export const MAX_IN_MEMORY = 2 * 1024 * 1024 * 1024 - 1;

export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    if (path === '-') return await readStdin();
    const st = await stat(path);
    if (st.isDirectory()) throw new CliError(`${what} "${path}" is a directory, not a file`);
    if (st.size > MAX_IN_MEMORY) throw new CliError(`${what} "${path}" is larger than 2 GiB`);
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${what} "${path}" does not exist`);
    if (code === 'EACCES') throw new CliError(`${what} "${path}" cannot be read: permission denied`);
    throw new CliError(`${what} "${path}" cannot be read: ${(e as Error).message}`);
  }
}

export async function readText(path: string, what: string): Promise<string> {
  const b = await readInput(path, what);
  return Buffer.from(b).toString('utf8');
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Writes a file; refuses to overwrite unless `force`, so no command silently destroys a key. */
export async function writeOutput(path: string, data: string | Uint8Array, opts: { mode?: number; force?: boolean; what: string }): Promise<void> {
  try {
    await writeFile(path, data, { mode: opts.mode ?? 0o644, flag: opts.force ? 'w' : 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${opts.what} "${path}" already exists; use --force to overwrite it`);
    if (code === 'ENOENT') throw new CliError(`cannot write ${opts.what} "${path}": its directory does not exist`);
    throw new CliError(`cannot write ${opts.what} "${path}": ${(e as Error).message}`);
  }
}

/** Streams a file through a hash, never holding it whole in memory. */
export async function hashFile(path: string, algorithm: 'sha256' | 'sha512'): Promise<Uint8Array> {
  const h = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`"${path}" does not exist`);
    if (code === 'EISDIR') throw new CliError(`"${path}" is a directory, not a file`);
    throw new CliError(`"${path}" cannot be read: ${(e as Error).message}`);
  }
  return new Uint8Array(h.digest());
}
