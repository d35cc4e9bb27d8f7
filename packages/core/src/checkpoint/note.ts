/**
 * C2SP signed-note: a text ending in a newline, a blank line, then one or more signature lines
 * "— <key name> <base64(4-byte key ID || signature)>\n" (U+2014 EM DASH, space). The text includes its
 * final newline but not the separating blank line, and is split from the signatures at the LAST blank
 * line (signed-note §Format). Signatures cover the text bytes.
 */
import { SignetError } from '../errors.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { toBase64 } from '../encoding/base64.js';

/** Upper bound on a whole note (signed-note asks verifiers to bound notes; ≥16 signatures must fit). */
export const MAX_NOTE_BYTES = 1024 * 1024;
/** Upper bound on the number of signature lines. */
export const MAX_NOTE_SIGNATURES = 100;
export const KEY_HINT_SIZE = 4;

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  /** The 4-byte key ID (big-endian uint32) that opens the signature blob. */
  keyHint: Uint8Array;
  /** The signature proper (the blob after the key ID). */
  signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text, including its final newline. */
  text: string;
  signatures: NoteSignature[];
}

/** Signs note text with one key; `name` and `keyHint` go on the signature line. */
export interface NoteSigner {
  readonly name: string;
  readonly keyHint: Uint8Array;
  sign(text: Uint8Array): Promise<Uint8Array>;
}

/** Verifies signatures by one key, identified by its name and 4-byte key hint together. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyHint: Uint8Array;
  verify(text: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export interface NoteVerification {
  /** True when at least one signature by a known key verified and none by a known key failed. */
  ok: boolean;
  verified: NoteSignature[];
  /** Signatures whose name and key hint match a known key but which do not verify. */
  failed: NoteSignature[];
  /** Signatures by keys not among the verifiers (ignored, as signed-note requires). */
  unknown: NoteSignature[];
  /** Plain-language summary of the outcome. */
  detail: string;
}

const EM_DASH_PREFIX = '\u2014 ';
const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** signed-note: "MUST NOT contain any ASCII control characters (those below U+0020) other than newline". */
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/** Strict standard base64 (RFC 4648 §4, padded), as signed-note specifies. */
export function decodeStdBase64(s: string, what: string): Uint8Array {
  if (!STD_B64.test(s)) throw new SignetError('MALFORMED_INPUT', `${what} is not standard padded base64`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** signed-note: key names are non-empty and contain no Unicode spaces and no "+". */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !/[\s+]/u.test(name) && !CONTROL.test(name) && !name.includes('\n');
}

function checkKeyHint(h: Uint8Array, who: string): void {
  if (!(h instanceof Uint8Array) || h.length !== KEY_HINT_SIZE) throw new SignetError('INVALID_ARGUMENT', `${who} has no 4-byte key hint`);
}

/** Checks note text: non-empty, ends with a newline, no control characters but newline. */
export function checkNoteText(text: string): void {
  if (typeof text !== 'string' || text.length === 0 || !text.endsWith('\n')) {
    throw new SignetError('MALFORMED_INPUT', 'note text must be non-empty and end with a newline');
  }
  if (CONTROL.test(text)) throw new SignetError('MALFORMED_INPUT', 'note text contains a control character other than newline');
}

function noteString(note: string | Uint8Array): string {
  if (typeof note === 'string') {
    if (note.length > MAX_NOTE_BYTES) throw new SignetError('MALFORMED_INPUT', `the note exceeds ${MAX_NOTE_BYTES} bytes`);
    return note;
  }
  if (!(note instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'a note must be a string or bytes');
  if (note.length > MAX_NOTE_BYTES) throw new SignetError('MALFORMED_INPUT', `the note exceeds ${MAX_NOTE_BYTES} bytes`);
  try {
    return fromUtf8(note);
  } catch {
    throw new SignetError('MALFORMED_INPUT', 'the note is not valid UTF-8');
  }
}

/**
 * Parses a signed note. Throws MALFORMED_INPUT when it is not one: no final newline, no blank line before
 * the signatures, a control character, a signature line not of the form "— <name> <base64>", a signature
 * shorter than key ID + 1 byte, more than MAX_NOTE_SIGNATURES signatures, or more than MAX_NOTE_BYTES.
 */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const s = noteString(note);
  if (utf8(s).length > MAX_NOTE_BYTES) throw new SignetError('MALFORMED_INPUT', `the note exceeds ${MAX_NOTE_BYTES} bytes`);
  if (!s.endsWith('\n')) throw new SignetError('MALFORMED_INPUT', 'the note does not end with a newline');
  if (CONTROL.test(s)) throw new SignetError('MALFORMED_INPUT', 'the note contains a control character other than newline');
  if (/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
    throw new SignetError('MALFORMED_INPUT', 'the note is not valid UTF-8 (lone surrogate)');
  }
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new SignetError('MALFORMED_INPUT', 'the note has no blank line between its text and its signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (text.length === 0 || block.length === 0) throw new SignetError('MALFORMED_INPUT', 'the note has no text or no signature lines');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw new SignetError('MALFORMED_INPUT', `the note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i): NoteSignature => {
    if (!line.startsWith(EM_DASH_PREFIX)) {
      throw new SignetError('MALFORMED_INPUT', `signature line ${i + 1} does not start with an em dash (U+2014) and a space`);
    }
    const rest = line.slice(EM_DASH_PREFIX.length);
    const sp = rest.lastIndexOf(' ');
    const name = rest.slice(0, sp);
    const b64 = rest.slice(sp + 1);
    if (sp <= 0 || !isValidKeyName(name)) throw new SignetError('MALFORMED_INPUT', `signature line ${i + 1} has no valid key name`);
    const blob = decodeStdBase64(b64, `signature line ${i + 1}`);
    if (blob.length <= KEY_HINT_SIZE) throw new SignetError('MALFORMED_INPUT', `signature line ${i + 1} is too short to hold a key ID and a signature`);
    return { name, keyHint: blob.slice(0, KEY_HINT_SIZE), signature: blob.slice(KEY_HINT_SIZE) };
  });
  return { text, signatures };
}

