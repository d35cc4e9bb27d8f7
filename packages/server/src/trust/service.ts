import type { KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import {
  TUF_ROLES,
  TufRepository,
  TUF_TARGETS_DIR,
  consistentTargetPath,
  generateKeyPair,
  parseMetadata,
  pkcs8Der,
  privateKeyFromPkcs8,
  type TufExpiries,
  type TufFiles,
  type TufRole,
} from '@signet/core';
import type { OpenDb } from '../storage/db.js';
import type { SecretStore } from '../storage/secrets.js';
import { documentJson, signingConfig, trustedRoot, type TrustSources } from './documents.js';
import { LostRace, MUTABLE_TUF_FILES, TufStore, type TufState } from './store.js';

const DAY = 86_400;

/**
 * Lifetimes (seconds) of the served TUF metadata. The timestamp is short (a client never trusts a
 * frozen view for more than a day) and re-signed automatically; snapshot is re-signed (with targets,
 * which TufRepository versions together) every few days; root is renewed, with the same keys, half-way
 * through its year so that clients never meet an expired root.
 */
export const TRUST_TUF_EXPIRIES: Readonly<Required<TufExpiries>> = Object.freeze({
  root: 365 * DAY,
  targets: 365 * DAY,
  snapshot: 7 * DAY,
  timestamp: 1 * DAY,
});

/** Target names, as sigstore-js (@sigstore/tuf) and sigstore clients ask for them. */
export const TRUSTED_ROOT_TARGET = 'trusted_root.json';
export const SIGNING_CONFIG_TARGET = 'signing_config.v0.2.json';

/** Secret names of the TUF role keys (one ECDSA P-256 key per role, sealed under the master key). */
export const tufKeySecret = (role: TufRole): string => `trust/tuf-${role}-key`;

export interface TrustServiceOptions {
  database: OpenDb;
  secrets: SecretStore;
  sources: TrustSources;
  /** The clock (tests inject one). */
  now?: () => Date;
  /** Metadata lifetimes in seconds; TRUST_TUF_EXPIRIES by default. */
  expiries?: TufExpiries;
  /** How often the timer checks what is due (default: an hour, or an eighth of the timestamp lifetime if shorter). */
  checkIntervalMs?: number;
  log?: FastifyBaseLogger;
}

/** The published versions of the TUF roles. */
export interface TufVersions {
  root: number;
  targets: number;
  snapshot: number;
  timestamp: number;
}

interface Current {
  versions: TufVersions;
  expires: Record<TufRole, number>;
  /** target name → bytes */
  targets: Map<string, Uint8Array>;
}

const enc = new TextEncoder();

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** Reads what a set of published files says is current: timestamp → snapshot → targets → target files. */
function current(files: TufFiles): Current {
  const need = (path: string): Uint8Array => {
    const b = files[path];
    if (!b) throw new Error(`stored TUF repository: ${path} is missing`);
    return b;
  };
  const root = parseMetadata(need('root.json'), 'root').signed;
  const timestamp = parseMetadata(need('timestamp.json'), 'timestamp').signed;
  const sv = timestamp.meta['snapshot.json']?.version;
  if (sv === undefined) throw new Error('stored TUF repository: timestamp.json lists no snapshot.json');
  const snapshot = parseMetadata(need(`${sv}.snapshot.json`), 'snapshot').signed;
  const tv = snapshot.meta['targets.json']?.version;
  if (tv === undefined) throw new Error('stored TUF repository: snapshot lists no targets.json');
  const targets = parseMetadata(need(`${tv}.targets.json`), 'targets').signed;
  const blobs = new Map<string, Uint8Array>();
  for (const [name, info] of Object.entries(targets.targets)) blobs.set(name, need(`${TUF_TARGETS_DIR}/${consistentTargetPath(name, info)}`));
  return {
    versions: { root: root.version, targets: targets.version, snapshot: snapshot.version, timestamp: timestamp.version },
    expires: { root: Date.parse(root.expires), targets: Date.parse(targets.expires), snapshot: Date.parse(snapshot.expires), timestamp: Date.parse(timestamp.expires) },
    targets: blobs,
  };
}

function sameTargets(a: Map<string, Uint8Array>, b: Record<string, Uint8Array>): boolean {
  const names = Object.keys(b);
  return a.size === names.length && names.every((n) => {
    const x = a.get(n);
    return x !== undefined && equalBytes(x, b[n] as Uint8Array);
  });
}

const stateOf = (c: Current): TufState => ({ rootVersion: c.versions.root, timestampVersion: c.versions.timestamp });

/**
 * The trust documents (trusted_root.json, signing_config.v0.2.json) and the TUF repository that serves
 * them to clients that only take trust over TUF (sigstore-js: tufMirrorURL = <baseUrl>/tuf, tufRootPath =
 * a copy of 1.root.json).
 *
 * The repository lives in the database (migration 0003_trust) and its role keys in the secret store, so a
 * restart serves the same 1.root.json and versions only move forward. Every change is a compare-and-set
 * on the stored versions: servers sharing a database never fork the repository; the loser reloads.
 * At start the targets are re-published if the documents changed; a timer (unref'd) re-signs whatever
 * comes within half of its lifetime of expiring.
 */
export class TrustService {
  private readonly store: TufStore;
  private readonly now: () => Date;
  private readonly expiries: Required<TufExpiries>;
  private readonly log: FastifyBaseLogger | undefined;
  private readonly interval: number;
  private keys: Record<TufRole, KeyObject> | undefined;
  private rootText = '';
  private signingText = '';
  private state: TufState | undefined;
  private cur: Current | undefined;
  private firstRoot: Uint8Array | undefined;
  /** Immutable files, by path, as served. */
  private readonly cache = new Map<string, Uint8Array>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly o: TrustServiceOptions,
  ) {
    this.store = new TufStore(o.database);
    this.now = o.now ?? (() => new Date());
    this.expiries = { ...TRUST_TUF_EXPIRIES, ...o.expiries };
    this.log = o.log;
    this.interval = o.checkIntervalMs ?? Math.min(3_600_000, (this.expiries.timestamp * 1000) / 8);
  }

  /** Loads (or makes, at first start) the TUF keys and repository, publishes what changed, starts the timer. */
  static async open(o: TrustServiceOptions): Promise<TrustService> {
    const t = new TrustService(o);
    t.setDocuments(o.sources);
    t.keys = await t.loadKeys();
    await t.exclusive(() => t.sync(true));
    t.schedule();
    return t;
  }

  /** The trusted root as served at /api/v1/trusted_root.json and as the TUF target trusted_root.json. */
  trustedRootJson(): string {
    return this.rootText;
  }

  /** The signing config as served at /api/v1/signing_config.v0.2.json and as a TUF target. */
  signingConfigJson(): string {
    return this.signingText;
  }

  /** 1.root.json: the root a client is given to trust first (sigstore-js tufRootPath). */
  tufRoot(): Uint8Array {
    if (!this.firstRoot) throw new Error('the TUF repository is not open');
    return this.firstRoot.slice();
  }

  /** The versions this server last published or loaded. */
  tufVersions(): TufVersions {
    if (!this.cur) throw new Error('the TUF repository is not open');
    return { ...this.cur.versions };
  }

  /**
   * A file of the TUF repository by its path below /tuf/, or undefined. root.json and timestamp.json are
   * read from the database each time (another server may have moved them on); versioned files never
   * change and are cached.
   */
  async tufFile(path: string): Promise<Uint8Array | undefined> {
    if (MUTABLE_TUF_FILES.has(path)) return this.store.file(path);
    const hit = this.cache.get(path);
    if (hit) return hit;
    const stored = await this.store.file(path);
    if (stored) this.cache.set(path, stored);
    return stored;
  }

  /** New sources (a rotated CA or TSA, say): the documents change and new targets are published. */
  async update(sources: TrustSources): Promise<void> {
    this.setDocuments(sources);
    await this.exclusive(() => this.sync(true));
  }

  /** Re-signs whatever is due; the timer calls this. Returns once any change is committed. */
  async maintain(): Promise<void> {
    await this.exclusive(async () => {
      const stored = await this.store.state();
      const same = stored !== undefined && this.state !== undefined && stored.rootVersion === this.state.rootVersion && stored.timestampVersion === this.state.timestampVersion;
      if (same && !this.due(this.now())) return;
      await this.sync(false);
    });
  }

  /** Stops the timer and waits for any change under way. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue.catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------

  private setDocuments(sources: TrustSources): void {
    const rootText = documentJson(trustedRoot(sources));
    const signingText = documentJson(signingConfig(sources));
    this.rootText = rootText;
    this.signingText = signingText;
  }

  private desiredTargets(): Record<string, Uint8Array> {
    return { [TRUSTED_ROOT_TARGET]: enc.encode(this.rootText), [SIGNING_CONFIG_TARGET]: enc.encode(this.signingText) };
  }

  private async loadKeys(): Promise<Record<TufRole, KeyObject>> {
    const out = {} as Record<TufRole, KeyObject>;
    for (const role of TUF_ROLES) {
      const name = tufKeySecret(role);
      let der = await this.o.secrets.get(name);
      if (!der) der = await this.o.secrets.putIfAbsent(name, pkcs8Der((await generateKeyPair('ecdsa-p256')).privateKey));
      out[role] = privateKeyFromPkcs8(der);
    }
    return out;
  }

  /** Runs changes one at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Is any role within half of its lifetime of expiring? */
  private due(now: Date): boolean {
    const c = this.cur;
    if (!c) return true;
    return TUF_ROLES.some((role) => this.roleDue(c, role, now));
  }

  private roleDue(c: Current, role: TufRole, now: Date): boolean {
    return c.expires[role] - now.getTime() < (this.expiries[role] * 1000) / 2;
  }

  /**
   * Loads the stored repository (creating it if there is none), makes the changes that are due and commits
   * them with a compare-and-set; on a lost race, starts again from what the winner stored.
   */
  private async sync(publishDocuments: boolean): Promise<void> {
    const keys = this.keys;
    if (!keys) throw new Error('the TUF keys are not loaded');
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const stored = await this.store.load();
      let repo: TufRepository;
      let expected: TufState | undefined;
      const changes: string[] = [];
      if (!stored) {
        repo = await TufRepository.create({
          keys: { root: [keys.root], targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp] },
          now,
          expiries: this.expiries,
        });
        await repo.publish({ targets: this.desiredTargets(), now });
        changes.push('created');
      } else {
        repo = await TufRepository.load({ keys: Object.values(keys), files: stored, expiries: this.expiries });
        const before = current(stored);
        expected = stateOf(before);
        if (this.roleDue(before, 'root', now)) {
          // Same keys, a new version: rotateRoot also re-signs targets, snapshot and timestamp.
          await repo.rotateRoot({ now });
          changes.push(`root v${repo.rootVersion}`);
        }
        const mid = current(repo.files());
        if (publishDocuments && !sameTargets(mid.targets, this.desiredTargets())) {
          await repo.publish({ targets: this.desiredTargets(), now });
          changes.push('new trust documents');
        } else if (changes.length === 0) {
          if (this.roleDue(mid, 'snapshot', now) || this.roleDue(mid, 'targets', now)) {
            await repo.publish({ targets: Object.fromEntries(mid.targets), now });
            changes.push('snapshot and targets re-signed');
          } else if (this.roleDue(mid, 'timestamp', now)) {
            await repo.refreshTimestamp(now);
            changes.push('timestamp re-signed');
          }
        }
        if (changes.length === 0) {
          this.adopt(stored, before);
          return;
        }
      }
      const files = repo.files();
      const after = current(files);
      const toWrite: TufFiles = {};
      for (const [path, data] of Object.entries(files)) {
        if (MUTABLE_TUF_FILES.has(path) || !stored?.[path]) toWrite[path] = data;
      }
      try {
        await this.store.commit(expected, stateOf(after), toWrite, now);
      } catch (e) {
        if (e instanceof LostRace && attempt < 5) {
          this.log?.info({ attempt }, `trust: ${e.message}; reloading`);
          continue;
        }
        throw e;
      }
      this.adopt({ ...stored, ...files }, after);
      const v = after.versions;
      this.log?.info(`trust: TUF repository ${changes.join(', ')} (root v${v.root}, targets v${v.targets}, snapshot v${v.snapshot}, timestamp v${v.timestamp})`);
      return;
    }
  }

  private adopt(files: TufFiles, c: Current): void {
    for (const [path, data] of Object.entries(files)) if (!MUTABLE_TUF_FILES.has(path)) this.cache.set(path, data);
    const first = files['1.root.json'];
    if (!first) throw new Error('stored TUF repository: 1.root.json is missing');
    this.firstRoot = first;
    this.state = stateOf(c);
    this.cur = c;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.maintain()
        .catch((err: unknown) => this.log?.error({ err }, 'trust: re-signing TUF metadata failed; retrying at the next check'))
        .finally(() => this.schedule());
    }, this.interval);
    this.timer.unref();
  }
}
