import { ServerError } from '../errors.js';

export type ConfigErrorCode = 'CONFIG_INVALID';

export class ConfigError extends ServerError<ConfigErrorCode> {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}
