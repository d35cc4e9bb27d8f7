import type { Db, DbKind } from '../storage/db.js';

export interface ManifestRow {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ReferrerRow {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: string | null;
}

export interface UploadRow {
  id: string;
  repo: string;
  offset: number;
  startedAt: string;
}

export interface NewManifest {
  repo: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subjectDigest: string | null;
  size: number;
  annotations: string | null;
  /** Blobs and child manifests it references (for garbage collection). */
  refs: string[];
  tags: string[];
}

const now = (): string => new Date().toISOString();

/**
 * The registry's metadata in the database (Kysely; SQLite and PostgreSQL alike). Every request touches
 * at most a few indexed rows; writes that belong together run in one transaction.
 */
export class RegistryStore {
  private readonly knownRepos = new Set<string>();

  constructor(
    readonly db: Db,
    readonly kind: DbKind,
  ) {}

  /** Creates the repository on first push (pushing to a new name creates it). */
  async ensureRepository(name: string): Promise<void> {
    if (this.knownRepos.has(name)) return;
    await this.db
      .insertInto('repositories')
      .values({ name, created_at: now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    if (this.knownRepos.size > 100_000) this.knownRepos.clear();
    this.knownRepos.add(name);
  }

  async repository(name: string): Promise<{ visibility: 'private' | 'public'; kind: 'oci' | 'generic' } | undefined> {
    return this.db.selectFrom('repositories').select(['visibility', 'kind']).where('name', '=', name).executeTakeFirst();
  }

  /** Sets a repository's visibility (creating it if needed). */
  async setVisibility(name: string, visibility: 'private' | 'public'): Promise<void> {
    await this.db
      .insertInto('repositories')
      .values({ name, visibility, created_at: now() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ visibility }))
      .execute();
    this.knownRepos.add(name);
  }

  /** Size of a blob linked to the repository, or undefined. */
  blobInRepo(repo: string, digest: string): Promise<number | undefined> {
    return this.linkedBlobSize(repo, digest, false);
  }

  /**
   * As blobInRepo, for what /v2/ serves and mounts from: never a blob of a generic file repository (whose files are
   * blobs linked to it, read only through /files/). The kind is checked in the same statement, so the blob GET/HEAD
   * path stays one indexed query.
   */
  ociBlobInRepo(repo: string, digest: string): Promise<number | undefined> {
    return this.linkedBlobSize(repo, digest, true);
  }

  private async linkedBlobSize(repo: string, digest: string, ociOnly: boolean): Promise<number | undefined> {
    let q = this.db
      .selectFrom('registry_repository_blobs as l')
      .innerJoin('registry_blobs as b', 'b.digest', 'l.digest')
      .select('b.size')
      .where('l.repo', '=', repo)
      .where('l.digest', '=', digest);
    if (ociOnly) q = q.where(({ not, exists, selectFrom }) => not(exists(selectFrom('repositories as r').select('r.name').where('r.name', '=', repo).where('r.kind', '=', 'generic'))));
    const r = await q.executeTakeFirst();
    return r ? Number(r.size) : undefined;
  }

  async blobSize(digest: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('registry_blobs').select('size').where('digest', '=', digest).executeTakeFirst();
    return r ? Number(r.size) : undefined;
  }

  /** Repositories that can serve a blob (for a mount without `from`). */
  async reposWithBlob(digest: string, limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('registry_repository_blobs').select('repo').where('digest', '=', digest).limit(limit).execute();
    return rows.map((r) => r.repo);
  }

  async linkBlob(repo: string, digest: string): Promise<void> {
    await this.db
      .insertInto('registry_repository_blobs')
      .values({ repo, digest })
      .onConflict((oc) => oc.columns(['repo', 'digest']).doNothing())
      .execute();
  }

  /**
   * Records a stored blob, links it to the repository and ends its upload session. Concurrent calls are
   * group-committed: everything queued while one transaction runs goes into the next one, so many small
   * blobs share one database commit. A blob uploaded again has its time refreshed, so garbage
   * collection's grace period starts anew.
   */
  recordBlob(digest: string, size: number, repo: string, upload?: { id: string; startedAt: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ digest, size, repo, ...(upload ? { upload } : {}), resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private readonly pending: { digest: string; size: number; repo: string; upload?: { id: string; startedAt: string }; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, 200);
      const at = now();
      // One row per key: PostgreSQL refuses to upsert the same row twice in one statement.
      const blobs = [...new Map(batch.map((b) => [b.digest, { digest: b.digest, size: b.size, created_at: at }])).values()];
      const links = [...new Map(batch.map((b) => [`${b.repo}\0${b.digest}`, { repo: b.repo, digest: b.digest }])).values()];
      // A finished session keeps a tombstone (offset -1) so its Location answers 404 from now on.
      const uploads = [...new Map(batch.flatMap((b) => (b.upload ? [[b.upload.id, { id: b.upload.id, repo: b.repo, started_at: b.upload.startedAt, offset: -1, updated_at: at }] as const] : []))).values()];
      try {
        await this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('registry_blobs')
            .values(blobs)
            .onConflict((oc) => oc.column('digest').doUpdateSet({ created_at: at }))
            .execute();
          await trx
            .insertInto('registry_repository_blobs')
            .values(links)
            .onConflict((oc) => oc.columns(['repo', 'digest']).doNothing())
            .execute();
          if (uploads.length > 0) {
            await trx
              .insertInto('registry_uploads')
              .values(uploads)
              .onConflict((oc) => oc.column('id').doUpdateSet({ offset: -1, updated_at: at }))
              .execute();
          }
        });
        for (const b of batch) b.resolve();
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.flushing = false;
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    const r = await this.db.deleteFrom('registry_repository_blobs').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- upload sessions

  async upload(id: string): Promise<UploadRow | undefined> {
    const r = await this.db.selectFrom('registry_uploads').select(['id', 'repo', 'offset', 'started_at']).where('id', '=', id).executeTakeFirst();
    return r ? { id: r.id, repo: r.repo, offset: Number(r.offset), startedAt: r.started_at } : undefined;
  }

  /** Records how many bytes a session holds (its row is written once data has arrived). -1 marks a cancelled session. */
  async saveUpload(id: string, repo: string, startedAt: string, offset: number): Promise<void> {
    const at = now();
    await this.db
      .insertInto('registry_uploads')
      .values({ id, repo, started_at: startedAt, offset, updated_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ offset, updated_at: at }))
      .execute();
  }

  async deleteUpload(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('registry_uploads').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async uploadIds(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('registry_uploads').select('id').execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Upload sessions with no activity since `before` (ISO time). */
  async staleUploads(before: string): Promise<string[]> {
    const rows = await this.db.selectFrom('registry_uploads').select('id').where('updated_at', '<', before).execute();
    return rows.map((r) => r.id);
  }

  // ---- manifests and tags

  /** Which of `digests` are blobs the repository may serve. */
  async presentBlobs(repo: string, digests: string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const out = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('registry_repository_blobs as l')
        .innerJoin('registry_blobs as b', 'b.digest', 'l.digest')
        .select('l.digest')
        .where('l.repo', '=', repo)
        .where('l.digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.digest);
    }
    return out;
  }

  /** Which of `digests` are manifests in the repository. */
  async presentManifests(repo: string, digests: string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const out = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db.selectFrom('registry_manifests').select('digest').where('repo', '=', repo).where('digest', 'in', digests.slice(i, i + 500)).execute();
      for (const r of rows) out.add(r.digest);
    }
    return out;
  }

  /**
   * Stores a manifest row, its bytes' blob row, its references and its tags in one transaction.
   * Returns the digest each tag pointed to before (for the manifest event and If-Match).
   */
  async putManifest(m: NewManifest): Promise<void> {
    const at = now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('repositories')
        .values({ name: m.repo, created_at: at })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      await trx
        .insertInto('registry_blobs')
        .values({ digest: m.digest, size: m.size, created_at: at })
        .onConflict((oc) => oc.column('digest').doUpdateSet({ created_at: at }))
        .execute();
      await trx
        .insertInto('registry_manifests')
        .values({
          repo: m.repo,
          digest: m.digest,
          media_type: m.mediaType,
          artifact_type: m.artifactType,
          subject_digest: m.subjectDigest,
          size: m.size,
          annotations: m.annotations,
          created_at: at,
        })
        .onConflict((oc) => oc.columns(['repo', 'digest']).doNothing())
        .execute();
      const refs = [...new Set(m.refs)];
      for (let i = 0; i < refs.length; i += 300) {
        await trx
          .insertInto('registry_manifest_refs')
          .values(refs.slice(i, i + 300).map((digest) => ({ repo: m.repo, manifest_digest: m.digest, digest })))
          .onConflict((oc) => oc.columns(['repo', 'manifest_digest', 'digest']).doNothing())
          .execute();
      }
      for (const tag of m.tags) {
        await trx
          .insertInto('registry_tags')
          .values({ repo: m.repo, tag, digest: m.digest, updated_at: at })
          .onConflict((oc) => oc.columns(['repo', 'tag']).doUpdateSet({ digest: m.digest, updated_at: at }))
          .execute();
      }
    });
    this.knownRepos.add(m.repo);
  }

