// Client-side checks of what a Signet (Rekor v1 API) log returns: checkpoints as C2SP signed notes and entries
// with their signed entry timestamp and inclusion proof. Shared by `signet log` and `signet audit verify`.
import { verify as nodeVerify, type KeyObject } from 'node:crypto';
import { canonicalize, ecdsaNoteVerifier, fromHex, leafHash, parseNote, spkiFingerprint, toHex, utf8, verifyCheckpoint, verifyInclusion } from '@signet/core';

/** An entry as GET /api/v1/log/entries returns it. */
export interface LogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: { signedEntryTimestamp: string; inclusionProof: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string } };
}

/** Verifies a checkpoint note with the log key, whatever name the log signs under: its size and root, or what is wrong. */
export async function checkpointOf(note: string, key: KeyObject): Promise<{ size: number; root: Uint8Array } | { problem: string }> {
  let names: string[];
  try {
    names = [...new Set(parseNote(note).signatures.map((s) => s.name))];
  } catch (e) {
    return { problem: `the checkpoint is malformed (${(e as Error).message})` };
  }
  for (const name of names) {
    const r = await verifyCheckpoint(note, [ecdsaNoteVerifier(name, key)]);
    if (r.ok) return { size: Number(r.checkpoint.size), root: r.checkpoint.rootHash };
  }
  return { problem: 'the checkpoint is not signed by the log key' };
}

/**
 * An entry's log ID, signed entry timestamp (Rekor: ECDSA over the JCS of body, integratedTime, logID, logIndex)
 * and inclusion proof against a checkpoint signed by the log key (RFC 6962 §2.1.1). Undefined when all hold,
 * else what is wrong. The caller checks the entry's UUID against its body as it needs.
 */
export async function logEntryProblem(e: LogEntry, key: KeyObject): Promise<string | undefined> {
  const keyLogId = spkiFingerprint(key);
  if (e.logID !== keyLogId) return `it names log ${e.logID}, not this log (${keyLogId})`;
  const set = utf8(canonicalize({ body: e.body, integratedTime: e.integratedTime, logID: e.logID, logIndex: e.logIndex }));
  if (!nodeVerify('sha256', set, key, Buffer.from(e.verification.signedEntryTimestamp, 'base64'))) return 'the signed entry timestamp does not verify with the log key';
  const p = e.verification.inclusionProof;
  const cp = await checkpointOf(p.checkpoint, key);
  if ('problem' in cp) return cp.problem;
  if (cp.size !== p.treeSize || toHex(cp.root) !== p.rootHash) return 'the inclusion proof does not match its signed checkpoint';
  const leaf = leafHash(Buffer.from(e.body, 'base64'));
  if (!verifyInclusion(p.logIndex, p.treeSize, leaf, p.hashes.map((h) => fromHex(h)), cp.root)) return 'the inclusion proof does not verify';
  return undefined;
}
