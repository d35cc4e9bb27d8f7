import { createHash, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { fromHex, toHex } from '../encoding/hex.js';
import { signData, verifyData } from '../keys/pkix.js';
import type { Check } from '../verify/types.js';
import { canonicalJsonBytes } from './canonical.js';
import { tufKeyId, tufKeyObject, tufPublicKey, tufSchemeHash, type TufPublicKey } from './keys.js';

/** The TUF specification version Signet writes (tuf-js accepts any 1.x). */
export const TUF_SPEC_VERSION = '1.0.31';

/** The top-level roles (TUF spec 1.0 §2.1). */
export const TUF_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TufRole = (typeof TUF_ROLES)[number];

/** A role's entry in root metadata (TUF spec 1.0 §4.3 "roles"). */
export interface TufRoleKeys {
  keyids: string[];
  threshold: number;
}

interface TufSignedCommon {
  spec_version: string;
  version: number;
  /** 'YYYY-MM-DDTHH:MM:SSZ' */
  expires: string;
}

/** TUF spec 1.0 §4.3. */
export interface TufRootSigned extends TufSignedCommon {
  _type: 'root';
  consistent_snapshot: boolean;
  keys: Record<string, TufPublicKey>;
  roles: Record<TufRole, TufRoleKeys>;
}

/** TUF spec 1.0 §4.5 TARGETS entry. */
export interface TufTargetFile {
  length: number;
  hashes: Record<string, string>;
  custom?: Record<string, unknown>;
}

/** TUF spec 1.0 §4.5. Delegations are neither written nor interpreted. */
export interface TufTargetsSigned extends TufSignedCommon {
  _type: 'targets';
  targets: Record<string, TufTargetFile>;
}

/** TUF spec 1.0 §4.4 METAFILES entry. */
export interface TufMetaFile {
  version: number;
  length?: number;
  hashes?: Record<string, string>;
}

/** TUF spec 1.0 §4.4. */
export interface TufSnapshotSigned extends TufSignedCommon {
  _type: 'snapshot';
  meta: Record<string, TufMetaFile>;
}

/** TUF spec 1.0 §4.6. */
export interface TufTimestampSigned extends TufSignedCommon {
  _type: 'timestamp';
  meta: Record<string, TufMetaFile>;
}

export type TufSigned = TufRootSigned | TufTargetsSigned | TufSnapshotSigned | TufTimestampSigned;

export interface TufSignature {
  keyid: string;
  /** hex: DER ECDSA-Sig-Value for ecdsa-sha2-nistp256, the 64-byte signature for ed25519 */
  sig: string;
}

/** A metadata file (TUF spec 1.0 §4.2): the signatures over the canonical JSON of `signed`. */
export interface TufMetadata<T extends TufSigned = TufSigned> {
  signatures: TufSignature[];
  signed: T;
}

/** A key able to sign; keyId defaults to the TUF key ID of its public half. */
export interface TufSigner {
  keyId?: string;
  privateKey: KeyObject;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Formats an expiry as TUF writes it: ISO 8601 UTC without fractional seconds (TUF spec 1.0 §4.2). */
export function formatTufExpires(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new SignetError('INVALID_ARGUMENT', 'expiry must be a valid Date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** True when metadata has expired at `now` (it is expired from its `expires` instant on, as tuf-js judges). */
export function isTufExpired(signed: Pick<TufSignedCommon, 'expires'>, now: Date): boolean {
  const t = Date.parse(signed.expires);
  return Number.isNaN(t) || now.getTime() >= t;
}

function sha256Hex(bytes: Uint8Array): string {
  return toHex(createHash('sha256').update(bytes).digest());
}

/** The TARGETS entry of a file: its length and SHA-256. */
export function tufTargetFile(bytes: Uint8Array, custom?: Record<string, unknown>): TufTargetFile {
  return { length: bytes.length, hashes: { sha256: sha256Hex(bytes) }, ...(custom ? { custom } : {}) };
}

/** A METAFILES entry: the version, plus length and SHA-256 when the file's bytes are given. */
export function tufMetaFile(version: number, bytes?: Uint8Array): TufMetaFile {
  checkVersion(version, 'meta file version');
  return bytes ? { version, length: bytes.length, hashes: { sha256: sha256Hex(bytes) } } : { version };
}

function checkVersion(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new SignetError('INVALID_ARGUMENT', `${what} must be an integer ≥ 1, got ${String(v)}`);
}

/**
 * Checks a target name (TUF spec 1.0 §4.5 TARGETPATH): '/'-separated, relative, no '.'/'..' or empty
 * segments, no backslashes or control characters (it becomes a URL path and a file name).
 */
export function checkTargetName(name: string): void {
  const bad =
    typeof name !== 'string' ||
    name === '' ||
    name.length > 1024 ||
    /[\\\u0000-\u001f\u007f]/.test(name) ||
    name.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new SignetError('INVALID_ARGUMENT', `target name ${JSON.stringify(name)} is not a relative path of non-empty segments`);
}

/** Where a target is served under consistent snapshots: `{dir/}{sha256}.{basename}` (TUF spec 1.0 §5.7.3). */
export function consistentTargetPath(name: string, target: TufTargetFile): string {
  checkTargetName(name);
  const hash = target.hashes['sha256'];
  if (!hash) throw new SignetError('INVALID_ARGUMENT', `target "${name}" has no sha256 hash`);
  const i = name.lastIndexOf('/');
  return i < 0 ? `${hash}.${name}` : `${name.slice(0, i + 1)}${hash}.${name.slice(i + 1)}`;
}

// ---------------------------------------------------------------------------------------------
// Builders

export interface TufRoleSpec {
  keys: TufPublicKey[];
  /** defaults to 1 */
  threshold?: number;
}

export function buildRoot(o: {
  version: number;
  expires: Date;
  roles: Record<TufRole, TufRoleSpec>;
  consistentSnapshot?: boolean;
}): TufRootSigned {
  checkVersion(o.version, 'root version');
  const keys: Record<string, TufPublicKey> = {};
  const roles = {} as Record<TufRole, TufRoleKeys>;
  for (const role of TUF_ROLES) {
    const spec = o.roles[role];
    if (!spec || spec.keys.length === 0) throw new SignetError('INVALID_ARGUMENT', `the ${role} role needs at least one key`);
    const keyids: string[] = [];
    for (const k of spec.keys) {
      tufSchemeHash(k); // refuses key types Signet cannot verify
      const id = tufKeyId(k);
      keys[id] = k;
      if (!keyids.includes(id)) keyids.push(id);
    }
    const threshold = spec.threshold ?? 1;
    if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keyids.length) {
      throw new SignetError('INVALID_ARGUMENT', `the ${role} threshold must be between 1 and its ${keyids.length} distinct key(s), got ${String(threshold)}`);
    }
    roles[role] = { keyids, threshold };
  }
  return {
    _type: 'root',
    spec_version: TUF_SPEC_VERSION,
    version: o.version,
    expires: formatTufExpires(o.expires),
    keys,
    roles,
    consistent_snapshot: o.consistentSnapshot ?? true,
  };
}

/** Targets metadata; each target is given as its bytes or as a ready TARGETS entry. */
export function buildTargets(o: { version: number; expires: Date; targets: Record<string, Uint8Array | TufTargetFile> }): TufTargetsSigned {
  checkVersion(o.version, 'targets version');
  const targets: Record<string, TufTargetFile> = {};
  for (const [name, t] of Object.entries(o.targets)) {
    checkTargetName(name);
    targets[name] = t instanceof Uint8Array ? tufTargetFile(t) : t;
  }
  return { _type: 'targets', spec_version: TUF_SPEC_VERSION, version: o.version, expires: formatTufExpires(o.expires), targets };
}

/** Snapshot metadata listing targets.json (with its length and hash when its bytes are given). */
export function buildSnapshot(o: { version: number; expires: Date; targets: { version: number; bytes?: Uint8Array } }): TufSnapshotSigned {
  checkVersion(o.version, 'snapshot version');
  return {
    _type: 'snapshot',
    spec_version: TUF_SPEC_VERSION,
    version: o.version,
    expires: formatTufExpires(o.expires),
    meta: { 'targets.json': tufMetaFile(o.targets.version, o.targets.bytes) },
  };
}

/** Timestamp metadata listing snapshot.json (with its length and hash when its bytes are given). */
export function buildTimestamp(o: { version: number; expires: Date; snapshot: { version: number; bytes?: Uint8Array } }): TufTimestampSigned {
  checkVersion(o.version, 'timestamp version');
  return {
    _type: 'timestamp',
    spec_version: TUF_SPEC_VERSION,
    version: o.version,
    expires: formatTufExpires(o.expires),
    meta: { 'snapshot.json': tufMetaFile(o.snapshot.version, o.snapshot.bytes) },
  };
}

// ---------------------------------------------------------------------------------------------
// Signing and (de)serialization

/**
 * Signs the canonical JSON of `signed` with every key (TUF spec 1.0 §4.2). A key listed twice signs
 * once. ECDSA P-256 signs SHA-256 and gives DER; Ed25519 signs the bytes; both hex-encoded.
 */
export async function signMetadata<T extends TufSigned>(signed: T, keys: TufSigner[]): Promise<TufMetadata<T>> {
  if (keys.length === 0) throw new SignetError('INVALID_ARGUMENT', 'signing TUF metadata needs at least one key');
  const data = canonicalJsonBytes(signed);
  const seen = new Set<string>();
  const signatures: TufSignature[] = [];
  for (const k of keys) {
    if (k.privateKey.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'signing TUF metadata needs private keys');
    const keyid = k.keyId ?? tufKeyId(tufPublicKey(k.privateKey));
    if (seen.has(keyid)) continue;
    seen.add(keyid);
    tufPublicKey(k.privateKey); // refuses unsupported key types
    signatures.push({ keyid, sig: toHex(await signData(k.privateKey, data)) });
  }
  return { signatures, signed };
}

/** Serializes a metadata file for serving: JSON, two-space indented (any JSON form verifies; signatures cover `signed`'s canonical form). */
export function serializeMetadata(md: TufMetadata): Uint8Array {
  return utf8(`${JSON.stringify(md, null, 2)}\n`);
}

const EXPIRES = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return isRecord(v) && Object.values(v).every((x) => typeof x === 'string');
}

function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

function malformed(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `TUF metadata: ${msg}`);
}

function checkMetaFile(v: unknown, where: string): void {
  if (!isRecord(v) || !isCount(v['version'], 1)) malformed(`${where} needs a version ≥ 1`);
  if (v['length'] !== undefined && !isCount(v['length'], 0)) malformed(`${where} length must be a non-negative integer`);
  if (v['hashes'] !== undefined && !isStringRecord(v['hashes'])) malformed(`${where} hashes must map names to strings`);
}

/**
 * Parses a metadata file, checking its shape (TUF spec 1.0 §4). Throws MALFORMED_INPUT when it is not
 * metadata of the expected role; signatures are NOT checked here (use verifyMetadata).
 */
export function parseMetadata<R extends TufRole>(input: Uint8Array | string, role: R): TufMetadata<Extract<TufSigned, { _type: R }>>;
export function parseMetadata(input: Uint8Array | string): TufMetadata;
export function parseMetadata(input: Uint8Array | string, role?: TufRole): TufMetadata {
  let v: unknown;
  try {
    v = JSON.parse(typeof input === 'string' ? input : fromUtf8(input));
  } catch (e) {
    throw new SignetError('MALFORMED_INPUT', 'TUF metadata is not UTF-8 JSON', { cause: e });
  }
  if (!isRecord(v)) malformed('not a JSON object');
  const sigs = v['signatures'];
  if (!Array.isArray(sigs) || !sigs.every((s) => isRecord(s) && typeof s['keyid'] === 'string' && typeof s['sig'] === 'string')) {
    malformed('signatures must be a list of {keyid, sig} strings');
  }
  const s = v['signed'];
  if (!isRecord(s)) malformed('no signed object');
  const type = s['_type'];
  if (typeof type !== 'string' || !(TUF_ROLES as readonly string[]).includes(type)) malformed(`unknown _type ${JSON.stringify(type)}`);
  if (role && type !== role) malformed(`expected ${role} metadata, found ${type}`);
  if (typeof s['spec_version'] !== 'string' || !/^1\.\d+(\.\d+)?$/.test(s['spec_version'])) malformed('spec_version must be 1.x');
  if (!isCount(s['version'], 1)) malformed('version must be an integer ≥ 1');
  if (typeof s['expires'] !== 'string' || !EXPIRES.test(s['expires']) || Number.isNaN(Date.parse(s['expires']))) {
    malformed('expires must be an ISO 8601 UTC time');
  }
  switch (type) {
    case 'root': {
      const keys = s['keys'];
      if (!isRecord(keys)) malformed('root keys must be an object');
      for (const [id, k] of Object.entries(keys)) {
        if (!isRecord(k) || typeof k['keytype'] !== 'string' || typeof k['scheme'] !== 'string' || !isStringRecord(k['keyval'])) {
          malformed(`root key ${id} needs keytype, scheme and keyval`);
        }
      }
      const roles = s['roles'];
      if (!isRecord(roles)) malformed('root roles must be an object');
      for (const r of TUF_ROLES) {
        const e = roles[r];
        if (!isRecord(e) || !Array.isArray(e['keyids']) || !e['keyids'].every((x) => typeof x === 'string') || !isCount(e['threshold'], 1)) {
          malformed(`root role ${r} needs keyids and a threshold ≥ 1`);
        }
      }
      if (typeof s['consistent_snapshot'] !== 'boolean') malformed('consistent_snapshot must be a boolean');
      break;
    }
    case 'targets': {
      const targets = s['targets'];
      if (!isRecord(targets)) malformed('targets must be an object');
      for (const [name, t] of Object.entries(targets)) {
        if (!isRecord(t) || !isCount(t['length'], 0) || !isStringRecord(t['hashes'])) malformed(`target ${JSON.stringify(name)} needs length and hashes`);
      }
      break;
    }
    case 'snapshot': {
      const meta = s['meta'];
      if (!isRecord(meta)) malformed('snapshot meta must be an object');
      for (const [name, m] of Object.entries(meta)) checkMetaFile(m, `snapshot meta ${JSON.stringify(name)}`);
      break;
    }
    case 'timestamp': {
      const meta = s['meta'];
      if (!isRecord(meta)) malformed('timestamp meta must be an object');
      checkMetaFile(meta['snapshot.json'], 'timestamp meta "snapshot.json"');
      break;
    }
  }
  return v as unknown as TufMetadata;
}

// ---------------------------------------------------------------------------------------------
// Verification

/** The outcome of verifying TUF metadata: ok only if every check passed. */
export interface TufVerification {
  ok: boolean;
  role: TufRole;
  checks: Check[];
  /** Key IDs of the role's keys whose signatures verified. */
  keyIds: string[];
  threshold: number;
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 16)}…` : id;
}

/**
 * Counts the distinct keys of `roleKeys` (resolved in `keys`) that made a valid signature over the
 * canonical JSON of md.signed (TUF spec 1.0 §5.3.4, §5.4.2, §5.5.3, §5.6.3).
 */
async function thresholdCheck(
  md: TufMetadata,
  data: Uint8Array,
  keys: Record<string, TufPublicKey>,
  roleKeys: TufRoleKeys | undefined,
  who: string,
): Promise<{ check: Check; keyIds: string[] }> {
  if (!isRecord(roleKeys) || !Array.isArray(roleKeys.keyids) || !isCount(roleKeys.threshold, 1) || !isRecord(keys)) {
    return { check: { name: 'signature', ok: false, detail: `no usable key list and threshold for ${who}` }, keyIds: [] };
  }
  const valid: string[] = [];
  const notes: string[] = [];
  for (const s of md.signatures) {
    if (!roleKeys.keyids.includes(s.keyid)) {
      notes.push(`key ${short(s.keyid)} is not among ${who}`);
      continue;
    }
    const key = keys[s.keyid];
    if (!key) {
      notes.push(`key ${short(s.keyid)} is listed for ${who} but missing from root keys`);
      continue;
    }
    let ok = false;
    try {
      const hash = tufSchemeHash(key);
      ok = await verifyData(tufKeyObject(key), data, fromHex(s.sig, 'signature'), hash);
    } catch (e) {
      notes.push(`key ${short(s.keyid)} cannot be used: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (ok) valid.push(s.keyid);
    else notes.push(`signature by key ${short(s.keyid)} does not match the signed metadata`);
  }
  const n = valid.length;
  const ok = n >= roleKeys.threshold;
  const detail = ok
    ? `${n} valid signature(s) from ${who} (threshold ${roleKeys.threshold})`
    : `only ${n} valid signature(s) from ${who}, threshold is ${roleKeys.threshold}${notes.length ? `: ${notes.slice(0, 4).join('; ')}` : ''}`;
  return { check: { name: 'signature', ok, detail }, keyIds: valid };
}

