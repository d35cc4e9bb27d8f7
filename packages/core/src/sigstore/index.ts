/**
 * Sigstore verification against a trusted root: keyless (Fulcio certificate, identity policy, CT, TSA,
 * transparency log) and public-key bundles. No I/O: the caller supplies the bundle, the artifact and the root.
 */
export {
  TRUSTED_ROOT_MEDIA_TYPE_V01,
  TRUSTED_ROOT_MEDIA_TYPE_V02,
  parseTrustedRoot,
  validAt,
  verifyWithLogKey,
  type TrustedRoot,
  type TransparencyLogInstance,
  type CertificateAuthority,
  type ValidityPeriod,
  type LogHash,
} from './trusted-root.js';
export { verifySigstoreBundle, type IdentityPolicy, type SigstoreVerifyOptions, type SigstoreSigner } from './verify.js';
export { parseTlogEntry, type TlogEntry, type InclusionProof } from './tlog.js';
