import { createHash } from 'node:crypto';
import { canonicalize } from '../encoding/jcs.js';

/**
 * The audit hash chain of signet-server (server/audit writes it; `signet audit verify` and third parties check it). For the event with sequence number n (n = 1, 2, …):
 *
 *   hash_n = lowercase hex of SHA-256( UTF-8( JCS({ seq, time, actor, actor_name, action, target, outcome,
 *                                                    details, prev_hash }) ) )
 *
 * where JCS is RFC 8785 canonical JSON, the fields are exactly those nine (`seq` a JSON number, `time` an ISO
 * 8601 UTC string with milliseconds, `actor_name` a string or null, `details` a JSON object), and `prev_hash`
 * is hash_(n-1) in lowercase hex, or 64 zeros for n = 1. The API returns each event with `prev_hash` and `hash`,
 * so a verifier recomputes the chain from the events alone.
 *
 * An anchor of the head (seq n, hash_n) is a hashedrekord entry in the server's transparency log whose
 * artifact is the 32 raw bytes of hash_n: data.hash = SHA-256(those bytes), and the signature is ECDSA P-256
 * with SHA-256 over those bytes by the audit key (GET /api/v1/audit/key).
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEvent {
  seq: number;
  time: string;
  /** A token id, 'anonymous' or 'system'. */
  actor: string;
  /** The token's name, or null. */
  actor_name: string | null;
  action: string;
  target: string;
  outcome: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export function eventHash(e: Omit<AuditEvent, 'hash'>): string {
  const body = {
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    actor_name: e.actor_name,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: e.details,
    prev_hash: e.prev_hash,
  };
  return createHash('sha256').update(canonicalize(body), 'utf8').digest('hex');
}

/** The anchored artifact for a head hash: its 32 raw bytes. */
export function anchorArtifact(headHash: string): Uint8Array {
  return Buffer.from(headHash, 'hex');
}