function preflight(md: TufMetadata, role: TufRole, checks: Check[]): Uint8Array | undefined {
  const type = (md?.signed as { _type?: unknown } | undefined)?._type;
  if (type !== role) {
    checks.push({ name: 'format', ok: false, detail: `expected ${role} metadata, found ${JSON.stringify(type ?? null)}` });
    return undefined;
  }
  if (!Array.isArray(md.signatures)) {
    checks.push({ name: 'format', ok: false, detail: 'signatures is not a list' });
    return undefined;
  }
  if (!md.signatures.every((s: unknown) => isRecord(s) && typeof s['keyid'] === 'string' && typeof s['sig'] === 'string')) {
    checks.push({ name: 'format', ok: false, detail: 'every signature must be a {keyid, sig} pair of strings' });
    return undefined;
  }
  const ids = md.signatures.map((s) => s.keyid);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) {
    // tuf-js refuses such metadata outright.
    checks.push({ name: 'format', ok: false, detail: `two signatures carry key ID ${short(String(dup))}` });
    return undefined;
  }
  try {
    const data = canonicalJsonBytes(md.signed);
    checks.push({ name: 'format', ok: true, detail: `${role} metadata version ${String(md.signed.version)}` });
    return data;
  } catch (e) {
    checks.push({ name: 'format', ok: false, detail: `signed part has no canonical JSON form: ${e instanceof Error ? e.message : String(e)}` });
    return undefined;
  }
}

