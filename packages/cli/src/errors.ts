import { SignetError } from '@signet/core';

/** An error whose message is meant for the user as is: printed as one line, no stack. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Runs a command action so that core's SignetError reaches the user as a one-line CliError. */
export function userErrors<T extends unknown[]>(fn: (...a: T) => Promise<void>): (...a: T) => Promise<void> {
  return async (...a: T) => {
    try {
      await fn(...a);
    } catch (e) {
      if (e instanceof SignetError) throw new CliError(e.message);
      throw e;
    }
  };
}
