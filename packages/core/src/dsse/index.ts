export { pae } from './pae.js';
export {
  parseEnvelope,
  signEnvelope,
  addSignature,
  envelopePayload,
  envelopePae,
  payloadJson,
  INTOTO_PAYLOAD_TYPE,
  type DsseEnvelope,
  type DsseSignature,
} from './envelope.js';
export {
  STATEMENT_V01,
  STATEMENT_V1,
  PREDICATE_TYPES,
  predicateTypeFor,
  buildPredicate,
  makeStatement,
  parseStatement,
  findSubject,
  type Statement,
  type Subject,
} from './intoto.js';
