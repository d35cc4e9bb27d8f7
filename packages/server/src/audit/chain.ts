// The chain construction lives in core, where verifiers (the CLI, third parties) use the same code.
export { AUDIT_GENESIS_HASH as GENESIS_HASH, auditEventHash as eventHash, auditAnchorArtifact as anchorArtifact, type AuditEvent } from '@signet/core';
