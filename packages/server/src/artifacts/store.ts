import { randomUUID } from 'node:crypto';
import type { Db } from '../storage/db.js';

/** What the server concluded about one signature or attestation it received (one layer of one manifest). */
export interface SignatureRecord {
  id: string;
  repo: string;
  /** The image (or other artifact) manifest the signature is about. */
  subject_digest: string;
  /** The manifest that carries the signature: a referrer, or the `sha256-<hex>.sig|.att` image. */
  source_digest: string;
  layer_index: number;
  layer_digest: string;
  /** `bundle`: a Sigstore bundle referrer (cosign v3); `legacy`: cosign's tag layout. */
  format: 'bundle' | 'legacy';
  kind: 'signature' | 'attestation';
  predicate_type: string | null;
  /** valid: verified for the key or identity below; invalid: a check failed; unverified: nothing to verify it with. */
  status: 'valid' | 'invalid' | 'unverified';
  signer_type: 'key' | 'certificate' | null;
  /** `SHA256:<hex>` of the verifying key's SubjectPublicKeyInfo (key signatures). */
  key_fingerprint: string | null;
  /** The registered key (keys API) that verified it, when it was one. */
  key_id: string | null;
  /** Certificate SAN (keyless). */
  identity: string | null;
  issuer: string | null;
  /** Index in this server's transparency log, when the signature was logged here. */
  log_index: number | null;
  /** When the signature was made, as the log or a timestamp attests (else null). */
  signed_at: string | null;
  checks: { name: string; ok: boolean; detail: string }[];
  reason: string | null;
  created_at: string;
}

export type NewSignatureRecord = Omit<SignatureRecord, 'id' | 'created_at'>;

export class SignatureStore {
  constructor(private readonly db: Db) {}

  /** Inserts unless this (repo, source manifest, layer) is already recorded; returns whether it inserted. */
  async add(r: NewSignatureRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('artifact_signatures')
      .values({
        id: randomUUID(),
        repo: r.repo,
        subject_digest: r.subject_digest,
        source_digest: r.source_digest,
        layer_index: r.layer_index,
        layer_digest: r.layer_digest,
        format: r.format,
        kind: r.kind,
        predicate_type: r.predicate_type,
        status: r.status,
        signer_type: r.signer_type,
        key_fingerprint: r.key_fingerprint,
        key_id: r.key_id,
        identity: r.identity,
        issuer: r.issuer,
        log_index: r.log_index,
        signed_at: r.signed_at,
        checks: JSON.stringify(r.checks),
        reason: r.reason,
        created_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.columns(['repo', 'source_digest', 'layer_index']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Key signatures with nothing verified yet (no log entry and no registered key matched when they arrived). */
  async unverifiedKeySignatures(repo: string, subject: string): Promise<SignatureRecord[]> {
    return (await this.forSubject(repo, subject)).filter((r) => r.status === 'unverified' && r.signer_type !== 'certificate');
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('artifact_signatures').where('id', '=', id).execute();
  }

  async count(repo: string, source: string): Promise<number> {
    const r = await this.db.selectFrom('artifact_signatures').select((eb) => eb.fn.countAll<number>().as('n')).where('repo', '=', repo).where('source_digest', '=', source).where('status', '=', 'valid').executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async has(repo: string, source: string): Promise<boolean> {
    const row = await this.db.selectFrom('artifact_signatures').select('id').where('repo', '=', repo).where('source_digest', '=', source).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The records about `subject` whose carrier still stands: a bundle referrer manifest still in the repository, or
   * a legacy layer of the manifest the `sha256-<hex>.sig|.att` tag points at now (a rewritten or deleted tag drops
   * the signatures it no longer holds).
   */
  async forSubject(repo: string, subject: string): Promise<SignatureRecord[]> {
    const rows = await this.db
      .selectFrom('artifact_signatures as s')
      .selectAll('s')
      .where('s.repo', '=', repo)
      .where('s.subject_digest', '=', subject)
      .where((eb) =>
        eb.or([
          eb.and([
            eb('s.format', '=', 'bundle'),
            eb.exists(eb.selectFrom('registry_manifests as m').select('m.digest').whereRef('m.repo', '=', 's.repo').whereRef('m.digest', '=', 's.source_digest')),
          ]),
          eb.and([
            eb('s.format', '=', 'legacy'),
            eb.exists(eb.selectFrom('registry_tags as t').select('t.tag').whereRef('t.repo', '=', 's.repo').whereRef('t.digest', '=', 's.source_digest')),
          ]),
        ]),
      )
      .orderBy('s.created_at')
      .orderBy('s.layer_index')
      .execute();
    return rows.map((r) => ({
      ...r,
      format: r.format as SignatureRecord['format'],
      kind: r.kind as SignatureRecord['kind'],
      status: r.status as SignatureRecord['status'],
      signer_type: r.signer_type as SignatureRecord['signer_type'],
      log_index: r.log_index === null ? null : Number(r.log_index),
      layer_index: Number(r.layer_index),
      checks: JSON.parse(r.checks) as SignatureRecord['checks'],
    }));
  }
}