function expiryCheck(md: TufMetadata, now: Date | undefined, checks: Check[]): void {
  if (!now) return;
  const expired = isTufExpired(md.signed, now);
  checks.push({
    name: 'expiry',
    ok: !expired,
    detail: expired ? `metadata expired at ${md.signed.expires}` : `metadata valid until ${md.signed.expires}`,
  });
}

function rootOf(r: TufRootSigned | TufMetadata<TufRootSigned>): TufRootSigned {
  return 'signed' in r ? r.signed : r;
}

/**
 * Verifies metadata of `role` against a trusted root: a threshold of the role's keys must have
 * signed it; with `now`, it must also not have expired. Returns a result, never throws on bad input.
 */
export async function verifyMetadata(
  md: TufMetadata,
  trustedRoot: TufRootSigned | TufMetadata<TufRootSigned>,
  role: TufRole,
  opts: { now?: Date } = {},
): Promise<TufVerification> {
  const root = rootOf(trustedRoot);
  const roleKeys = root?.roles?.[role];
  if (!roleKeys) throw new SignetError('INVALID_ARGUMENT', `the trusted root has no ${role} role`);
  const checks: Check[] = [];
  const data = preflight(md, role, checks);
  if (!data) return { ok: false, role, checks, keyIds: [], threshold: roleKeys.threshold };
  const { check, keyIds } = await thresholdCheck(md, data, root.keys, roleKeys, `the ${role} role's keys`);
  checks.push(check);
  expiryCheck(md, opts.now, checks);
  return { ok: checks.every((c) => c.ok), role, checks, keyIds, threshold: roleKeys.threshold };
}

