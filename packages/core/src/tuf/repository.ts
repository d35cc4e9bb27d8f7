import type { KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { tufSigningKey, type TufPublicKey, type TufSigningKey } from './keys.js';
import {
  TUF_ROLES,
  buildRoot,
  buildSnapshot,
  buildTargets,
  buildTimestamp,
  consistentTargetPath,
  parseMetadata,
  serializeMetadata,
  signMetadata,
  tufTargetFile,
  verifyMetadata,
  verifyRootUpdate,
  type TufMetadata,
  type TufRole,
  type TufRoleSpec,
  type TufRootSigned,
  type TufSnapshotSigned,
  type TufTargetsSigned,
  type TufTimestampSigned,
} from './metadata.js';

/** Private keys per role; one key may serve several roles. */
export type TufRoleKeyObjects = Record<TufRole, KeyObject[]>;

/** Lifetimes, in seconds from the `now` of the operation that signs the metadata. */
export interface TufExpiries {
  root?: number;
  targets?: number;
  snapshot?: number;
  timestamp?: number;
}

const DAY = 86_400;

/** Default lifetimes: a year for root, targets and snapshot; a week for timestamp (refresh it well before). */
export const DEFAULT_TUF_EXPIRIES: Readonly<Required<TufExpiries>> = Object.freeze({
  root: 365 * DAY,
  targets: 365 * DAY,
  snapshot: 365 * DAY,
  timestamp: 7 * DAY,
});

/** Files to serve, by path relative to the repository's base URL. */
export type TufFiles = Record<string, Uint8Array>;

/** Where targets live below the metadata base URL (tuf-js: targetBaseUrl = `${base}/targets`). */
export const TUF_TARGETS_DIR = 'targets';

interface Signed<T extends TufMetadata['signed']> {
  md: TufMetadata<T>;
  bytes: Uint8Array;
}

interface Published {
  targets: Signed<TufTargetsSigned>;
  /** target name → bytes */
  blobs: Map<string, Uint8Array>;
  snapshot: Signed<TufSnapshotSigned>;
  timestamp: Signed<TufTimestampSigned>;
}

function expiryAt(now: Date, seconds: number, what: string): Date {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new SignetError('INVALID_ARGUMENT', '`now` must be a valid Date');
  if (!Number.isFinite(seconds) || seconds <= 0) throw new SignetError('INVALID_ARGUMENT', `${what} lifetime must be a positive number of seconds`);
  return new Date(now.getTime() + seconds * 1000);
}

function pick<T>(m: Map<string, T>, keys: Iterable<string>): T[] {
  const out: T[] = [];
  for (const k of keys) {
    const v = m.get(k);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/**
 * A TUF repository with consistent snapshots (TUF spec 1.0 §3, §6.2), as pure data: it signs metadata
 * with the keys it is given and returns the files to serve; storing and serving them is the caller's.
 * Files: `{N}.root.json` for every root version and `root.json` (the newest), `timestamp.json`,
 * `{v}.snapshot.json`, `{v}.targets.json` and `targets/{sha256}.{name}`.
 */
export class TufRepository {
  private readonly pool = new Map<string, TufSigningKey>();
  private readonly roots: Signed<TufRootSigned>[] = [];
  private published: Published | undefined;
  private readonly expiries: Required<TufExpiries>;

  private constructor(expiries: TufExpiries | undefined) {
    this.expiries = { ...DEFAULT_TUF_EXPIRIES, ...expiries };
  }

  /** A new repository: root version 1 with the given keys (thresholds default to 1). */
  static async create(o: {
    keys: TufRoleKeyObjects;
    thresholds?: Partial<Record<TufRole, number>>;
    now: Date;
    expiries?: TufExpiries;
  }): Promise<TufRepository> {
    const repo = new TufRepository(o.expiries);
    const roles = {} as Record<TufRole, TufRoleSpec>;
    for (const role of TUF_ROLES) {
      const spec: TufRoleSpec = { keys: repo.hold(o.keys[role] ?? [], role) };
      const t = o.thresholds?.[role];
      if (t !== undefined) spec.threshold = t;
      roles[role] = spec;
    }
    const signed = buildRoot({ version: 1, expires: expiryAt(o.now, repo.expiries.root, 'root'), roles });
    const md = await signMetadata(signed, repo.signers(signed, 'root'));
    repo.roots.push({ md, bytes: serializeMetadata(md) });
    return repo;
  }

  /**
   * Restores a repository from the files it published (all `{N}.root.json`, and `timestamp.json` with
   * what it references, if anything was published). Every stored file is verified; `keys` are the
   * private keys available for signing from now on (matched to roles by key ID).
   */
  static async load(o: { keys: KeyObject[]; files: TufFiles; expiries?: TufExpiries }): Promise<TufRepository> {
    const repo = new TufRepository(o.expiries);
    for (const k of o.keys) {
      const s = tufSigningKey(k);
      repo.pool.set(s.keyId, s);
    }
    const bad = (msg: string): never => {
      throw new SignetError('MALFORMED_INPUT', `stored TUF repository: ${msg}`);
    };
    const versions = Object.keys(o.files)
      .map((p) => /^([1-9]\d*)\.root\.json$/.exec(p)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    if (versions.length === 0) bad('no {N}.root.json');
    for (let i = 0; i < versions.length; i++) {
      if (versions[i] !== i + 1) bad(`root version ${i + 1} is missing`);
      const bytes = o.files[`${i + 1}.root.json`] as Uint8Array;
      const md = parseMetadata(bytes, 'root');
      const prev = repo.roots[i - 1];
      const v = prev ? await verifyRootUpdate(prev.md, md) : await verifyMetadata(md, md, 'root');
      if (!v.ok || md.signed.version !== i + 1) bad(`${i + 1}.root.json does not verify: ${v.checks.filter((c) => !c.ok).map((c) => c.detail).join('; ')}`);
      repo.roots.push({ md, bytes });
    }
    const root = repo.currentRoot.md;
    const tsBytes = o.files['timestamp.json'];
    if (!tsBytes) return repo;
    const read = async <R extends 'targets' | 'snapshot' | 'timestamp'>(path: string, role: R) => {
      const bytes = o.files[path] ?? bad(`${path} is missing`);
      const md = parseMetadata(bytes, role);
      const v = await verifyMetadata(md, root, role);
      if (!v.ok) bad(`${path} does not verify against root version ${root.signed.version}`);
      return { md, bytes };
    };
    const timestamp = await read('timestamp.json', 'timestamp');
    const sv = timestamp.md.signed.meta['snapshot.json']?.version ?? bad('timestamp lists no snapshot.json');
    const snapshot = await read(`${sv}.snapshot.json`, 'snapshot');
    const tv = snapshot.md.signed.meta['targets.json']?.version ?? bad('snapshot lists no targets.json');
    const targets = await read(`${tv}.targets.json`, 'targets');
    const blobs = new Map<string, Uint8Array>();
    for (const [name, info] of Object.entries(targets.md.signed.targets)) {
      const path = `${TUF_TARGETS_DIR}/${consistentTargetPath(name, info)}`;
      const bytes = o.files[path] ?? bad(`${path} is missing`);
      const got = tufTargetFile(bytes);
      if (got.length !== info.length || got.hashes['sha256'] !== info.hashes['sha256']) bad(`${path} does not match its targets entry`);
      blobs.set(name, bytes);
    }
    repo.published = { targets, blobs, snapshot, timestamp };
    return repo;
  }

  /** The newest root metadata. */
  get root(): TufMetadata<TufRootSigned> {
    return this.currentRoot.md;
  }

  /** The newest root as served (the initial root.json a client is given to trust). */
  get rootBytes(): Uint8Array {
    return this.currentRoot.bytes.slice();
  }

  get rootVersion(): number {
    return this.currentRoot.md.signed.version;
  }

  /** Key IDs of a role in the newest root. */
  roleKeyIds(role: TufRole): string[] {
    return [...this.currentRoot.md.signed.roles[role].keyids];
  }

  /**
   * Makes root version N+1 (TUF spec 1.0 §6.1): roles not named in `keys` keep their keys, and
   * thresholds their value. It is signed by the current root keys (a threshold of them must be held)
   * and by the new root keys. If targets were published, targets, snapshot and timestamp are
   * re-signed with new versions so that every file verifies under the new root. Returns all files.
   */
  async rotateRoot(o: {
    now: Date;
    keys?: Partial<TufRoleKeyObjects>;
    thresholds?: Partial<Record<TufRole, number>>;
    expires?: number;
  }): Promise<TufFiles> {
    const cur = this.currentRoot.md.signed;
    const roles = {} as Record<TufRole, TufRoleSpec>;
    for (const role of TUF_ROLES) {
      const given = o.keys?.[role];
      const keys: TufPublicKey[] = given
        ? this.hold(given, role)
        : cur.roles[role].keyids.map((id) => cur.keys[id] ?? this.fail(`root lacks key ${id}`));
      roles[role] = { keys, threshold: o.thresholds?.[role] ?? cur.roles[role].threshold };
    }
    const signed = buildRoot({
      version: cur.version + 1,
      expires: expiryAt(o.now, o.expires ?? this.expiries.root, 'root'),
      roles,
      consistentSnapshot: cur.consistent_snapshot,
    });
    // TUF spec 1.0 §5.3.4: signed by a threshold of the trusted root's keys and of its own.
    const signers = [...this.signers(cur, 'root'), ...this.signers(signed, 'root')];
    // Re-signing the other roles below must not fail half-way, after the new root is in place.
    if (this.published) for (const role of ['targets', 'snapshot', 'timestamp'] as const) this.signers(signed, role);
    const md = await signMetadata(signed, signers);
    this.roots.push({ md, bytes: serializeMetadata(md) });
    if (this.published) {
      await this.publish({ targets: Object.fromEntries(this.published.blobs), now: o.now });
    }
    return this.files();
  }

  /**
   * Publishes a new set of targets (replacing the previous set): new versions of targets, snapshot and
   * timestamp. Returns every file to serve; earlier `{v}.snapshot.json` / `{v}.targets.json` may be
   * kept by the server for clients in the middle of an update, but are no longer needed.
   */
  async publish(o: { targets: Record<string, Uint8Array>; now: Date; expiries?: TufExpiries }): Promise<TufFiles> {
    const exp = { ...this.expiries, ...o.expiries };
    const root = this.currentRoot.md.signed;
    const prev = this.published;
    const blobs = new Map<string, Uint8Array>();
    for (const [name, bytes] of Object.entries(o.targets)) {
      if (!(bytes instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', `target "${name}" must be bytes`);
      blobs.set(name, bytes.slice());
    }
    const targetsSigned = buildTargets({
      version: (prev?.targets.md.signed.version ?? 0) + 1,
      expires: expiryAt(o.now, exp.targets, 'targets'),
      targets: Object.fromEntries(blobs),
    });
    const targets = await this.sign(targetsSigned, root);
    const snapshotSigned = buildSnapshot({
      version: (prev?.snapshot.md.signed.version ?? 0) + 1,
      expires: expiryAt(o.now, exp.snapshot, 'snapshot'),
      targets: { version: targetsSigned.version, bytes: targets.bytes },
    });
    const snapshot = await this.sign(snapshotSigned, root);
    const timestamp = await this.signTimestamp(snapshot, (prev?.timestamp.md.signed.version ?? 0) + 1, expiryAt(o.now, exp.timestamp, 'timestamp'));
    this.published = { targets, blobs, snapshot, timestamp };
    return this.files();
  }

  /** Re-signs timestamp.json alone with a new version and expiry (TUF spec 1.0 §6.2 step 6). */
  async refreshTimestamp(now: Date, expiresIn?: number): Promise<TufFiles> {
    const p = this.published;
    if (!p) throw new SignetError('INVALID_ARGUMENT', 'nothing has been published yet; call publish() first');
    p.timestamp = await this.signTimestamp(p.snapshot, p.timestamp.md.signed.version + 1, expiryAt(now, expiresIn ?? this.expiries.timestamp, 'timestamp'));
    return { 'timestamp.json': p.timestamp.bytes.slice() };
  }

  /** Every file to serve, as of now. */
  files(): TufFiles {
    const out: TufFiles = {};
    for (const r of this.roots) out[`${r.md.signed.version}.root.json`] = r.bytes.slice();
    out['root.json'] = this.currentRoot.bytes.slice();
    const p = this.published;
    if (p) {
      out['timestamp.json'] = p.timestamp.bytes.slice();
      out[`${p.snapshot.md.signed.version}.snapshot.json`] = p.snapshot.bytes.slice();
      out[`${p.targets.md.signed.version}.targets.json`] = p.targets.bytes.slice();
      for (const [name, info] of Object.entries(p.targets.md.signed.targets)) {
        const bytes = p.blobs.get(name);
        if (bytes) out[`${TUF_TARGETS_DIR}/${consistentTargetPath(name, info)}`] = bytes.slice();
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------

  private get currentRoot(): Signed<TufRootSigned> {
    return this.roots[this.roots.length - 1] ?? this.fail('no root');
  }

  private fail(msg: string): never {
    throw new SignetError('INVALID_ARGUMENT', `TUF repository: ${msg}`);
  }

  /** Adds private keys to the pool; returns their public forms. */
  private hold(keys: KeyObject[], role: TufRole): TufPublicKey[] {
    if (keys.length === 0) this.fail(`the ${role} role needs at least one key`);
    return keys.map((k) => {
      const s = tufSigningKey(k);
      this.pool.set(s.keyId, s);
      return s.publicKey;
    });
  }

  /** The held keys of a role in `root`; at least its threshold must be held. */
  private signers(root: TufRootSigned, role: TufRole): TufSigningKey[] {
    const r = root.roles[role];
    const held = pick(this.pool, r.keyids);
    if (held.length < r.threshold) {
      this.fail(`only ${held.length} of the ${role} role's keys are held, threshold is ${r.threshold} (root version ${root.version})`);
    }
    return held;
  }

  private async sign<T extends TufTargetsSigned | TufSnapshotSigned | TufTimestampSigned>(signed: T, root: TufRootSigned): Promise<Signed<T>> {
    const md = await signMetadata(signed, this.signers(root, signed._type));
    return { md, bytes: serializeMetadata(md) };
  }

  private signTimestamp(snapshot: Signed<TufSnapshotSigned>, version: number, expires: Date): Promise<Signed<TufTimestampSigned>> {
    const signed = buildTimestamp({ version, expires, snapshot: { version: snapshot.md.signed.version, bytes: snapshot.bytes } });
    return this.sign(signed, this.currentRoot.md.signed);
  }
}
