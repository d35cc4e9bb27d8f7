export { OID, NAME_ATTRIBUTES, decodeOid } from './oids.js';
export { encodeName, decodeName, nameToString, type Name } from './name.js';
export {
  parseCertificate,
  findExtension,
  decodeGeneralNames,
  derUtf8Value,
  KEY_USAGE_FLAGS,
  type ParsedCertificate,
  type TbsParts,
  type Extension,
  type GeneralName,
  type KeyUsageFlag,
} from './parse.js';
export {
  buildCertificate,
  encodeTbs,
  signTbs,
  signatureAlgorithmFor,
  randomSerial,
  encodeExtension,
  basicConstraints,
  keyUsage,
  extKeyUsage,
  keyIdentifier,
  subjectKeyIdentifier,
  authorityKeyIdentifier,
  subjectAltName,
  ctPoison,
  sctListExtension,
  rawExtension,
  type CertificateTemplate,
  type SanSpec,
} from './build.js';
export { fulcioExtensions, githubWorkflowClaims, fulcioIdentity, type FulcioClaims, type FulcioIdentity } from './fulcio.js';
export { verifyCertificateChain, type ChainResult } from './chain.js';
export {
  serializeSct,
  parseSct,
  serializeSctList,
  parseSctList,
  embeddedScts,
  ctLogId,
  tbsWithoutExtensions,
  precertTbsFromCertificate,
  precertSignedData,
  signPrecertSct,
  verifyEmbeddedScts,
  type Sct,
  type CtLog,
  type SctResult,
  type SignPrecertSctOptions,
} from './sct.js';
