/**
 * OCI images and cosign's storage formats (reference oci-and-cosign §1): media types, the simple-signing payload,
 * legacy layer annotations, manifest builders and the verification of signatures found next to an image.
 * No I/O: registry access belongs to the callers (CLI, server).
 */
export * from './media-types.js';
export * from './simple-signing.js';
export * from './annotations.js';
export * from './manifests.js';
export * from './verify.js';