/**
 * Verifies a root update (TUF spec 1.0 §5.3.4–5.3.5): version N+1, signed by a threshold of the
 * trusted root's root keys and by a threshold of its own root keys. With `now`, also not expired.
 */
export async function verifyRootUpdate(
  trustedRoot: TufRootSigned | TufMetadata<TufRootSigned>,
  next: TufMetadata<TufRootSigned>,
  opts: { now?: Date } = {},
): Promise<TufVerification> {
  const root = rootOf(trustedRoot);
  const checks: Check[] = [];
  const data = preflight(next, 'root', checks);
  if (!data) return { ok: false, role: 'root', checks, keyIds: [], threshold: root.roles.root.threshold };
  const want = root.version + 1;
  checks.push({
    name: 'version',
    ok: next.signed.version === want,
    detail: next.signed.version === want ? `root version ${want} follows ${root.version}` : `expected root version ${want}, found ${next.signed.version}`,
  });
  const old = await thresholdCheck(next, data, root.keys, root.roles.root, `the root keys of trusted root version ${root.version}`);
  checks.push(old.check);
  const self = await thresholdCheck(next, data, next.signed.keys, next.signed.roles?.root, 'its own root keys');
  checks.push({ ...self.check, name: 'new-root-signature' });
  expiryCheck(next, opts.now, checks);
  return { ok: checks.every((c) => c.ok), role: 'root', checks, keyIds: old.keyIds, threshold: root.roles.root.threshold };
}
