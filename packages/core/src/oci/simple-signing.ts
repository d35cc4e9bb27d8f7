/**
 * cosign's simple-signing payload (sigstore/sigstore `pkg/signature/payload/payload.go`; reference §1.2): the
 * blob of every legacy `.sig` layer, signed as bytes.
 *
 *   {"critical":{"identity":{"docker-reference":"reg/repo"},"image":{"docker-manifest-digest":"sha256:…"},
 *    "type":"cosign container image signature"},"optional":null}
 */
import { SignetError } from '../errors.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { COSIGN_SIGNATURE_TYPE, parseDigest } from './media-types.js';

export interface SimpleSigningPayload {
  /** critical.identity.docker-reference: the repository (no tag, no digest). */
  dockerReference: string;
  /** critical.image.docker-manifest-digest. */
  manifestDigest: string;
  /** The `optional` map (cosign `-a key=value`); null when absent or null. */
  optional: Record<string, unknown> | null;
}

/** Payloads are small; anything larger is refused before parsing. */
export const MAX_PAYLOAD_BYTES = 1 << 20;

/**
 * The payload bytes as cosign writes them: Go struct field order for `critical`, the `optional` map with
 * sorted keys (Go marshals maps sorted), `null` when empty.
 */
export function buildSimpleSigningPayload(p: { dockerReference: string; manifestDigest: string; optional?: Record<string, unknown> | null }): Uint8Array {
  if (typeof p.dockerReference !== 'string' || p.dockerReference === '') {
    throw new SignetError('INVALID_ARGUMENT', 'the docker-reference of a signature payload must be a non-empty repository name');
  }
  parseDigest(p.manifestDigest);
  const opt = p.optional && Object.keys(p.optional).length ? Object.fromEntries(Object.keys(p.optional).sort().map((k) => [k, p.optional![k]])) : null;
  return utf8(
    JSON.stringify({
      critical: { identity: { 'docker-reference': p.dockerReference }, image: { 'docker-manifest-digest': p.manifestDigest }, type: COSIGN_SIGNATURE_TYPE },
      optional: opt,
    }),
  );
}

function bad(msg: string): never {
  throw new SignetError('MALFORMED_INPUT', `simple-signing payload: ${msg}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** Exactly these keys, as containers/image reads sigstore payloads (no unknown critical fields). */
function exactKeys(o: Record<string, unknown>, keys: string[], what: string): void {
  for (const k of keys) if (!(k in o)) bad(`${what} has no "${k}"`);
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) bad(`${what} has unexpected field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}`);
}

/** Strict parse: `critical` with exactly identity/image/type, the cosign type string, a valid digest; `optional` null or an object. */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  if (bytes.length > MAX_PAYLOAD_BYTES) bad(`${bytes.length} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(bytes));
  } catch {
    bad('not valid JSON');
  }
  const top = obj(json, 'the payload');
  const extra = Object.keys(top).filter((k) => k !== 'critical' && k !== 'optional');
  if (extra.length) bad(`unexpected top-level field ${extra.map((k) => `"${k}"`).join(', ')}`);
  const critical = obj(top['critical'], 'critical');
  exactKeys(critical, ['identity', 'image', 'type'], 'critical');
  if (critical['type'] !== COSIGN_SIGNATURE_TYPE) bad(`critical.type is ${JSON.stringify(critical['type'])}, not "${COSIGN_SIGNATURE_TYPE}"`);
  const identity = obj(critical['identity'], 'critical.identity');
  exactKeys(identity, ['docker-reference'], 'critical.identity');
  const ref = identity['docker-reference'];
  if (typeof ref !== 'string' || ref === '') bad('critical.identity.docker-reference must be a non-empty string');
  const image = obj(critical['image'], 'critical.image');
  exactKeys(image, ['docker-manifest-digest'], 'critical.image');
  const digest = image['docker-manifest-digest'];
  try {
    parseDigest(digest);
  } catch {
    bad(`critical.image.docker-manifest-digest ${JSON.stringify(digest)?.slice(0, 80)} is not a digest`);
  }
  const optional = top['optional'];
  if (optional !== undefined && optional !== null) obj(optional, 'optional');
  return { dockerReference: ref, manifestDigest: digest as string, optional: (optional as Record<string, unknown> | null | undefined) ?? null };
}
