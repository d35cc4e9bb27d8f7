/**
 * C2SP tlog-checkpoint: a signed note whose text is
 *   <origin>\n<tree size, decimal, no leading zeros>\n<base64 root hash>\n[<extension line>\n]*
 */
import { SignetError } from '../errors.js';
import { toBase64 } from '../encoding/base64.js';
import { HASH_SIZE, MAX_UINT64, toUint64, type TreeIndex } from '../merkle/hash.js';
import { checkNoteText, decodeStdBase64, parseNote, signNote, verifyNote, type NoteSigner, type NoteVerification, type NoteVerifier, type ParsedNote } from './note.js';

export interface Checkpoint {
  origin: string;
  size: bigint;
  rootHash: Uint8Array;
  /** Extension lines without their newlines (opaque, usually none). */
  extensions: string[];
}

export interface CheckpointInput {
  origin: string;
  size: TreeIndex;
  rootHash: Uint8Array;
  extensions?: string[];
}

function checkLine(line: string, what: string): void {
  if (typeof line !== 'string' || line.length === 0 || line.includes('\n')) {
    throw new SignetError('INVALID_ARGUMENT', `${what} must be a non-empty single line`);
  }
}

/** The checkpoint note text (tlog-checkpoint §Note text). */
export function formatCheckpoint(cp: CheckpointInput): string {
  checkLine(cp.origin, 'the checkpoint origin');
  const size = toUint64(cp.size, 'the tree size');
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== HASH_SIZE) {
    throw new SignetError('INVALID_ARGUMENT', 'the checkpoint root hash must be 32 bytes');
  }
  const ext = cp.extensions ?? [];
  ext.forEach((l, i) => checkLine(l, `extension line ${i + 1}`));
  const text = [cp.origin, size.toString(), toBase64(cp.rootHash), ...ext].join('\n') + '\n';
  checkNoteText(text);
  return text;
}

/**
 * Parses checkpoint note text strictly: at least three non-empty lines; a non-empty origin; the size in
 * canonical decimal (no sign, no leading zeros, ≤ 2^64-1); the root as standard padded base64 of exactly
 * 32 bytes; non-empty extension lines. Throws MALFORMED_INPUT otherwise.
 */
export function parseCheckpointBody(text: string): Checkpoint {
  if (typeof text !== 'string') throw new SignetError('INVALID_ARGUMENT', 'checkpoint text must be a string');
  checkNoteText(text);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new SignetError('MALFORMED_INPUT', 'a checkpoint needs an origin, a tree size and a root hash line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new SignetError('MALFORMED_INPUT', 'the checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeText) || BigInt(sizeText) > MAX_UINT64) {
    throw new SignetError('MALFORMED_INPUT', `the checkpoint tree size "${sizeText.slice(0, 30)}" is not a canonical decimal uint64`);
  }
  const rootHash = decodeStdBase64(rootText, 'the checkpoint root hash');
  if (rootHash.length !== HASH_SIZE) throw new SignetError('MALFORMED_INPUT', `the checkpoint root hash is ${rootHash.length} bytes, not ${HASH_SIZE}`);
  if (extensions.some((l) => l.length === 0)) throw new SignetError('MALFORMED_INPUT', 'a checkpoint extension line is empty');
  return { origin, size: BigInt(sizeText), rootHash, extensions };
}

/** Formats and signs a checkpoint, returning the signed note. */
export function signCheckpoint(cp: CheckpointInput, signers: NoteSigner[]): Promise<string> {
  return signNote(formatCheckpoint(cp), signers);
}

export interface CheckpointVerification extends NoteVerification {
  checkpoint: Checkpoint;
  note: ParsedNote;
}

/**
 * Parses a signed checkpoint and verifies its signatures (see verifyNote). Throws MALFORMED_INPUT when
 * the note or its checkpoint text cannot be parsed; a bad or missing signature is ok=false.
 */
export async function verifyCheckpoint(note: string | Uint8Array, verifiers: NoteVerifier[]): Promise<CheckpointVerification> {
  const parsed = parseNote(note);
  const checkpoint = parseCheckpointBody(parsed.text);
  const result = await verifyNote(parsed, verifiers);
  return { ...result, checkpoint, note: parsed };
}
