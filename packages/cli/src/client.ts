import { CliError } from './errors.js';

export interface ServerOpts {
  server?: string;
  token?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** The server URL: --server, else SIGNET_SERVER, else the local default. */
export function serverUrl(o: ServerOpts): string {
  const u = (o.server ?? process.env['SIGNET_SERVER'] ?? DEFAULT_SERVER).replace(/\/+$/, '');
  try {
    const p = new URL(u);
    if (p.protocol !== 'http:' && p.protocol !== 'https:') throw new Error();
  } catch {
    throw new CliError(`--server must be an http(s) URL (got "${u}")`);
  }
  return u;
}

/** fetch, with a network failure turned into a one-line error naming what could not be reached. */
export async function httpFetch(url: string, init: RequestInit, what: string, shown = url): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(30_000), ...init });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach the ${what} at ${shown}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
}

/** The JSON in a response text, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Calls the Signet API; non-2xx answers become one-line errors carrying the server's message. */
export async function api<T>(o: ServerOpts & { base?: string }, method: string, path: string, body?: unknown): Promise<T> {
  const base = o.base ?? serverUrl(o);
  const token = o.token === '' ? undefined : (o.token ?? process.env['SIGNET_TOKEN']);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await httpFetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }, 'server', base);
  const text = await res.text();
  const json = jsonOrUndefined(text);
  if (!res.ok) {
    const msg = (json as { message?: string } | undefined)?.message ?? (text.slice(0, 200) || res.statusText);
    const hint = res.status === 401 ? ' (pass --token or set SIGNET_TOKEN)' : '';
    throw new CliError(`the server refused ${method} ${path}: ${msg} (HTTP ${res.status})${hint}`);
  }
  return json as T;
}
