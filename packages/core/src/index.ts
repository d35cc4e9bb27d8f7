export * from './errors.js';
export * from './encoding/index.js';
export * from './verify/types.js';
export { VerdictBuilder, checkValidity } from './verify/verdict.js';
export { artifactDigest, artifactBytes, describeArtifact, sha256 } from './verify/artifact.js';
