import { createHash } from 'node:crypto';
import type { Artifact, DigestAlgorithm } from './types.js';
import { toHex } from '../encoding/hex.js';

/** The artifact's digest with `algorithm`, computed from the bytes or taken from a given digest of that algorithm. */
export function artifactDigest(artifact: Artifact, algorithm: DigestAlgorithm): Uint8Array | undefined {
  if ('bytes' in artifact) return new Uint8Array(createHash(algorithm).update(artifact.bytes).digest());
  return artifact.digest.algorithm === algorithm ? artifact.digest.value : undefined;
}

export function artifactBytes(artifact: Artifact): Uint8Array | undefined {
  return 'bytes' in artifact ? artifact.bytes : undefined;
}

export function describeArtifact(artifact: Artifact): string {
  if ('bytes' in artifact) return `${artifact.bytes.length} bytes`;
  return `${artifact.digest.algorithm}:${toHex(artifact.digest.value)}`;
}

export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
