import { ServerError } from '../errors.js';

export type ArtifactErrorCode = 'ARTIFACT_REFERENCE_INVALID' | 'ARTIFACT_NOT_FOUND';

export class ArtifactError extends ServerError<ArtifactErrorCode> {}
