/** The command line asked for something newsnap will not do; exits with the usage code. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