/** Formats a note from its text and signatures (no signing). */
export function formatNote(note: ParsedNote): string {
  checkNoteText(note.text);
  if (note.signatures.length === 0) throw new SignetError('INVALID_ARGUMENT', 'a note needs at least one signature');
  const lines = note.signatures.map((sig) => {
    if (!isValidKeyName(sig.name)) throw new SignetError('INVALID_ARGUMENT', `invalid key name "${sig.name}"`);
    checkKeyHint(sig.keyHint, `signature by ${sig.name}`);
    const blob = new Uint8Array(KEY_HINT_SIZE + sig.signature.length);
    blob.set(sig.keyHint);
    blob.set(sig.signature, KEY_HINT_SIZE);
    return `${EM_DASH_PREFIX}${sig.name} ${toBase64(blob)}\n`;
  });
  return `${note.text}\n${lines.join('')}`;
}

/** Signs note text with every signer (in parallel) and returns the signed note. */
export async function signNote(text: string, signers: NoteSigner[]): Promise<string> {
  checkNoteText(text);
  if (!Array.isArray(signers) || signers.length === 0) throw new SignetError('INVALID_ARGUMENT', 'signNote needs at least one signer');
  if (signers.length > MAX_NOTE_SIGNATURES) throw new SignetError('INVALID_ARGUMENT', `at most ${MAX_NOTE_SIGNATURES} signers`);
  for (const s of signers) {
    if (!isValidKeyName(s.name)) throw new SignetError('INVALID_ARGUMENT', `invalid key name "${s.name}"`);
    checkKeyHint(s.keyHint, `signer ${s.name}`);
  }
  const bytes = utf8(text);
  const sigs = await Promise.all(signers.map(async (s) => ({ name: s.name, keyHint: s.keyHint, signature: await s.sign(bytes) })));
  return formatNote({ text, signatures: sigs });
}

function hintEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Verifies a note's signatures against known keys (signed-note §Signatures). A signature whose name AND
 * key hint match a verifier is checked; others are unknown and ignored. The note is ok when at least
 * one known signature verifies and no known signature fails. Unparseable notes throw MALFORMED_INPUT.
 */
export async function verifyNote(note: string | Uint8Array | ParsedNote, verifiers: NoteVerifier[]): Promise<NoteVerification> {
  const parsed = typeof note === 'string' || note instanceof Uint8Array ? parseNote(note) : note;
  if (!Array.isArray(verifiers)) throw new SignetError('INVALID_ARGUMENT', 'verifiers must be an array');
  for (const v of verifiers) checkKeyHint(v.keyHint, `verifier ${v.name}`);
  const text = utf8(parsed.text);
  const verified: NoteSignature[] = [];
  const failed: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  await Promise.all(
    parsed.signatures.map(async (sig) => {
      const keys = verifiers.filter((v) => v.name === sig.name && hintEqual(v.keyHint, sig.keyHint));
      if (keys.length === 0) {
        unknown.push(sig);
        return;
      }
      const results = await Promise.all(keys.map((k) => k.verify(text, sig.signature).catch(() => false)));
      (results.some(Boolean) ? verified : failed).push(sig);
    }),
  );
  // Keep the note's order in each list.
  const order = (list: NoteSignature[]): NoteSignature[] => parsed.signatures.filter((s) => list.includes(s));
  const v = order(verified);
  const f = order(failed);
  const u = order(unknown);
  const hex = (h: Uint8Array): string => Buffer.from(h).toString('hex');
  let detail: string;
  if (f.length > 0) detail = `signature by ${f[0]!.name} (key ${hex(f[0]!.keyHint)}) does not verify`;
  else if (v.length === 0) {
    const seen = parsed.signatures.map((s) => `${s.name} (key ${hex(s.keyHint)})`).join(', ');
    detail = `no signature by a known key; the note is signed by ${seen}`;
  } else detail = `verified signature by ${v.map((s) => s.name).join(', ')}`;
  return { ok: v.length > 0 && f.length === 0, verified: v, failed: f, unknown: u, detail };
}