  async manifestByTag(repo: string, tag: string): Promise<ManifestRow | undefined> {
    const r = await this.db
      .selectFrom('registry_tags as t')
      .innerJoin('registry_manifests as m', (j) => j.onRef('m.repo', '=', 't.repo').onRef('m.digest', '=', 't.digest'))
      .select(['m.digest', 'm.media_type', 'm.size'])
      .where('t.repo', '=', repo)
      .where('t.tag', '=', tag)
      .executeTakeFirst();
    return r ? { digest: r.digest, mediaType: r.media_type, size: Number(r.size) } : undefined;
  }

  async manifestByDigest(repo: string, digest: string): Promise<ManifestRow | undefined> {
    const r = await this.db.selectFrom('registry_manifests').select(['digest', 'media_type', 'size']).where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return r ? { digest: r.digest, mediaType: r.media_type, size: Number(r.size) } : undefined;
  }

  /** Deletes a manifest from a repository with its tags and references; false when it was not there. */
  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('registry_manifests').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await trx.deleteFrom('registry_tags').where('repo', '=', repo).where('digest', '=', digest).execute();
      await trx.deleteFrom('registry_manifest_refs').where('repo', '=', repo).where('manifest_digest', '=', digest).execute();
      return true;
    });
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('registry_tags').where('repo', '=', repo).where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Tags in lexical (byte) order after `last`, at most `n`. */
  async tags(repo: string, n: number, last?: string): Promise<string[]> {
    let q = this.db.selectFrom('registry_tags').select('tag').where('repo', '=', repo);
    if (last !== undefined) q = q.where('tag', '>', last);
    const rows = await q.orderBy('tag').limit(n).execute();
    return rows.map((r) => r.tag);
  }

  /** Repository names in lexical order after `last`, at most `n`. */
  async repositories(n: number, last?: string): Promise<{ name: string; visibility: string }[]> {
    let q = this.db.selectFrom('repositories').select(['name', 'visibility']).where('kind', '=', 'oci');
    if (last !== undefined) q = q.where('name', '>', last);
    return q.orderBy('name').limit(n).execute();
  }

  /** Manifests in the repository whose subject is `subject`, by digest, after `last`. */
  async referrers(repo: string, subject: string, n: number, last?: string, artifactType?: string): Promise<ReferrerRow[]> {
    let q = this.db
      .selectFrom('registry_manifests')
      .select(['digest', 'media_type', 'size', 'artifact_type', 'annotations'])
      .where('repo', '=', repo)
      .where('subject_digest', '=', subject);
    if (artifactType !== undefined) q = q.where('artifact_type', '=', artifactType);
    if (last !== undefined) q = q.where('digest', '>', last);
    // Digests share one alphabet ([a-z0-9:]), so both databases order them alike.
    const rows = await q.orderBy('digest').limit(n).execute();
    return rows.map((r) => ({ digest: r.digest, mediaType: r.media_type, size: Number(r.size), artifactType: r.artifact_type, annotations: r.annotations }));
  }

  // ---- garbage collection

  /** Blobs older than `before` that no manifest in any repository is or references. */
  async unreferencedBlobs(before: string, limit: number): Promise<{ digest: string; size: number }[]> {
    const rows = await this.db
      .selectFrom('registry_blobs as b')
      .select(['b.digest', 'b.size'])
      .where('b.created_at', '<', before)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('registry_manifests as m').select('m.digest').whereRef('m.digest', '=', 'b.digest'))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('registry_manifest_refs as r').select('r.digest').whereRef('r.digest', '=', 'b.digest'))))
      .limit(limit)
      .execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  /**
   * Deletes a blob's row and links if it is still unreferenced and older than `before` — one statement
   * decides, so a manifest stored meanwhile keeps it. True when it was deleted.
   */
  async deleteBlobIfUnreferenced(digest: string, before: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .deleteFrom('registry_blobs as b')
        .where('b.digest', '=', digest)
        .where('b.created_at', '<', before)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('registry_manifests as m').select('m.digest').whereRef('m.digest', '=', 'b.digest'))))
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('registry_manifest_refs as r').select('r.digest').whereRef('r.digest', '=', 'b.digest'))))
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await trx.deleteFrom('registry_repository_blobs').where('digest', '=', digest).execute();
      return true;
    });
  }

  /** Which of `digests` have a blob row. */
  async knownBlobs(digests: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db.selectFrom('registry_blobs').select('digest').where('digest', 'in', digests.slice(i, i + 500)).execute();
      for (const r of rows) out.add(r.digest);
    }
    return out;
  }
}
