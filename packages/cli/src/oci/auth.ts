/**
 * Registry credentials: Signet's own store (`signet login`), SIGNET_TOKEN, and the files Docker and Podman write
 * (containers-auth.json(5): `auths.<host>.auth` = base64 "user:password", or `identitytoken`). Credential helpers
 * (credsStore / credHelpers) are not run; when one is configured for a host and nothing else is found, the 401
 * error says so.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from '../errors.js';

export type Credential =
  | { kind: 'basic'; username: string; password: string; source: string }
  /** A Signet API token (or any registry token used as a password): Basic with it as the password, or Bearer. */
  | { kind: 'token'; token: string; source: string }
  /** Docker's identitytoken: an OAuth2 refresh token for the registry's token endpoint. */
  | { kind: 'identity'; username: string; token: string; source: string };

export interface CredentialLookup {
  credential?: Credential;
  /** A credential helper configured for the host that Signet does not run. */
  helper?: string;
}

/** $SIGNET_CONFIG_DIR, else ~/.config/signet. */
export function signetConfigDir(): string {
  return process.env['SIGNET_CONFIG_DIR'] || join(homedir(), '.config', 'signet');
}

export function signetAuthFile(): string {
  return join(signetConfigDir(), 'auth.json');
}

interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string; token?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

async function readJson(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CliError(`cannot read the credentials file ${path}: ${(e as Error).message}`);
  }
  try {
    const j = JSON.parse(text) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not an object');
    return j as AuthFile;
  } catch {
    throw new CliError(`the credentials file ${path} is not valid JSON`);
  }
}

/** Keys in auth files may be "host", "https://host", "https://host/v1/" (Docker Hub) or "host/namespace" (Podman). */
function normalizeKey(k: string): string {
  let s = k.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (s === 'index.docker.io/v1' || s === 'registry-1.docker.io' || s === 'index.docker.io') s = 'docker.io';
  return s;
}

/** The most specific entry for host/repository: "host/a/b", then "host/a", then "host". */
function pick(file: AuthFile, registry: string, repository: string | undefined): [string, NonNullable<AuthFile['auths']>[string]] | undefined {
  const host = normalizeKey(registry);
  const entries = new Map(Object.entries(file.auths ?? {}).map(([k, v]) => [normalizeKey(k), v] as const));
  const parts = repository ? repository.split('/') : [];
  for (let i = parts.length; i >= 0; i--) {
    const key = i === 0 ? host : `${host}/${parts.slice(0, i).join('/')}`;
    const v = entries.get(key);
    if (v && typeof v === 'object') return [key, v];
  }
  return undefined;
}

function decodeEntry(e: NonNullable<AuthFile['auths']>[string], source: string): Credential | undefined {
  if (typeof e.token === 'string' && e.token) return { kind: 'token', token: e.token, source };
  let username = typeof e.username === 'string' ? e.username : '';
  let password = typeof e.password === 'string' ? e.password : '';
  if (typeof e.auth === 'string' && e.auth) {
    const text = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i < 0) throw new CliError(`${source}: the "auth" entry is not base64 of user:password`);
    username = text.slice(0, i);
    password = text.slice(i + 1);
  }
  if (typeof e.identitytoken === 'string' && e.identitytoken) return { kind: 'identity', username, token: e.identitytoken, source };
  if (username || password) return { kind: 'basic', username, password, source };
  return undefined;
}

/** Where Docker and Podman keep credentials, in the order Podman reads them, then Docker's. */
export function externalAuthFiles(): string[] {
  const files: string[] = [];
  if (process.env['REGISTRY_AUTH_FILE']) files.push(process.env['REGISTRY_AUTH_FILE']);
  if (process.env['XDG_RUNTIME_DIR']) files.push(join(process.env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
  files.push(join(homedir(), '.config', 'containers', 'auth.json'));
  files.push(join(process.env['DOCKER_CONFIG'] || join(homedir(), '.docker'), 'config.json'));
  return files;
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * The credential for a registry: SIGNET_TOKEN (only for the registry at SIGNET_SERVER's host, so the token never
 * goes to another registry), then `signet login`, then Podman's and Docker's files.
 */
export async function findCredential(registry: string, repository?: string): Promise<CredentialLookup> {
  const envToken = process.env['SIGNET_TOKEN'];
  if (envToken && hostOf(process.env['SIGNET_SERVER']) === registry) return { credential: { kind: 'token', token: envToken, source: 'SIGNET_TOKEN' } };
  let helper: string | undefined;
  for (const path of [signetAuthFile(), ...externalAuthFiles()]) {
    const f = await readJson(path);
    if (!f) continue;
    const hit = pick(f, registry, repository);
    if (hit) {
      const c = decodeEntry(hit[1], `${path} (${hit[0]})`);
      if (c) return { credential: c };
    }
    helper ??= f.credHelpers?.[registry] ?? f.credHelpers?.[normalizeKey(registry)] ?? f.credsStore;
  }
  return helper ? { helper } : {};
}

async function writeStore(f: AuthFile): Promise<void> {
  const path = signetAuthFile();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(f, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Saves (replaces) the credential for a host in Signet's store, mode 0600. */
export async function saveCredential(registry: string, c: { token: string } | { username: string; password: string }): Promise<string> {
  const f = (await readJson(signetAuthFile())) ?? {};
  const auths = { ...(f.auths ?? {}) };
  auths[registry] = 'token' in c ? { token: c.token } : { auth: Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64') };
  await writeStore({ ...f, auths });
  return signetAuthFile();
}

/** Removes a host from Signet's store; false when it was not there. */
export async function removeCredential(registry: string): Promise<boolean> {
  if (!existsSync(signetAuthFile())) return false;
  const f = (await readJson(signetAuthFile())) ?? {};
  if (!f.auths || !(registry in f.auths)) return false;
  const auths = { ...f.auths };
  delete auths[registry];
  await writeStore({ ...f, auths });
  return true;
}
