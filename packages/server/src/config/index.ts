import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';

export { ConfigError } from './errors.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const OIDC_ISSUER_TYPES = ['email', 'github-workflow', 'gitlab-pipeline', 'ci-provider', 'uri', 'username'] as const;

export interface OidcIssuerSetting {
  url: string;
  audience: string;
  type: (typeof OIDC_ISSUER_TYPES)[number];
}

export interface ServerConfig {
  listen: { host: string; port: number };
  /** Directory for SQLite, blobs, keys and the bootstrap admin token. */
  dataDir: string;
  /** `sqlite:<path>` (default `<dataDir>/signet.db`) or `postgres://…`. */
  databaseUrl: string;
  /** The URL clients use to reach this server; names the log in checkpoints. */
  baseUrl: string;
  logLevel: LogLevel;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Master key for private keys at rest: base64 of 32 bytes; when unset, `<dataDir>/master.key` is used (made at first start). */
  masterKey?: string;
  /** OIDC issuers whose ID tokens the keyless CA accepts. */
  oidcIssuers: OidcIssuerSetting[];
  /** Development mode: the built-in OIDC issuer at <base_url>/dev/oidc signs tokens for anyone. Never in production. */
  dev: boolean;
  tlog: {
    /** Let clients without a token write to the log, as the public Rekor does. */
    anonymousWrite: boolean;
    /** Entries integrated per batch at most. */
    batchSize: number;
    /** How long the first entry of a burst waits for others to join its batch (while busy, batches follow each other at once). */
    batchMaxAgeMs: number;
    /** Sequenced-but-unintegrated entries above which writes get 503 + Retry-After. */
    maxPending: number;
  };
  registry: {
    /** Anyone may pull from every repository (tokens are still needed to push). */
    anonymousPull: boolean;
    /** Milliseconds between garbage collections; 0 disables the timer. */
    gcIntervalMs: number;
    /** Unreferenced blobs younger than this (ms) are kept: an image being pushed has its blobs before its manifest. */
    gcGraceMs: number;
  };
  audit: {
    /** Milliseconds between anchorings of the audit chain head in the transparency log; 0 = only on demand. */
    anchorIntervalMs: number;
  };
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Keys accepted in the YAML file (snake_case), with their env overrides. */
const FILE_KEYS = {
  listen: 'SIGNET_LISTEN',
  data: 'SIGNET_DATA',
  database: 'SIGNET_DATABASE',
  base_url: 'SIGNET_BASE_URL',
  log_level: 'SIGNET_LOG_LEVEL',
  body_limit: 'SIGNET_BODY_LIMIT',
  master_key: 'SIGNET_MASTER_KEY',
  oidc_issuers: '',
  dev: 'SIGNET_DEV',
  tlog: '',
  registry: '',
  audit: '',
} as const;
const TLOG_KEYS = {
  anonymous_write: 'SIGNET_TLOG_ANONYMOUS_WRITE',
  batch_size: 'SIGNET_TLOG_BATCH_SIZE',
  batch_max_age_ms: 'SIGNET_TLOG_BATCH_MAX_AGE_MS',
  max_pending: 'SIGNET_TLOG_MAX_PENDING',
} as const;

const AUDIT_KEYS = {
  anchor_interval: 'SIGNET_AUDIT_ANCHOR_INTERVAL',
} as const;

const REGISTRY_KEYS = {
  anonymous_pull: 'SIGNET_REGISTRY_ANONYMOUS_PULL',
  gc_interval: 'SIGNET_REGISTRY_GC_INTERVAL',
  gc_grace: 'SIGNET_REGISTRY_GC_GRACE',
} as const;

export interface ConfigOverrides {
  config?: string;
  data?: string;
  listen?: string;
  database?: string;
  baseUrl?: string;
  dev?: boolean;
}

function parseIssuers(v: unknown, where: string): OidcIssuerSetting[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`${where} must be a list of {url, audience?, type?}`);
  return v.map((item: unknown, i) => {
    const o = item as Record<string, unknown> | null;
    const at = `${where}[${i}]`;
    if (!o || typeof o !== 'object') throw new ConfigError(`${at} must be a mapping with url, audience and type`);
    for (const k of Object.keys(o)) if (!['url', 'audience', 'type'].includes(k)) throw new ConfigError(`${at}: unknown setting "${k}" (known: url, audience, type)`);
    const url = o['url'];
    if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) throw new ConfigError(`${at}.url must be the issuer's http(s) URL`);
    const type = o['type'] ?? 'email';
    if (typeof type !== 'string' || !(OIDC_ISSUER_TYPES as readonly string[]).includes(type)) throw new ConfigError(`${at}.type must be one of ${OIDC_ISSUER_TYPES.join(', ')}`);
    const audience = o['audience'] ?? 'sigstore';
    if (typeof audience !== 'string' || audience === '') throw new ConfigError(`${at}.audience must be a non-empty string`);
    return { url: url.replace(/\/+$/, ''), audience, type: type as OidcIssuerSetting['type'] };
  });
}

function parseListen(v: string, where: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${where}: listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got ${JSON.stringify(v)})`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

function parseIntField(v: unknown, where: string, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`${where} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

function parseBool(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`${where} must be true or false (got ${JSON.stringify(v)})`);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as "24h", "90m", "1h30m", "45s", "500ms" or 0 (a bare number is seconds); returns milliseconds. */
export function parseDuration(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v * 1000;
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^\d+$/.test(s)) return Number(s) * 1000;
    if (/^(\d+(ms|s|m|h|d))+$/.test(s)) {
      let ms = 0;
      for (const m of s.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
      if (Number.isSafeInteger(ms)) return ms;
    }
  }
  throw new ConfigError(`${where} must be a duration such as 24h, 30m, 90s or 0 (got ${JSON.stringify(v)})`);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${where} must be a non-empty string`);
  return v;
}

/**
 * Builds the configuration: defaults, then the YAML file, then SIGNET_* variables, then command-line
 * flags. Every value is validated; the first problem is reported naming where it came from.
 */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  let file: Record<string, unknown> = {};
  const fileName = overrides.config ?? env['SIGNET_CONFIG'];
  if (fileName) {
    let text: string;
    try {
      text = readFileSync(fileName, 'utf8');
    } catch (e) {
      throw new ConfigError(`config file ${fileName} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (e) {
      throw new ConfigError(`config file ${fileName} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`config file ${fileName} must be a mapping of settings`);
    }
    file = (parsed ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(file)) {
      if (!(k in FILE_KEYS)) throw new ConfigError(`config file ${fileName}: unknown setting "${k}" (known: ${Object.keys(FILE_KEYS).join(', ')})`);
    }
    const t = file['tlog'];
    if (t !== undefined && (typeof t !== 'object' || t === null || Array.isArray(t))) throw new ConfigError(`config file ${fileName}: tlog must be a mapping`);
    for (const k of Object.keys((t ?? {}) as object)) {
      if (!(k in TLOG_KEYS)) throw new ConfigError(`config file ${fileName}: unknown setting "tlog.${k}" (known: ${Object.keys(TLOG_KEYS).join(', ')})`);
    }
    const r = file['registry'];
    if (r !== undefined && r !== null && (typeof r !== 'object' || Array.isArray(r))) throw new ConfigError(`config file ${fileName}: registry must be a mapping`);
    for (const k of Object.keys((r ?? {}) as object)) {
      if (!(k in REGISTRY_KEYS)) throw new ConfigError(`config file ${fileName}: unknown setting "registry.${k}" (known: ${Object.keys(REGISTRY_KEYS).join(', ')})`);
    }
    const au = file['audit'];
    if (au !== undefined && au !== null && (typeof au !== 'object' || Array.isArray(au))) throw new ConfigError(`config file ${fileName}: audit must be a mapping`);
    for (const k of Object.keys((au ?? {}) as object)) {
      if (!(k in AUDIT_KEYS)) throw new ConfigError(`config file ${fileName}: unknown setting "audit.${k}" (known: ${Object.keys(AUDIT_KEYS).join(', ')})`);
    }
  }
  const src = fileName ? `config file ${fileName}` : 'config';
  const pick = (key: keyof typeof FILE_KEYS, flag?: string): { value: unknown; where: string } => {
    if (flag !== undefined) return { value: flag, where: `--${key.replace('_', '-')}` };
    const envName = FILE_KEYS[key];
    if (envName && env[envName] !== undefined) return { value: env[envName], where: envName };
    return { value: file[key], where: `${src}: ${key}` };
  };
  const tfile = (file['tlog'] ?? {}) as Record<string, unknown>;
  const pickT = (key: keyof typeof TLOG_KEYS): { value: unknown; where: string } => {
    const envName = TLOG_KEYS[key];
    if (env[envName] !== undefined) return { value: env[envName], where: envName };
    return { value: tfile[key], where: `${src}: tlog.${key}` };
  };

  const rfile = (file['registry'] ?? {}) as Record<string, unknown>;
  const pickR = (key: keyof typeof REGISTRY_KEYS): { value: unknown; where: string } => {
    const envName = REGISTRY_KEYS[key];
    if (env[envName] !== undefined) return { value: env[envName], where: envName };
    return { value: rfile[key], where: `${src}: registry.${key}` };
  };

  const afile = (file['audit'] ?? {}) as Record<string, unknown>;
  const ai = env[AUDIT_KEYS.anchor_interval] !== undefined
    ? { value: env[AUDIT_KEYS.anchor_interval], where: AUDIT_KEYS.anchor_interval }
    : { value: afile['anchor_interval'], where: `${src}: audit.anchor_interval` };
  const anchorIntervalMs = ai.value === undefined ? 600_000 : parseDuration(ai.value, ai.where);
  if (anchorIntervalMs > 2_147_483_647) throw new ConfigError(`${ai.where} may be at most 24 days (or 0 for on demand only)`);

  const l = pick('listen', overrides.listen);
  const listen = l.value === undefined ? { host: '127.0.0.1', port: 8080 } : parseListen(str(l.value, l.where), l.where);
  const d = pick('data', overrides.data);
  const dataDir = resolve(d.value === undefined ? 'data' : str(d.value, d.where));
  const db = pick('database', overrides.database);
  let databaseUrl = db.value === undefined ? `sqlite:${resolve(dataDir, 'signet.db')}` : str(db.value, db.where);
  if (databaseUrl.startsWith('sqlite:')) {
    const p = databaseUrl.slice('sqlite:'.length);
    if (p === '') throw new ConfigError(`${db.where}: sqlite: needs a file path`);
    databaseUrl = `sqlite:${isAbsolute(p) || p === ':memory:' ? p : resolve(p)}`;
  } else if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`${db.where}: database must be sqlite:<path> or postgres://… (got ${JSON.stringify(databaseUrl.replace(/\/\/[^@/]*@/, '//***@'))})`);
  }
  const hostForUrl = listen.host.includes(':') ? `[${listen.host}]` : listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host;
  const bu = pick('base_url', overrides.baseUrl);
  const baseUrl = (bu.value === undefined ? `http://${hostForUrl}:${listen.port}` : str(bu.value, bu.where)).replace(/\/+$/, '');
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ConfigError(`${bu.where}: base_url must be an http(s) URL (got ${JSON.stringify(baseUrl)})`);
  }
  const ll = pick('log_level');
  const logLevel = (ll.value ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`${ll.where}: log_level must be one of ${LOG_LEVELS.join(', ')}`);
  const bl = pick('body_limit');
  const bodyLimit = bl.value === undefined ? 4 << 20 : parseIntField(bl.value, bl.where, 1024, 1 << 30);
  const mk = pick('master_key');
  let masterKey: string | undefined;
  if (mk.value !== undefined) {
    masterKey = str(mk.value, mk.where);
    if (Buffer.from(masterKey, 'base64').length !== 32) throw new ConfigError(`${mk.where}: master_key must be base64 of 32 bytes`);
  }
  const oi = pick('oidc_issuers');
  const oidcIssuers = parseIssuers(oi.value, oi.where);
  const dv = overrides.dev ? { value: true, where: '--dev' } : pick('dev');
  const dev = dv.value === undefined ? false : parseBool(dv.value, dv.where);
  const aw = pickT('anonymous_write');
  const bs = pickT('batch_size');
  const ba = pickT('batch_max_age_ms');
  const mp = pickT('max_pending');
  const ap = pickR('anonymous_pull');
  const gi = pickR('gc_interval');
  const gg = pickR('gc_grace');
  const gcIntervalMs = gi.value === undefined ? 86_400_000 : parseDuration(gi.value, gi.where);
  // setTimeout holds at most 2^31-1 ms (about 24.8 days).
  if (gcIntervalMs > 2_147_483_647) throw new ConfigError(`${gi.where} may be at most 24 days (or 0 to disable)`);
  return {
    listen,
    dataDir,
    databaseUrl,
    baseUrl,
    logLevel,
    bodyLimit,
    ...(masterKey ? { masterKey } : {}),
    oidcIssuers,
    dev,
    tlog: {
      anonymousWrite: aw.value === undefined ? false : parseBool(aw.value, aw.where),
      batchSize: bs.value === undefined ? 256 : parseIntField(bs.value, bs.where, 1, 65536),
      batchMaxAgeMs: ba.value === undefined ? 2 : parseIntField(ba.value, ba.where, 0, 60_000),
      maxPending: mp.value === undefined ? 4096 : parseIntField(mp.value, mp.where, 1, 1_000_000),
    },
    registry: {
      anonymousPull: ap.value === undefined ? false : parseBool(ap.value, ap.where),
      gcIntervalMs,
      gcGraceMs: gg.value === undefined ? 3_600_000 : parseDuration(gg.value, gg.where),
    },
    audit: { anchorIntervalMs },
  };
}
